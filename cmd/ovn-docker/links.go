package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"

	"github.com/vishvananda/netns"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/netdev"
)

// linksAdapter gives attach the kernel (internal/netdev) in attach's types.
type linksAdapter struct{ n *netdev.Netlink }

func newLinks(log *slog.Logger) attach.Links { return linksAdapter{netdev.New(log)} }

func (l linksAdapter) CreateVeth(ctx context.Context, host, nsPath string, cfg attach.IfaceConfig) error {
	for _, p := range cfg.Addresses {
		if p.Addr().Is6() {
			if err := enableIPv6(nsPath); err != nil {
				return err
			}
			break
		}
	}
	return l.n.CreateVeth(ctx, host, nsPath, netdev.IfaceConfig{
		Name: cfg.Name, MAC: cfg.MAC, Addresses: cfg.Addresses, Gateways: cfg.Gateways,
		MTU: cfg.MTU, DisableTxChecksum: cfg.DisableTxChecksum,
	})
}

func (l linksAdapter) DeleteLink(ctx context.Context, name string) error {
	return l.n.DeleteLink(ctx, name)
}

func (l linksAdapter) LinkExists(ctx context.Context, name string) (bool, error) {
	return l.n.LinkExists(ctx, name)
}

func (l linksAdapter) LinkMTU(ctx context.Context, name string) (int, error) {
	return l.n.LinkMTU(ctx, name)
}

func (l linksAdapter) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	return l.n.LinkMAC(ctx, name)
}

// enableIPv6 lets new interfaces of the namespace have IPv6: Docker turns
// it off (default and all) in containers without an IPv6 network, and the
// kernel then refuses IPv6 addresses. A new interface takes "default".
func enableIPv6(nsPath string) error {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	return doIn(ns, func() error {
		// /proc/sys/net is the namespace of the thread that opens it.
		const p = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
		if err := os.WriteFile(p, []byte("0"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("enabling IPv6 in %s: %w", nsPath, err)
		}
		return nil
	})
}

// doIn runs f on a throw-away thread inside ns. If the thread cannot
// switch back it exits still locked, so the runtime discards it.
func doIn(ns netns.NsHandle, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("entering netns: %w", err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		ch <- ferr
	}()
	return <-ch
}
