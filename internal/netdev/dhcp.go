package netdev

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// ErrNoDHCPReply: ProbeDHCP got no DHCP answer within its context.
var ErrNoDHCPReply = errors.New("no DHCP reply")

// ErrDHCPPortInUse: something in the namespace holds the DHCP client
// port (68) without SO_REUSEADDR, so ProbeDHCP cannot listen for the
// answer. The caller decides whether to go on without the probe.
var ErrDHCPPortInUse = errors.New("DHCP client port in use")

// DHCP message types (option 53) the probe sends or accepts.
const (
	dhcpRequest = 3
	dhcpOffer   = 2
	dhcpACK     = 5
	dhcpNAK     = 6
)

const (
	dhcpMagic         = 0x63825363
	dhcpBroadcastFlag = 0x8000
	dhcpHeaderLen     = 236
	dhcpClientPort    = 68
	dhcpServerPort    = 67
	// Retransmission: the first answer normally comes within a few ms
	// (OVN answers from ovn-controller on the hypervisor); the interval
	// grows to probeMaxInterval so a slow hypervisor is not flooded.
	probeFirstInterval = 20 * time.Millisecond
	probeMaxInterval   = 50 * time.Millisecond
)

// dhcpMessage is the part of a BOOTP/DHCP message the probe uses.
type dhcpMessage struct {
	Op      byte // 1 request, 2 reply
	XID     uint32
	Flags   uint16
	CIAddr  netip.Addr
	YIAddr  netip.Addr
	CHAddr  net.HardwareAddr
	MsgType byte // option 53; 0 if absent
}

// encodeDHCPRequest is a DHCPREQUEST of a client in RENEWING state
// (RFC 2131 4.3.2): ciaddr = ip, no requested-address or server-id
// option, so any server that knows the address answers. OVN's native DHCP
// answers it with an ACK for the port's own address.
func encodeDHCPRequest(xid uint32, mac net.HardwareAddr, ip netip.Addr) []byte {
	b := make([]byte, dhcpHeaderLen, 300)
	b[0] = 1 // BOOTREQUEST
	b[1] = 1 // Ethernet
	b[2] = byte(len(mac))
	binary.BigEndian.PutUint32(b[4:], xid)
	// The broadcast flag (RFC 2131 4.1) asks for the answer at the
	// broadcast address: the interface may not hold ip yet (a veth end
	// probed in the VM before the engine moves it into its container).
	binary.BigEndian.PutUint16(b[10:], dhcpBroadcastFlag)
	ci := ip.As4()
	copy(b[12:16], ci[:])
	copy(b[28:44], mac)
	b = binary.BigEndian.AppendUint32(b, dhcpMagic)
	b = append(b, 53, 1, dhcpRequest)
	b = append(b, 61, 7, 1) // client identifier: hardware type + MAC
	b = append(b, mac[:6]...)
	b = append(b, 255)
	// Pad to the 300-byte BOOTP minimum some servers insist on.
	for len(b) < 300 {
		b = append(b, 0)
	}
	return b
}

// decodeDHCP parses a BOOTP/DHCP message.
func decodeDHCP(b []byte) (dhcpMessage, error) {
	if len(b) < dhcpHeaderLen+4 {
		return dhcpMessage{}, fmt.Errorf("DHCP message of %d bytes is too short", len(b))
	}
	if binary.BigEndian.Uint32(b[dhcpHeaderLen:]) != dhcpMagic {
		return dhcpMessage{}, errors.New("DHCP message without the magic cookie")
	}
	hlen := int(b[2])
	if hlen > 16 {
		return dhcpMessage{}, fmt.Errorf("DHCP hardware address length %d", hlen)
	}
	m := dhcpMessage{
		Op:     b[0],
		XID:    binary.BigEndian.Uint32(b[4:]),
		Flags:  binary.BigEndian.Uint16(b[10:]),
		CIAddr: netip.AddrFrom4([4]byte(b[12:16])),
		YIAddr: netip.AddrFrom4([4]byte(b[16:20])),
		CHAddr: net.HardwareAddr(bytes.Clone(b[28 : 28+hlen])),
	}
	opts := b[dhcpHeaderLen+4:]
	for len(opts) > 0 {
		code := opts[0]
		if code == 0 { // pad
			opts = opts[1:]
			continue
		}
		if code == 255 {
			break
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return m, fmt.Errorf("DHCP option %d truncated", code)
		}
		val := opts[2 : 2+int(opts[1])]
		if code == 53 && len(val) == 1 {
			m.MsgType = val[0]
		}
		opts = opts[2+len(val):]
	}
	return m, nil
}

// answers reports whether m is a server's answer to our request xid.
func (m dhcpMessage) answers(xid uint32, mac net.HardwareAddr) bool {
	if m.Op != 2 || m.XID != xid || !bytes.Equal(m.CHAddr, mac) {
		return false
	}
	switch m.MsgType {
	case dhcpOffer, dhcpACK, dhcpNAK:
		return true
	}
	return false
}

