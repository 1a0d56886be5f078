package netdev

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

var (
	testMAC = net.HardwareAddr{0xfa, 0x16, 0x3e, 0x01, 0x02, 0x03}
	testIP  = netip.MustParseAddr("10.9.0.5")
)

// reply is what a server would answer to req, with message type typ.
func reply(req []byte, typ byte) []byte {
	b := append([]byte(nil), req[:dhcpHeaderLen]...)
	b[0] = 2
	copy(b[16:20], req[12:16]) // yiaddr = ciaddr
	b = binary.BigEndian.AppendUint32(b, dhcpMagic)
	b = append(b, 0, 54, 4, 10, 9, 0, 1, 53, 1, typ, 1, 4, 255, 255, 255, 0, 255)
	return b
}

func TestDHCPRequestRoundTrip(t *testing.T) {
	req := encodeDHCPRequest(0xdeadbeef, testMAC, testIP)
	if len(req) < 300 {
		t.Errorf("request has %d bytes, want at least 300", len(req))
	}
	got, err := decodeDHCP(req)
	if err != nil {
		t.Fatal(err)
	}
	want := dhcpMessage{Op: 1, XID: 0xdeadbeef, Flags: dhcpBroadcastFlag, CIAddr: testIP, YIAddr: netip.AddrFrom4([4]byte{}), CHAddr: testMAC, MsgType: dhcpRequest}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
		t.Errorf("decoded request (-want +got):\n%s", d)
	}
}

func TestDHCPAnswers(t *testing.T) {
	req := encodeDHCPRequest(7, testMAC, testIP)
	other := net.HardwareAddr{0xfa, 0x16, 0x3e, 9, 9, 9}
	for _, tc := range []struct {
		name string
		msg  []byte
		want bool
		err  bool
	}{
		{"ack", reply(req, dhcpACK), true, false},
		{"offer", reply(req, dhcpOffer), true, false},
		{"nak", reply(req, dhcpNAK), true, false},
		{"our own request", req, false, false},
		{"other xid", reply(encodeDHCPRequest(8, testMAC, testIP), dhcpACK), false, false},
		{"other MAC", reply(encodeDHCPRequest(7, other, testIP), dhcpACK), false, false},
		{"no message type", append(reply(req, dhcpACK)[:dhcpHeaderLen+4], 255), false, false},
		{"decline type", reply(req, 4), false, false},
		{"too short", req[:100], false, true},
		{"no cookie", append(append([]byte(nil), req[:dhcpHeaderLen]...), 1, 2, 3, 4, 255), false, true},
		{"truncated option", append(reply(req, dhcpACK)[:dhcpHeaderLen+4], 53, 5, 1), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := decodeDHCP(tc.msg)
			if (err != nil) != tc.err {
				t.Fatalf("decode error %v, want error: %v", err, tc.err)
			}
			if got := err == nil && m.answers(7, testMAC); got != tc.want {
				t.Errorf("answers = %v, want %v (%+v)", got, tc.want, m)
			}
		})
	}
}

func TestProbeDHCPRejectsBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		mac  net.HardwareAddr
		ip   netip.Addr
	}{
		{"no MAC", nil, testIP},
		{"IPv6", testMAC, netip.MustParseAddr("fd00::5")},
		{"no IP", testMAC, netip.Addr{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ProbeDHCP(context.Background(), "/nonexistent", "eth0", tc.mac, tc.ip); err == nil {
				t.Error("no error")
			}
		})
	}
}

// A veth between two namespaces: the "server" namespace runs a tiny DHCP
// responder (a UDP socket on port 67) that answers every request with an
// ACK to the broadcast address; the probe succeeds. Without the responder
// it fails with ErrNoDHCPReply once its context ends.
func TestProbeDHCP(t *testing.T) {
	needRoot(t)
	srvNS := newNetns(t, "vst-dhs")
	ctrNS := newNetns(t, "vst-dhc")
	n := New(testLogger())
	inNetns(t, srvNS, func() error {
		if err := n.CreateVeth(testCtx(t), "vstd0", ctrNS, IfaceConfig{
			Name: "eth0", MAC: testMAC,
			Addresses: []netip.Prefix{netip.PrefixFrom(testIP, 24)},
		}); err != nil {
			return err
		}
		run(t, "ip", "addr", "add", "10.9.0.1/24", "dev", "vstd0")
		return nil
	})

	t.Run("timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := n.ProbeDHCP(ctx, ctrNS, "eth0", testMAC, testIP)
		if !errors.Is(err, ErrNoDHCPReply) {
			t.Fatalf("err = %v, want ErrNoDHCPReply", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %s for a 200ms budget", d)
		}
	})

	t.Run("port 68 taken", func(t *testing.T) {
		var fd int
		inNetns(t, ctrNS, func() error {
			var err error
			if fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrInet4{Port: dhcpClientPort})
		})
		defer unix.Close(fd)
		err := n.ProbeDHCP(testCtx(t), ctrNS, "eth0", testMAC, testIP)
		if !errors.Is(err, ErrDHCPPortInUse) {
			t.Fatalf("err = %v, want ErrDHCPPortInUse", err)
		}
	})

	t.Run("answered", func(t *testing.T) {
		var fd int
		inNetns(t, srvNS, func() error {
			var err error
			fd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BROADCAST, 1); err != nil {
				return err
			}
			if err := unix.BindToDevice(fd, "vstd0"); err != nil {
				return err
			}
			return unix.Bind(fd, &unix.SockaddrInet4{Port: dhcpServerPort})
		})
		got := make(chan dhcpMessage, 1)
		go func() {
			buf := make([]byte, 1500)
			for {
				r, _, err := unix.Recvfrom(fd, buf, 0)
				if err != nil {
					return // closed
				}
				m, err := decodeDHCP(buf[:r])
				if err != nil || m.Op != 1 {
					continue
				}
				select {
				case got <- m:
				default:
				}
				to := &unix.SockaddrInet4{Port: dhcpClientPort, Addr: [4]byte{255, 255, 255, 255}}
				_ = unix.Sendto(fd, reply(buf[:r], dhcpACK), 0, to)
			}
		}()
		defer unix.Close(fd)
		defer unix.Shutdown(fd, unix.SHUT_RDWR) // ends the responder's Recvfrom

		start := time.Now()
		if err := n.ProbeDHCP(testCtx(t), ctrNS, "eth0", testMAC, testIP); err != nil {
			t.Fatal(err)
		}
		t.Logf("answered in %s", time.Since(start))
		m := <-got
		want := dhcpMessage{Op: 1, XID: m.XID, Flags: dhcpBroadcastFlag, CIAddr: testIP, YIAddr: netip.AddrFrom4([4]byte{}), CHAddr: testMAC, MsgType: dhcpRequest}
		if d := cmp.Diff(want, m, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
			t.Errorf("request the server saw (-want +got):\n%s", d)
		}
	})
}
