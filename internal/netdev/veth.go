package netdev

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// CreateVeth creates the link hostName in the current network namespace
// and its peer directly in the namespace at netnsPath, named cfg.Name.
// Creating the peer in place (IFLA_NET_NS_FD) rather than moving it
// afterwards matters: moving a link between namespaces takes a global
// kernel lock and serialises concurrent attaches.
//
// The peer gets cfg's MAC, MTU and addresses (IPv6 without duplicate
// address detection, so they are usable at once), is brought up, gets a
// default route per gateway and, if asked, TX checksum offload off. The
// host end gets the same MTU, TX checksum off if asked, and is brought up.
// On any failure both ends are removed. An existing hostName is ErrExists.
func (n *Netlink) CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(hostName, cfg); err != nil {
		return err
	}
	if _, err := netlink.LinkByName(hostName); err == nil {
		return fmt.Errorf("create veth %s: %w: delete it or choose another name", hostName, ErrExists)
	} else if !isNotFound(err) {
		return fmt.Errorf("create veth %s: look up existing link: %w", hostName, err)
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		return fmt.Errorf("create veth %s: open network namespace %s: %w", hostName, netnsPath, err)
	}
	defer target.Close()

	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostName
	attrs.MTU = cfg.MTU
	veth := &netlink.Veth{
		LinkAttrs:        attrs,
		PeerName:         cfg.Name,
		PeerHardwareAddr: cfg.MAC,
		PeerNamespace:    netlink.NsFd(target.Fd()),
		PeerTxQLen:       -1, // kernel default, not 0
	}
	if err := netlink.LinkAdd(veth); err != nil {
		if errors.Is(err, unix.EEXIST) {
			if _, lerr := netlink.LinkByName(hostName); lerr == nil {
				return fmt.Errorf("create veth %s: %w (created concurrently)", hostName, ErrExists)
			}
			return fmt.Errorf("create veth %s: %q already exists in %s: %w", hostName, cfg.Name, netnsPath, ErrExists)
		}
		return fmt.Errorf("create veth %s with peer %s in %s (MTU %d): %w", hostName, cfg.Name, netnsPath, cfg.MTU, err)
	}
	// From here on, deleting the host end removes the pair.
	defer func() {
		if err != nil {
			if derr := netlink.LinkDel(veth); derr != nil && !isNotFound(derr) {
				n.log.Warn("rollback: delete veth", "link", hostName, "error", derr)
			}
		}
	}()

	if err := target.Do(func(ns.NetNS) error { return configurePeer(cfg) }); err != nil {
		return fmt.Errorf("configure %s in %s (peer of %s): %w", cfg.Name, netnsPath, hostName, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if cfg.DisableTxChecksum {
		if err := setTxChecksum(hostName, false); err != nil {
			return fmt.Errorf("configure %s: TX checksum off: %w", hostName, err)
		}
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("configure %s: set up: %w", hostName, err)
	}
	n.log.DebugContext(ctx, "created veth", "host", hostName, "peer", cfg.Name, "netns", netnsPath)
	return nil
}

// configurePeer runs on a thread inside the container's namespace.
func configurePeer(cfg IfaceConfig) error {
	link, err := netlink.LinkByName(cfg.Name)
	if err != nil {
		return fmt.Errorf("find %s: %w", cfg.Name, err)
	}
	if cfg.DisableTxChecksum {
		if err := setTxChecksum(cfg.Name, false); err != nil {
			return fmt.Errorf("TX checksum off: %w", err)
		}
	}
	if err := enableIPv6(cfg); err != nil {
		return err
	}
	if cfg.NoIPv6AddrGen {
		if err := noIPv6AddrGen(cfg.Name); err != nil {
			return err
		}
	}
	for _, p := range cfg.Addresses {
		addr := &netlink.Addr{IPNet: prefixToIPNet(p)}
		if p.Addr().Unmap().Is6() {
			// No DAD: the address would stay "tentative" (unusable) for
			// about a second; uniqueness is the IPAM's job.
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := netlink.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("add address %s: %w", p, err)
		}
	}
	// Up before routes: IPv6 adds the on-link prefix route only on an up
	// link, and a gateway must be reachable through one.
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	for _, gw := range cfg.Gateways {
		gw = gw.Unmap()
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
		if gw.Is6() {
			route.Family = unix.AF_INET6
		} else {
			route.Family = unix.AF_INET
		}
		if hasFamily(cfg.Addresses, gw) && !onSubnet(cfg.Addresses, gw) {
			// A gateway outside the subnet (Neutron allows one: an
			// upstream router) is reached on the link itself.
			route.Flags = int(netlink.FLAG_ONLINK)
		}
		if err := netlink.RouteAdd(route); err != nil {
			return fmt.Errorf("add default route via %s: %w (is it inside one of the addresses' subnets?)", gw, err)
		}
	}
	return nil
}

// enableIPv6 turns IPv6 on for the interface when it gets IPv6 addresses:
// Docker disables IPv6 (all and default) in containers without an IPv6
// network, a new interface inherits that, and the kernel then refuses
// IPv6 addresses. Only this interface is changed, not the namespace's
// defaults. Must run on a thread inside the namespace: /proc/sys/net
// shows the opener's namespace.
func enableIPv6(cfg IfaceConfig) error {
	for _, p := range cfg.Addresses {
		if !p.Addr().Unmap().Is6() {
			continue
		}
		path := "/proc/sys/net/ipv6/conf/" + cfg.Name + "/disable_ipv6"
		cur, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("IPv6 address %s requested but the kernel has no IPv6 (%s missing)", p, path)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if strings.TrimSpace(string(cur)) == "0" {
			return nil
		}
		if err := os.WriteFile(path, []byte("0"), 0o644); err != nil {
			return fmt.Errorf("enable IPv6 on %s: %w", cfg.Name, err)
		}
		return nil
	}
	return nil
}

// noIPv6AddrGen sets addr_gen_mode to none (1) on the interface. A kernel
// without IPv6 has nothing to turn off. Must run on a thread inside the
// namespace, like enableIPv6.
func noIPv6AddrGen(name string) error {
	path := "/proc/sys/net/ipv6/conf/" + name + "/addr_gen_mode"
	err := os.WriteFile(path, []byte("1"), 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("IPv6 address generation off on %s: %w", name, err)
	}
	return nil
}

// MoveLink moves the current-namespace link name (a parked veth end)
// into the namespace at netnsPath, renames it cfg.Name there and
// configures it like CreateVeth configures a peer (addresses, up,
// routes; its MAC and MTU stay as they are). The other end stays where
// it is, with its ifindex, so OVS keeps its port. Moving takes the kernel
// down the link first, which lets it be renamed. On failure the link is
// deleted (with its peer): it may be half-configured in the namespace.
func (n *Netlink) MoveLink(ctx context.Context, name, netnsPath string, cfg IfaceConfig) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(name, cfg); err != nil {
		return err
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("move %s: %w", name, ErrNoLink)
		}
		return fmt.Errorf("move %s: %w", name, err)
	}
	target, err := ns.GetNS(netnsPath)
	if err != nil {
		return fmt.Errorf("move %s: open network namespace %s: %w", name, netnsPath, err)
	}
	defer target.Close()
	if err := netlink.LinkSetNsFd(link, int(target.Fd())); err != nil {
		return fmt.Errorf("move %s into %s: %w", name, netnsPath, err)
	}
	err = target.Do(func(ns.NetNS) error {
		if name != cfg.Name {
			l, err := netlink.LinkByName(name)
			if err != nil {
				return fmt.Errorf("find %s: %w", name, err)
			}
			if err := netlink.LinkSetName(l, cfg.Name); err != nil {
				return fmt.Errorf("rename %s to %s: %w", name, cfg.Name, err)
			}
		}
		return configurePeer(cfg)
	})
	if err != nil {
		if derr := target.Do(func(ns.NetNS) error {
			if derr := deleteLink(cfg.Name); derr != nil {
				return derr
			}
			return deleteLink(name)
		}); derr != nil {
			n.log.Warn("rollback: delete moved link", "link", name, "netns", netnsPath, "error", derr)
		}
		return fmt.Errorf("configure %s in %s (moved from %s): %w", cfg.Name, netnsPath, name, err)
	}
	n.log.DebugContext(ctx, "moved link", "link", name, "netns", netnsPath, "name", cfg.Name)
	return nil
}

