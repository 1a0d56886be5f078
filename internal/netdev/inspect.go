package netdev

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// LinkInNetns reports whether the namespace at netnsPath has a link named
// name. A missing namespace is not an error: it has no links.
func (n *Netlink) LinkInNetns(ctx context.Context, netnsPath, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		var notExist ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		if errors.As(err, &notExist) || errors.As(err, &notNS) || errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("open network namespace %s: %w", netnsPath, err)
	}
	defer target.Close()
	found := false
	err = target.Do(func(ns.NetNS) error {
		_, err := netlink.LinkByName(name)
		if isNotFound(err) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("looking for %s in %s: %w", name, netnsPath, err)
	}
	return found, nil
}

// LinkAddrs returns the global unicast addresses of the link name in the
// namespace at netnsPath (link-local ones are the kernel's, not Neutron's).
// A missing namespace or link: ErrNoLink.
func (n *Netlink) LinkAddrs(ctx context.Context, netnsPath, name string) ([]netip.Prefix, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("%w: namespace %s: %v", ErrNoLink, netnsPath, err)
	}
	defer target.Close()
	var out []netip.Prefix
	err = target.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(name)
		if isNotFound(err) {
			return fmt.Errorf("%w: %s", ErrNoLink, name)
		}
		if err != nil {
			return err
		}
		as, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range as {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok || !ip.Unmap().IsGlobalUnicast() {
				continue
			}
			bits, _ := a.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), bits))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("addresses of %s in %s: %w", name, netnsPath, err)
	}
	return out, nil
}

// VethPeers maps each veth in the namespace at netnsPath whose other end
// is in the current (the VM's) namespace to that end's name. Veths whose
// peer is elsewhere are left out.
func (n *Netlink) VethPeers(ctx context.Context, netnsPath string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		return nil, fmt.Errorf("%w: namespace %s: %v", ErrNoLink, netnsPath, err)
	}
	defer target.Close()
	peerIndex := map[string]int{}
	err = target.Do(func(ns.NetNS) error {
		ls, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range ls {
			if _, ok := l.(*netlink.Veth); ok && l.Attrs().ParentIndex > 0 {
				peerIndex[l.Attrs().Name] = l.Attrs().ParentIndex
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("links of %s: %w", netnsPath, err)
	}
	out := map[string]string{}
	for name, idx := range peerIndex {
		l, err := netlink.LinkByIndex(idx)
		if err != nil {
			continue
		}
		if _, ok := l.(*netlink.Veth); ok {
			out[name] = l.Attrs().Name
		}
	}
	return out, nil
}
