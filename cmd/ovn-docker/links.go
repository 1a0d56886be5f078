package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"unsafe"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

// nlLinks makes the veths with netlink directly.
type nlLinks struct{ log *slog.Logger }

func newLinks(log *slog.Logger) attach.Links { return nlLinks{log: log} }

// CreateVeth creates host <-> cfg.Name with the peer made directly inside
// the target namespace, configures and brings up both; on failure the pair
// is deleted again.
func (l nlLinks) CreateVeth(ctx context.Context, host, nsPath string, cfg attach.IfaceConfig) (err error) {
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("opening netns %s: %w", nsPath, err)
	}
	defer ns.Close()
	la := netlink.NewLinkAttrs()
	la.Name = host
	if cfg.MTU > 0 {
		la.MTU = cfg.MTU
	}
	veth := &netlink.Veth{LinkAttrs: la, PeerName: cfg.Name, PeerHardwareAddr: cfg.MAC, PeerNamespace: netlink.NsFd(int(ns))}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("creating veth %s/%s: %w", host, cfg.Name, err)
	}
	defer func() {
		if err != nil {
			if derr := l.DeleteLink(context.WithoutCancel(ctx), host); derr != nil {
				l.log.Warn("rollback: deleting veth", "link", host, "err", derr)
			}
		}
	}()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", nsPath, err)
	}
	defer h.Close()
	peer, err := h.LinkByName(cfg.Name)
	if err != nil {
		return fmt.Errorf("finding %s in %s: %w", cfg.Name, nsPath, err)
	}
	if cfg.MTU > 0 {
		if err := h.LinkSetMTU(peer, cfg.MTU); err != nil {
			return fmt.Errorf("setting MTU %d on %s: %w", cfg.MTU, cfg.Name, err)
		}
	}
	for _, p := range cfg.Addresses {
		if p.Addr().Is6() {
			if err := enableIPv6(ns, cfg.Name); err != nil {
				return err
			}
			break
		}
	}
	for _, p := range cfg.Addresses {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD // usable at once; Neutron made it unique
		}
		if err := h.AddrAdd(peer, a); err != nil {
			return fmt.Errorf("adding %s to %s: %w", p, cfg.Name, err)
		}
	}
	if cfg.DisableTxChecksum {
		if err := txChecksumOff(ns, cfg.Name); err != nil {
			return err
		}
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return fmt.Errorf("bringing up %s: %w", cfg.Name, err)
	}
	for _, gw := range cfg.Gateways {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: gw.AsSlice()}
		if gw.Is6() {
			r.Family = netlink.FAMILY_V6
		} else {
			r.Family = netlink.FAMILY_V4
		}
		if err := h.RouteAdd(r); errors.Is(err, unix.EEXIST) {
			// A second interface: the first one's default route stays.
			l.log.Debug("namespace has a default route already", "ifname", cfg.Name, "gateway", gw)
		} else if err != nil {
			return fmt.Errorf("adding default route via %s on %s: %w", gw, cfg.Name, err)
		}
	}
	hl, err := netlink.LinkByName(host)
	if err != nil {
		return fmt.Errorf("finding %s: %w", host, err)
	}
	if err := netlink.LinkSetUp(hl); err != nil {
		return fmt.Errorf("bringing up %s: %w", host, err)
	}
	return nil
}

func (nlLinks) DeleteLink(_ context.Context, name string) error {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finding %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}

func (nlLinks) LinkExists(_ context.Context, name string) (bool, error) {
	_, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return false, nil
	}
	return err == nil, err
}

func (nlLinks) LinkMTU(_ context.Context, name string) (int, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return 0, fmt.Errorf("finding %s: %w", name, err)
	}
	return l.Attrs().MTU, nil
}

func (nlLinks) LinkMAC(_ context.Context, name string) (net.HardwareAddr, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w", name, err)
	}
	return l.Attrs().HardwareAddr, nil
}

// txChecksumOff turns TX checksum offload off on dev in ns: with OVS's
// userspace datapath, offloaded (unfinished) checksums are never filled in,
// so TCP would hang while ping works.
func txChecksumOff(ns netns.NsHandle, dev string) error {
	fd, err := socketIn(ns)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	const ethtoolSTXCSUM = 0x17
	val := struct{ cmd, data uint32 }{cmd: ethtoolSTXCSUM}
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte
	}
	copy(ifr.name[:], dev)
	ifr.data = uintptr(unsafe.Pointer(&val))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(&val)
	if errno != 0 {
		return fmt.Errorf("turning off tx checksum offload on %s: %w", dev, errno)
	}
	return nil
}

// socketIn opens a socket in ns (a socket keeps the namespace it was made
// in, so the ioctl can be made from any thread).
func socketIn(ns netns.NsHandle) (int, error) {
	fd := -1
	err := doIn(ns, func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		return nil
	})
	return fd, err
}

// enableIPv6 turns IPv6 on for dev in ns: Docker turns it off in the
// namespaces of containers without an IPv6 network, and the kernel then
// refuses IPv6 addresses.
func enableIPv6(ns netns.NsHandle, dev string) error {
	return doIn(ns, func() error {
		// /proc/sys/net is the namespace of the thread that opens it.
		p := "/proc/sys/net/ipv6/conf/" + dev + "/disable_ipv6"
		if err := os.WriteFile(p, []byte("0"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("enabling IPv6 on %s: %w", dev, err)
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