func validate(hostName string, cfg IfaceConfig) error {
	for _, name := range []string{hostName, cfg.Name} {
		if name == "" || len(name) >= unix.IFNAMSIZ {
			return fmt.Errorf("interface name %q must have 1 to %d bytes", name, unix.IFNAMSIZ-1)
		}
	}
	if cfg.MTU < 0 {
		return fmt.Errorf("MTU %d of %s is negative", cfg.MTU, cfg.Name)
	}
	for _, p := range cfg.Addresses {
		if !p.IsValid() {
			return fmt.Errorf("invalid address %v for %s", p, cfg.Name)
		}
	}
	for _, gw := range cfg.Gateways {
		if !gw.IsValid() {
			return fmt.Errorf("invalid gateway %v for %s", gw, cfg.Name)
		}
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	return &net.IPNet{IP: net.IP(a.AsSlice()), Mask: net.CIDRMask(bits, a.BitLen())}
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// hasFamily: one of the addresses is of ip's family.
func hasFamily(addrs []netip.Prefix, ip netip.Addr) bool {
	for _, a := range addrs {
		if a.Addr().Is4() == ip.Is4() {
			return true
		}
	}
	return false
}

// onSubnet: one of the addresses' prefixes holds ip.
func onSubnet(addrs []netip.Prefix, ip netip.Addr) bool {
	for _, a := range addrs {
		if a.Masked().Contains(ip) {
			return true
		}
	}
	return false
}
