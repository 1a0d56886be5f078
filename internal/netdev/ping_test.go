package netdev

import (
	"net"
	"net/netip"
	"os/exec"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The pair carries traffic: the "host" side is a namespace of its own (so
// the test adds no address to the machine's namespace); CreateVeth runs on
// a thread inside it, and the container pings the host end right after
// CreateVeth returns, over IPv4 and IPv6 (no DAD wait).
func TestVethCarriesTraffic(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping not installed (apt-get install iputils-ping)")
	}
	hostNS := newNetns(t, "vst-h1")
	ctrNS := newNetns(t, "vst-c7")
	n := New(testLogger())
	inNetns(t, hostNS, func() error {
		err := n.CreateVeth(testCtx(t), "vsta7", ctrNS, IfaceConfig{
			Name:              "eth0",
			Addresses:         []netip.Prefix{netip.MustParsePrefix("10.7.0.5/24"), netip.MustParsePrefix("fd00:7::5/64")},
			Gateways:          []netip.Addr{netip.MustParseAddr("10.7.0.1"), netip.MustParseAddr("fd00:7::1")},
			MTU:               1442,
			DisableTxChecksum: true,
		})
		if err != nil {
			return err
		}
		host, err := netlink.LinkByName("vsta7")
		if err != nil {
			return err
		}
		for _, a := range []string{"10.7.0.1/24", "fd00:7::1/64"} {
			ip, ipn, _ := net.ParseCIDR(a)
			ipn.IP = ip
			if err := netlink.AddrAdd(host, &netlink.Addr{IPNet: ipn, Flags: unix.IFA_F_NODAD}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, dst := range []string{"10.7.0.1", "fd00:7::1"} {
		out, err := exec.Command("ip", "netns", "exec", "vst-c7", "ping", "-c1", "-W2", dst).CombinedOutput()
		if err != nil {
			t.Errorf("ping %s from the container: %v\n%s", dst, err, out)
		}
	}
}