// ProbeDHCP proves that the network forwards ifName's traffic: from inside
// the namespace at netnsPath it broadcasts DHCPREQUESTs for ip (from ip:68
// to 255.255.255.255:67, on ifName only) until a DHCP server answers, or
// ctx ends (ErrNoDHCPReply). With OVN native DHCP the answer comes from
// flows that match the logical port itself (its inport, MAC and address),
// so it arrives only once the port's flows are installed on the
// hypervisor -- which OVN's "up" does not guarantee for a child port.
// Any answer counts (even a NAK: it still crossed the port's flows). The
// broadcast destination makes the probe independent of which address the
// server uses. Nothing else in the namespace may be bound to UDP port 68
// on ifName (it runs before the container's own process).
func ProbeDHCP(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, ip netip.Addr) error {
	if len(mac) != 6 {
		return fmt.Errorf("DHCP probe on %s: MAC %q is not an Ethernet address", ifName, mac)
	}
	if !ip.Unmap().Is4() {
		return fmt.Errorf("DHCP probe on %s: %s is not an IPv4 address", ifName, ip)
	}
	ip = ip.Unmap()
	var fd int
	err := ns.WithNetNSPath(netnsPath, func(ns.NetNS) error {
		var err error
		fd, err = dhcpSocket(ifName)
		return err
	})
	if err != nil {
		return fmt.Errorf("DHCP probe on %s in %s: %w", ifName, netnsPath, err)
	}
	// The socket stays in the namespace it was made in, so the rest runs
	// on any thread.
	defer unix.Close(fd)
	var x [4]byte
	if _, err := rand.Read(x[:]); err != nil {
		return fmt.Errorf("DHCP probe: transaction id: %w", err)
	}
	xid := binary.BigEndian.Uint32(x[:])
	req := encodeDHCPRequest(xid, mac, ip)
	// The source address is the port's own, which the port's security
	// lets through: the kernel would pick another of the namespace's
	// addresses, or none, when ifName does not hold ip (see dhcpSocket).
	src := unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: ip.As4()})
	to := &unix.SockaddrInet4{Port: dhcpServerPort, Addr: [4]byte{255, 255, 255, 255}}
	buf := make([]byte, 1500)
	interval := probeFirstInterval
	sent := 0
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%w to %d DHCPREQUESTs for %s from %s (%s): %w", ErrNoDHCPReply, sent, ip, ifName, mac, err)
		}
		if _, err := unix.SendmsgN(fd, req, src, to, 0); err != nil {
			return fmt.Errorf("DHCP probe: send on %s: %w", ifName, err)
		}
		sent++
		deadline := time.Now().Add(interval)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		for {
			wait := time.Until(deadline)
			if wait <= 0 {
				break
			}
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, int(max(wait.Milliseconds(), 1)))
			if err != nil && !errors.Is(err, unix.EINTR) {
				return fmt.Errorf("DHCP probe: poll on %s: %w", ifName, err)
			}
			if n <= 0 {
				continue
			}
			r, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
					continue
				}
				return fmt.Errorf("DHCP probe: receive on %s: %w", ifName, err)
			}
			if m, err := decodeDHCP(buf[:r]); err == nil && m.answers(xid, mac) {
				return nil
			}
		}
		interval = min(2*interval, probeMaxInterval)
	}
}

// dhcpSocket is a UDP socket on 0.0.0.0:68 bound to ifName: the answer
// may come to the address or to the broadcast address, and the socket
// must see only ifName's traffic and send only through it (a broadcast
// needs no route then).
func dhcpSocket(ifName string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	for _, o := range []struct {
		name  string
		opt   int
		level int
	}{{"SO_REUSEADDR", unix.SO_REUSEADDR, unix.SOL_SOCKET}, {"SO_BROADCAST", unix.SO_BROADCAST, unix.SOL_SOCKET},
		// IP_TRANSPARENT lets the request leave with a source address
		// the interface does not hold yet.
		{"IP_TRANSPARENT", unix.IP_TRANSPARENT, unix.IPPROTO_IP}} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", o.name, err)
		}
	}
	if err := unix.BindToDevice(fd, ifName); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to %s: %w", ifName, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: dhcpClientPort}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EADDRINUSE) {
			return -1, fmt.Errorf("bind UDP port %d: %w: %w", dhcpClientPort, ErrDHCPPortInUse, err)
		}
		return -1, fmt.Errorf("bind UDP port %d: %w", dhcpClientPort, err)
	}
	return fd, nil
}

// ProbeDHCP proves the data path of ifName; see the function ProbeDHCP.
func (n *Netlink) ProbeDHCP(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, ip netip.Addr) error {
	start := time.Now()
	err := ProbeDHCP(ctx, netnsPath, ifName, mac, ip)
	n.log.DebugContext(ctx, "DHCP probe", "netns", netnsPath, "ifname", ifName, "ip", ip, "took", time.Since(start), "error", err)
	return err
}
