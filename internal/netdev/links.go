package netdev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// DeleteLink deletes a link in the current network namespace (for a veth,
// both ends). A missing link is not an error.
func (n *Netlink) DeleteLink(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := deleteLink(name); err != nil {
		return err
	}
	n.log.DebugContext(ctx, "deleted link", "link", name)
	return nil
}

// DeleteLinkInNetns deletes a link inside the namespace at netnsPath. A
// missing namespace or link is not an error: the container may be gone.
func (n *Netlink) DeleteLinkInNetns(ctx context.Context, netnsPath, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		// Gone, or a leftover file no longer bound to a namespace: either
		// way the container's end went with it.
		var notExist ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		if errors.As(err, &notExist) || errors.As(err, &notNS) || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("delete %s: open network namespace %s: %w", name, netnsPath, err)
	}
	defer target.Close()
	if err := target.Do(func(ns.NetNS) error { return deleteLink(name) }); err != nil {
		return fmt.Errorf("in %s: %w", netnsPath, err)
	}
	n.log.DebugContext(ctx, "deleted link", "link", name, "netns", netnsPath)
	return nil
}

func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete link %s: %w", name, err)
	}
	return nil
}

// LinkExists reports whether a link of that name is in the current
// network namespace.
func (n *Netlink) LinkExists(ctx context.Context, name string) (bool, error) {
	_, err := n.link(ctx, name)
	if errors.Is(err, ErrNoLink) {
		return false, nil
	}
	return err == nil, err
}

// LinkDown reports whether a current-namespace link is administratively
// down (see EnsureUp for who sets it down).
func (n *Netlink) LinkDown(ctx context.Context, name string) (bool, error) {
	l, err := n.link(ctx, name)
	if err != nil {
		return false, err
	}
	return l.Attrs().Flags&net.FlagUp == 0, nil
}

// LinkMTU returns a link's MTU (current network namespace).
func (n *Netlink) LinkMTU(ctx context.Context, name string) (int, error) {
	l, err := n.link(ctx, name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().MTU, nil
}

// LinkMAC returns a link's MAC address (current network namespace).
func (n *Netlink) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	l, err := n.link(ctx, name)
	if err != nil {
		return nil, err
	}
	return l.Attrs().HardwareAddr, nil
}

func (n *Netlink) link(ctx context.Context, name string) (netlink.Link, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l, err := netlink.LinkByName(name)
	if isNotFound(err) {
		return nil, fmt.Errorf("link %s: %w", name, ErrNoLink)
	}
	if err != nil {
		return nil, fmt.Errorf("link %s: %w", name, err)
	}
	return l, nil
}

// EnsureUp brings a current-namespace link up if it is administratively
// down, and reports whether it was. Open vSwitch can set a newly created
// veth end down behind our back: when it closes the previous interface
// of the same name it restores that one's flags by name, which hits the
// new device.
func (n *Netlink) EnsureUp(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return false, fmt.Errorf("link %s: %w", name, ErrNoLink)
		}
		return false, fmt.Errorf("link %s: %w", name, err)
	}
	if l.Attrs().Flags&net.FlagUp != 0 {
		return false, nil
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return true, fmt.Errorf("set %s up: %w", name, err)
	}
	n.log.WarnContext(ctx, "link was down; set it up again", "link", name)
	return true, nil
}
