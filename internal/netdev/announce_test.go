package netdev

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A peer holding a neighbour entry for the container's addresses with
// another MAC (the previous holder of the address) maps them to the
// container's MAC once it announced them, for IPv4 and IPv6 alike.
func TestAnnounceReplacesPeersStaleEntries(t *testing.T) {
	needRoot(t)
	peerNS := newNetns(t, "vst-anp")
	ctrNS := newNetns(t, "vst-anc")
	n := New(testLogger())
	ip6 := netip.MustParseAddr("fd00:9::2")
	inNetns(t, peerNS, func() error {
		return n.CreateVeth(testCtx(t), "vsta0", ctrNS, IfaceConfig{
			Name: "eth0", MAC: testMAC,
			Addresses: []netip.Prefix{netip.PrefixFrom(testIP, 24), netip.PrefixFrom(ip6, 64)},
		})
	})
	peer := func(args ...string) string {
		return run(t, "ip", append([]string{"netns", "exec", "vst-anp"}, args...)...)
	}
	peer("ip", "link", "set", "vsta0", "up")
	peer("ip", "addr", "add", "10.9.0.1/24", "dev", "vsta0")
	peer("ip", "addr", "add", "fd00:9::1/64", "dev", "vsta0", "nodad")
	const oldMAC = "02:00:00:00:00:99"
	for _, a := range []string{testIP.String(), ip6.String()} {
		peer("ip", "neigh", "replace", a, "lladdr", oldMAC, "dev", "vsta0", "nud", "reachable")
	}

	if got := peer("ip", "neigh", "show", "dev", "vsta0"); strings.Count(got, oldMAC) != 2 {
		t.Fatalf("before the announcement the peer should map both addresses to %s:\n%s", oldMAC, got)
	}
	if err := n.Announce(testCtx(t), ctrNS, "eth0", testMAC, []netip.Addr{testIP, ip6, netip.MustParseAddr("fe80::1")}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{testIP.String(), ip6.String()} {
		var got string
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if got = peer("ip", "neigh", "show", a, "dev", "vsta0"); strings.Contains(got, testMAC.String()) {
				break
			}
		}
		if !strings.Contains(got, testMAC.String()) {
			t.Errorf("the peer's entry for %s after the announcement: %q, want lladdr %s (was %s)", a, got, testMAC, oldMAC)
		}
	}
}

func TestAnnounceRejectsBadMAC(t *testing.T) {
	err := Announce("/nonexistent", "eth0", nil, []netip.Addr{testIP})
	if err == nil || !strings.Contains(err.Error(), "not an Ethernet address") {
		t.Fatalf("err = %v, want one naming the MAC", err)
	}
}
