package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// NetnsInterfaces reads interfaces with netlink inside the namespace.
type NetnsInterfaces struct{}

// Interface implements Interfaces.
func (NetnsInterfaces) Interface(_ context.Context, netns, ifName string) (net.HardwareAddr, []netip.Prefix, error) {
	var mac net.HardwareAddr
	var out []netip.Prefix
	err := ns.WithNetNSPath(netns, func(ns.NetNS) error {
		l, err := netlink.LinkByName(ifName)
		if err != nil {
			return fmt.Errorf("interface %s: %w", ifName, err)
		}
		mac = l.Attrs().HardwareAddr
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("addresses of %s: %w", ifName, err)
		}
		for _, a := range addrs {
			ip, ok := netip.AddrFromSlice(a.IP)
			if !ok {
				continue
			}
			ones, _ := a.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
		}
		return nil
	})
	return mac, out, err
}
