package netdev

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// observed is what a container would see of its interface.
type observed struct {
	Name      string
	MAC       string
	MTU       int
	Up        bool
	Addresses []string // global ones, "addr/len"
	Tentative []string // IPv6 addresses still doing DAD (should be none)
	Defaults  []string // default routes' gateways
	TxCsum    bool
}

func observe(name string) (observed, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return observed{}, err
	}
	o := observed{Name: l.Attrs().Name, MAC: l.Attrs().HardwareAddr.String(), MTU: l.Attrs().MTU,
		Up: l.Attrs().Flags&net.FlagUp != 0}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return o, err
	}
	for _, a := range addrs {
		if a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		o.Addresses = append(o.Addresses, a.IPNet.String())
		if a.Flags&unix.IFA_F_TENTATIVE != 0 {
			o.Tentative = append(o.Tentative, a.IPNet.String())
		}
	}
	routes, err := netlink.RouteList(l, netlink.FAMILY_ALL)
	if err != nil {
		return o, err
	}
	for _, r := range routes {
		if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw != nil {
			o.Defaults = append(o.Defaults, r.Gw.String())
		}
	}
	slices.Sort(o.Addresses)
	slices.Sort(o.Defaults)
	o.TxCsum, err = TxChecksum(name)
	return o, err
}

func TestCreateVethConfiguresBothEnds(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c1")
	cleanupLink(t, "vsta1")
	n := New(testLogger())
	cfg := IfaceConfig{
		Name:              "eth0",
		MAC:               mustMAC("02:00:0a:01:00:05"),
		Addresses:         []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24"), netip.MustParsePrefix("fd00::5/64")},
		Gateways:          []netip.Addr{netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("fd00::1")},
		MTU:               1442,
		DisableTxChecksum: true,
	}
	if err := n.CreateVeth(testCtx(t), "vsta1", nsPath, cfg); err != nil {
		t.Fatal(err)
	}

	var got observed
	inNetns(t, nsPath, func() (err error) { got, err = observe("eth0"); return err })
	want := observed{
		Name: "eth0", MAC: "02:00:0a:01:00:05", MTU: 1442, Up: true,
		Addresses: []string{"10.1.0.5/24", "fd00::5/64"},
		Defaults:  []string{"10.1.0.1", "fd00::1"},
		TxCsum:    false,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("container end (-want +got):\n%s", d)
	}
	// The same, as the ethtool tool reports it.
	if out := run(t, "ip", "netns", "exec", "vst-c1", "ethtool", "-k", "eth0"); !strings.Contains(out, "tx-checksumming: off") {
		t.Errorf("ethtool -k eth0 in the container:\n%s", out)
	}

	host, err := observe("vsta1")
	if err != nil {
		t.Fatal(err)
	}
	if host.MTU != 1442 || !host.Up || host.TxCsum {
		t.Errorf("host end: MTU %d up %v tx-csum %v, want 1442 true false", host.MTU, host.Up, host.TxCsum)
	}
	ctx := testCtx(t)
	if ok, err := n.LinkExists(ctx, "vsta1"); !ok || err != nil {
		t.Errorf("LinkExists(vsta1) = %v, %v", ok, err)
	}
	if down, err := n.LinkDown(ctx, "vsta1"); down || err != nil {
		t.Errorf("LinkDown(vsta1) = %v, %v, want up", down, err)
	}
	if out, err := exec.Command("ip", "link", "set", "vsta1", "down").CombinedOutput(); err != nil {
		t.Fatalf("ip link set vsta1 down: %v: %s", err, out)
	}
	if down, err := n.LinkDown(ctx, "vsta1"); !down || err != nil {
		t.Errorf("LinkDown(vsta1) after ip link set down = %v, %v", down, err)
	}
	if was, err := n.EnsureUp(ctx, "vsta1"); !was || err != nil {
		t.Errorf("EnsureUp(vsta1) = %v, %v, want it was down", was, err)
	}
	if mtu, err := n.LinkMTU(ctx, "vsta1"); mtu != 1442 || err != nil {
		t.Errorf("LinkMTU(vsta1) = %d, %v", mtu, err)
	}
	if mac, err := n.LinkMAC(ctx, "vsta1"); len(mac) != 6 || err != nil {
		t.Errorf("LinkMAC(vsta1) = %v, %v", mac, err)
	}
	if _, err := n.LinkMTU(ctx, "vstnone"); !errors.Is(err, ErrNoLink) {
		t.Errorf("LinkMTU(vstnone) = %v, want ErrNoLink", err)
	}
}

