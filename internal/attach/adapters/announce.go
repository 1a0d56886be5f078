package adapters

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

var _ attach.Announcer = Links{}

// Announce sends one gratuitous ARP per IPv4 address of the interface
// cfg.Name in the namespace at netnsPath (as the CNI bridge plugin does).
func (l Links) Announce(ctx context.Context, netnsPath string, cfg attach.IfaceConfig) error {
	var ips [][4]byte
	for _, p := range cfg.Addresses {
		if p.Addr().Is4() {
			ips = append(ips, p.Addr().As4())
		}
	}
	if len(ips) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		ifc, err := net.InterfaceByName(cfg.Name)
		if err != nil {
			return fmt.Errorf("gratuitous ARP on %s: %w", cfg.Name, err)
		}
		proto := htons(unix.ETH_P_ARP)
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(proto))
		if err != nil {
			return fmt.Errorf("gratuitous ARP on %s: %w", cfg.Name, err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index, Halen: 6}
		copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		for _, ip := range ips {
			if err := unix.Sendto(fd, garp(ifc.HardwareAddr, ip), 0, to); err != nil {
				return fmt.Errorf("gratuitous ARP on %s: %w", cfg.Name, err)
			}
		}
		return nil
	})
}

// garp is a broadcast ARP request for ip from mac with target ip (RFC 5227
// announcement), padded to the Ethernet minimum.
func garp(mac net.HardwareAddr, ip [4]byte) []byte {
	b := make([]byte, 60)
	copy(b[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(b[6:12], mac)
	binary.BigEndian.PutUint16(b[12:], unix.ETH_P_ARP)
	binary.BigEndian.PutUint16(b[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[16:], 0x0800) // IPv4
	b[18], b[19] = 6, 4
	binary.BigEndian.PutUint16(b[20:], 1) // request
	copy(b[22:28], mac)
	copy(b[28:32], ip[:])
	// target hardware address 0
	copy(b[38:42], ip[:])
	return b
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
