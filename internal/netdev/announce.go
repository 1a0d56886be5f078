package netdev

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	ethHeaderLen  = 14
	minFrameLen   = 60 // without the FCS; shorter frames are padded
)

// Announce sends, from ifName in the namespace at netnsPath, a gratuitous
// ARP (an ARP request for the address itself) for each IPv4 address and
// an unsolicited neighbour advertisement with the override flag for each
// IPv6 address, all with mac as the sender. A peer that still maps one of
// the addresses to another MAC (the port that had the address before:
// Neutron may hand a freed address out again at once) replaces the entry.
// Without this the peer would keep sending to the old MAC until its
// entry expired, tens of seconds: it never sees the new port's own ARP
// requests or neighbour solicitations, which OVN answers on the
// hypervisor. The interface needs no address; it must be up.
func Announce(netnsPath, ifName string, mac net.HardwareAddr, addrs []netip.Addr) error {
	if len(mac) != 6 {
		return fmt.Errorf("announcing on %s: MAC %q is not an Ethernet address", ifName, mac)
	}
	var fd, ifindex int
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		ifi, err := net.InterfaceByName(ifName)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		// Protocol 0: the socket sends and receives nothing.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("announcing on %s in %s: %w", ifName, netnsPath, err)
	}
	// The socket stays in the namespace it was made in.
	defer unix.Close(fd)
	var errs []error
	for _, a := range addrs {
		a = a.Unmap()
		var frame []byte
		switch {
		case a.Is4():
			frame = gratuitousARP(mac, a)
		case a.Is6() && !a.IsLinkLocalUnicast():
			frame = unsolicitedNA(mac, a)
		default:
			continue // a link-local address is derived from the MAC: no one has it under another
		}
		to := &unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6}
		copy(to.Addr[:], frame[0:6])
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			errs = append(errs, fmt.Errorf("announcing %s on %s: %w", a, ifName, err))
		}
	}
	return errors.Join(errs...)
}

// Announce announces the addresses of ifName; see the function Announce.
func (n *Netlink) Announce(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, addrs []netip.Addr) error {
	start := time.Now()
	err := Announce(netnsPath, ifName, mac, addrs)
	n.log.DebugContext(ctx, "announced addresses", "netns", netnsPath, "ifname", ifName, "mac", mac, "addrs", addrs, "took", time.Since(start), "error", err)
	return err
}

// ethernetFrame is an Ethernet header (dst, src, type) followed by payload,
// padded to the minimum frame length.
func ethernetFrame(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	f := make([]byte, max(ethHeaderLen+len(payload), minFrameLen))
	copy(f[0:6], dst)
	copy(f[6:12], src)
	binary.BigEndian.PutUint16(f[12:14], etherType)
	copy(f[ethHeaderLen:], payload)
	return f
}

// gratuitousARP is a broadcast ARP request whose sender and target
// address are both ip: Linux updates an existing entry for ip from it
// whatever its state (RFC 5227's ARP announcement).
func gratuitousARP(mac net.HardwareAddr, ip netip.Addr) []byte {
	arp := make([]byte, 28)
	binary.BigEndian.PutUint16(arp[0:2], 1)      // Ethernet
	binary.BigEndian.PutUint16(arp[2:4], 0x0800) // IPv4
	arp[4], arp[5] = 6, 4
	binary.BigEndian.PutUint16(arp[6:8], 1) // request
	copy(arp[8:14], mac)
	a := ip.As4()
	copy(arp[14:18], a[:])
	// The target MAC stays zero.
	copy(arp[24:28], a[:])
	return ethernetFrame(net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac, etherTypeARP, arp)
}

// unsolicitedNA is a neighbour advertisement for ip to all nodes
// (ff02::1) from ip itself, override flag set, not solicited, with mac
// as the target link-layer address (RFC 4861 7.2.6).
func unsolicitedNA(mac net.HardwareAddr, ip netip.Addr) []byte {
	const naLen = 24 + 8 // the message and one target link-layer address option
	allNodes := netip.MustParseAddr("ff02::1")
	msg := make([]byte, naLen)
	msg[0] = 136                                     // neighbour advertisement
	binary.BigEndian.PutUint32(msg[4:8], 0x20000000) // override
	t := ip.As16()
	copy(msg[8:24], t[:])
	msg[24], msg[25] = 2, 1 // target link-layer address, 8 bytes
	copy(msg[26:32], mac)
	binary.BigEndian.PutUint16(msg[2:4], icmpv6Checksum(ip, allNodes, msg))

	pkt := make([]byte, 40+naLen)
	pkt[0] = 0x60
	binary.BigEndian.PutUint16(pkt[4:6], naLen)
	pkt[6] = unix.IPPROTO_ICMPV6
	pkt[7] = 255 // hop limit: receivers drop neighbour discovery with any other
	src, dst := ip.As16(), allNodes.As16()
	copy(pkt[8:24], src[:])
	copy(pkt[24:40], dst[:])
	copy(pkt[40:], msg)
	return ethernetFrame(net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}, mac, etherTypeIPv6, pkt)
}

// icmpv6Checksum is the checksum of msg (its checksum field zero) with the
// IPv6 pseudo-header of src and dst.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var l [8]byte
	binary.BigEndian.PutUint32(l[0:4], uint32(len(msg)))
	l[7] = unix.IPPROTO_ICMPV6
	add(l[:])
	add(msg)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