func TestCreateVethTxChecksumLeftOn(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c2")
	cleanupLink(t, "vsta2")
	if err := New(testLogger()).CreateVeth(testCtx(t), "vsta2", nsPath, IfaceConfig{Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	var on bool
	inNetns(t, nsPath, func() (err error) { on, err = TxChecksum("eth0"); return err })
	if !on {
		t.Error("TX checksum offload is off although DisableTxChecksum was false")
	}
}

// Whatever step fails, neither end is left behind.
func TestCreateVethRollsBack(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c3")
	ok := IfaceConfig{Name: "eth0", Addresses: []netip.Prefix{netip.MustParsePrefix("10.3.0.5/24")}}
	tests := []struct {
		name   string
		mutate func(*IfaceConfig)
		errHas string
	}{
		{"MTU the kernel refuses", func(c *IfaceConfig) { c.MTU = 70000 }, "MTU 70000"},
		{"address added twice", func(c *IfaceConfig) {
			c.Addresses = append(c.Addresses, c.Addresses[0])
		}, "add address 10.3.0.5/24"},
		{"IPv6 gateway without an IPv6 address", func(c *IfaceConfig) {
			c.Gateways = []netip.Addr{netip.MustParseAddr("fd00:3::1")}
		}, "default route via fd00:3::1"},
	}
	n := New(testLogger())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanupLink(t, "vsta3")
			cfg := ok
			cfg.Addresses = slices.Clone(ok.Addresses)
			tt.mutate(&cfg)
			err := n.CreateVeth(testCtx(t), "vsta3", nsPath, cfg)
			if err == nil {
				t.Fatal("CreateVeth succeeded")
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not mention %q", err, tt.errHas)
			}
			if exists, _ := n.LinkExists(testCtx(t), "vsta3"); exists {
				t.Error("host end vsta3 left behind")
			}
			inNetns(t, nsPath, func() error {
				links, err := netlink.LinkList()
				for _, l := range links {
					if l.Attrs().Name != "lo" {
						t.Errorf("link %s left in the container namespace", l.Attrs().Name)
					}
				}
				return err
			})
		})
	}
}

func TestCreateVethExisting(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c4")
	cleanupLink(t, "vsta4")
	// A veth rather than a dummy: the machine may lack the dummy module.
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "vsta4"}, PeerName: "vsta4p"}); err != nil {
		t.Fatal(err)
	}
	n := New(testLogger())
	err := n.CreateVeth(testCtx(t), "vsta4", nsPath, IfaceConfig{Name: "eth0"})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	// The stale link is the caller's to judge: it is left alone.
	if ok, _ := n.LinkExists(testCtx(t), "vsta4"); !ok {
		t.Error("the existing link was removed")
	}

	// A clash inside the container is ErrExists too, and leaves nothing.
	cleanupLink(t, "vsta5")
	inNetns(t, nsPath, func() error {
		return netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "x0"})
	})
	err = n.CreateVeth(testCtx(t), "vsta5", nsPath, IfaceConfig{Name: "eth0"})
	if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), nsPath) {
		t.Fatalf("err = %v, want ErrExists naming %s", err, nsPath)
	}
	if ok, _ := n.LinkExists(testCtx(t), "vsta5"); ok {
		t.Error("host end vsta5 left behind")
	}
}

func TestDeleteIdempotent(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c6")
	cleanupLink(t, "vsta6")
	n := New(testLogger())
	ctx := testCtx(t)
	if err := n.CreateVeth(ctx, "vsta6", nsPath, IfaceConfig{Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := n.DeleteLink(ctx, "vsta6"); err != nil {
			t.Fatalf("DeleteLink #%d: %v", i+1, err)
		}
	}
	if ok, err := n.LinkExists(ctx, "vsta6"); ok || err != nil {
		t.Errorf("LinkExists after delete = %v, %v", ok, err)
	}
	// Deleting the host end took the container end with it.
	inNetns(t, nsPath, func() error {
		if _, err := netlink.LinkByName("eth0"); err == nil {
			t.Error("eth0 survived the deletion of its peer")
		}
		return nil
	})

	// From the container side, then again, then with the namespace gone.
	if err := n.CreateVeth(ctx, "vsta6", nsPath, IfaceConfig{Name: "eth0"}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := n.DeleteLinkInNetns(ctx, nsPath, "eth0"); err != nil {
			t.Fatalf("DeleteLinkInNetns #%d: %v", i+1, err)
		}
	}
	if ok, _ := n.LinkExists(ctx, "vsta6"); ok {
		t.Error("host end survived the deletion of the container end")
	}
	if err := n.DeleteLinkInNetns(ctx, "/var/run/netns/vst-none", "eth0"); err != nil {
		t.Errorf("DeleteLinkInNetns on a missing namespace: %v", err)
	}
	stale := t.TempDir() + "/netns" // what a dead container's netns file looks like once unmounted
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.DeleteLinkInNetns(ctx, stale, "eth0"); err != nil {
		t.Errorf("DeleteLinkInNetns on an unmounted namespace file: %v", err)
	}
}

func TestCreateVethConcurrent(t *testing.T) {
	needRoot(t)
	const count = 16
	n := New(testLogger())
	paths := make([]string, count)
	for i := range count {
		paths[i] = newNetns(t, fmt.Sprintf("vst-p%d", i))
		cleanupLink(t, fmt.Sprintf("vstp%d", i))
	}
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make([]error, count)
	for i := range count {
		wg.Go(func() {
			errs[i] = n.CreateVeth(ctx, fmt.Sprintf("vstp%d", i), paths[i], IfaceConfig{
				Name:              "eth0",
				MAC:               mustMAC(fmt.Sprintf("02:00:00:00:01:%02x", i)),
				Addresses:         []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.16.0.%d/24", i+2))},
				Gateways:          []netip.Addr{netip.MustParseAddr("10.16.0.1")},
				MTU:               1400,
				DisableTxChecksum: true,
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range count {
		var got observed
		inNetns(t, paths[i], func() (err error) { got, err = observe("eth0"); return err })
		want := fmt.Sprintf("10.16.0.%d/24", i+2)
		if len(got.Addresses) != 1 || got.Addresses[0] != want || !got.Up || got.TxCsum {
			t.Errorf("netns %d: %+v, want %s, up, tx off", i, got, want)
		}
	}
}

// Docker turns IPv6 off in a container without an IPv6 network (all and
// default); an IPv6 address must still work on the interface we add.
func TestCreateVethIPv6WhereDisabled(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c8")
	cleanupLink(t, "vsta8")
	run(t, "ip", "netns", "exec", "vst-c8", "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	err := New(testLogger()).CreateVeth(testCtx(t), "vsta8", nsPath, IfaceConfig{
		Name:      "eth0",
		Addresses: []netip.Prefix{netip.MustParsePrefix("fd00:8::5/64")},
		Gateways:  []netip.Addr{netip.MustParseAddr("fd00:8::1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got observed
	inNetns(t, nsPath, func() (err error) { got, err = observe("eth0"); return err })
	if d := cmp.Diff([]string{"fd00:8::5/64"}, got.Addresses); d != "" || len(got.Tentative) != 0 {
		t.Errorf("addresses (-want +got):\n%s tentative %v", d, got.Tentative)
	}
	if out := run(t, "ip", "netns", "exec", "vst-c8", "sysctl", "-n", "net.ipv6.conf.default.disable_ipv6"); strings.TrimSpace(out) != "1" {
		t.Errorf("namespace default disable_ipv6 changed to %q; only eth0's should", out)
	}
}

// Neutron allows a gateway outside the subnet (an upstream router): the
// default route to it is on-link.
func TestCreateVethGatewayOutsideSubnet(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-c4")
	cleanupLink(t, "vsta4")
	cfg := IfaceConfig{Name: "eth0", Addresses: []netip.Prefix{netip.MustParsePrefix("10.4.0.5/24")},
		Gateways: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	n := New(testLogger())
	if err := n.CreateVeth(testCtx(t), "vsta4", nsPath, cfg); err != nil {
		t.Fatal(err)
	}
	var routes []netlink.Route
	inNetns(t, nsPath, func() (err error) {
		routes, err = netlink.RouteList(nil, netlink.FAMILY_V4)
		return err
	})
	for _, r := range routes {
		if r.Gw.Equal(net.ParseIP("192.0.2.1")) {
			if r.Flags&int(netlink.FLAG_ONLINK) == 0 {
				t.Errorf("default route via 192.0.2.1 is not on-link: %+v", r)
			}
			return
		}
	}
	t.Errorf("no route via 192.0.2.1 in %+v", routes)
}

func TestMoveLinkParkedPeer(t *testing.T) {
	needRoot(t)
	nsPath := newNetns(t, "vst-m1")
	cleanupLink(t, "vstm1")
	cleanupLink(t, "vstp1")
	n := New(testLogger())
	ctx := testCtx(t)
	parked := IfaceConfig{Name: "vstp1", MAC: mustMAC("02:00:0a:01:00:07"), MTU: 1442, NoIPv6AddrGen: true}
	if err := n.CreateVeth(ctx, "vstm1", "/proc/self/ns/net", parked); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/vstp1/addr_gen_mode"); err == nil && strings.TrimSpace(string(b)) != "1" {
		t.Errorf("parked end's addr_gen_mode = %q, want 1 (none)", b)
	}
	hostIndex := func() int {
		l, err := netlink.LinkByName("vstm1")
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().Index
	}
	before := hostIndex()
	cfg := IfaceConfig{
		Name:      "eth0",
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.1.0.7/24")},
		Gateways:  []netip.Addr{netip.MustParseAddr("10.1.0.1")},
	}
	if err := n.MoveLink(ctx, "vstp1", nsPath, cfg); err != nil {
		t.Fatal(err)
	}
	var got observed
	inNetns(t, nsPath, func() (err error) { got, err = observe("eth0"); return err })
	want := observed{Name: "eth0", MAC: "02:00:0a:01:00:07", MTU: 1442, Up: true,
		Addresses: []string{"10.1.0.7/24"}, Defaults: []string{"10.1.0.1"}, TxCsum: true}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("moved end (-want +got):\n%s", d)
	}
	if ok, _ := n.LinkExists(ctx, "vstp1"); ok {
		t.Error("vstp1 still in the VM after the move")
	}
	if after := hostIndex(); after != before {
		t.Errorf("VM end's ifindex %d -> %d: OVS would see a new interface", before, after)
	}
	if err := n.MoveLink(ctx, "vstp1", nsPath, cfg); !errors.Is(err, ErrNoLink) {
		t.Errorf("moving a missing link: %v, want ErrNoLink", err)
	}
}
