package attach

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

type rig struct {
	sw    *fakeSwitch
	links *fakeLinks
	cl    *fakeCloud
	a     *Attacher
	netns string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	netns := filepath.Join(t.TempDir(), "netns")
	if err := os.WriteFile(netns, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &rig{
		sw:    newFakeSwitch(),
		links: &fakeLinks{},
		cl: &fakeCloud{status: "ACTIVE", networks: []cloud.Network{{
			ID: "net-1", Name: "LS1", MTU: 1442,
			Subnets: []cloud.Subnet{
				{ID: "sub-4", CIDR: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1"), IPVersion: 4, EnableDHCP: true},
				{ID: "sub-6", CIDR: netip.MustParsePrefix("fd00:1::/64"), IPVersion: 6},
			},
		}}},
		netns: netns,
	}
	r.a = &Attacher{Switch: r.sw, Links: r.links, Cloud: r.cl, PID: 1,
		VM:         VM{VIFID: "vif-1", MAC: "fa:16:3e:00:00:01", Bridge: "br-vm", DatapathType: "netdev", Uplink: "eth1", UplinkMTU: 1500},
		WaitActive: 200 * time.Millisecond, Poll: 10 * time.Millisecond}
	return r
}

func (r *rig) empty(t *testing.T) {
	t.Helper()
	if len(r.sw.ports) != 0 || len(r.links.links) != 0 || len(r.cl.ports) != 0 {
		t.Errorf("left behind: ovs=%v links=%v neutron=%v", r.sw.ports, r.links.links, r.cl.ports)
	}
}

func TestAttachDetach(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	want := Attachment{
		PortName: "ovdv1", Bridge: "br-vm", VLAN: 1, ContainerID: "c1", NetnsPath: r.netns, IfName: "eth0",
		NetworkID: "net-1", NetworkName: "LS1", PortID: "port-1", MAC: "fa:16:3e:00:01:01",
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.1.0.3/24"), netip.MustParsePrefix("fd00:1::3/64")},
		Gateways:  []netip.Addr{netip.MustParseAddr("10.1.0.1")}, MTU: 1442, Status: "ACTIVE", State: "ready",
	}
	if d := cmp.Diff(want, at, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); d != "" {
		t.Errorf("attachment (-want +got):\n%s", d)
	}
	cfg := r.links.links["ovdv1"]
	if cfg.Name != "eth0" || !cfg.DisableTxChecksum || cfg.MTU != 1442 {
		t.Errorf("iface config %+v", cfg)
	}
	p := r.cl.ports["port-1"]
	if p.ParentName != "vif-1" || p.Tag != 1 || p.DeviceID != "c1" {
		t.Errorf("port %+v", p)
	}
	ids := r.sw.ports["ovdv1"].ExternalIDs
	if ids[KeyPort] != "port-1" || ids[KeyState] != "ready" || ids[KeyPID] != "" {
		t.Errorf("external_ids %v", ids)
	}
	// A second attach gets the next VLAN; in the same namespace it gets no
	// default route (the first interface has it).
	at2, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, IfName: "eth1", Network: "net-1", ContainerID: "c2"})
	if err != nil || at2.VLAN != 2 {
		t.Fatalf("second attach: %v %+v", err, at2)
	}
	if g := r.links.links["ovdv2"].Gateways; len(g) != 0 {
		t.Errorf("second interface of a namespace got gateways %v", g)
	}
	list, err := r.a.List(ctx, true)
	if err != nil || len(list) != 2 || list[0].Status != "ACTIVE" || len(list[1].Addresses) != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
	r.links.deleted = nil
	for _, c := range []string{"c1", "c2"} {
		if n, err := r.a.Detach(ctx, Selector{ContainerID: c}); err != nil || n != 1 {
			t.Fatalf("detach %s: %d %v", c, n, err)
		}
	}
	// Each veth is deleted once (a second delete was a no-op, and logged
	// twice under --debug).
	if d := cmp.Diff([]string{"ovdv1", "ovdv2"}, r.links.deleted); d != "" {
		t.Errorf("veths deleted by detach (-want +got):\n%s", d)
	}
	if n, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil || n != 0 {
		t.Fatalf("detach is idempotent: %d %v", n, err)
	}
	r.empty(t)
}

func TestAttachRollback(t *testing.T) {
	for _, mode := range []PortMode{ModeBindingProfile, ModeTrunk} {
		t.Run(string(mode), func(t *testing.T) { testAttachRollback(t, mode) })
	}
}

func testAttachRollback(t *testing.T, mode PortMode) {
	type testCase struct {
		name  string
		setup func(r *rig)
		req   func(r *rig) Request
		want  error
	}
	var modal []testCase
	if mode == ModeTrunk {
		modal = []testCase{
			// Only subports are reported ACTIVE by real Neutron.
			{"port never active", func(r *rig) { r.cl.status = "DOWN" }, nil, ErrNotActive},
			{"subport refused", func(r *rig) { r.cl.addErr = cloud.ErrForbidden }, nil, cloud.ErrForbidden},
		}
	}
	for _, tc := range append(modal, []testCase{
		{"veth fails", func(r *rig) { r.links.createErr = errors.New("boom") }, nil, nil},
		{"neutron refuses", func(r *rig) { r.cl.createErr = cloud.ErrForbidden }, nil, cloud.ErrForbidden},
		{"interface not up", func(r *rig) { r.sw.upErr = errors.New("timeout") }, nil, nil},
		{"data path dead", func(r *rig) { r.links.probeErr = errors.New("no DHCP reply") }, nil, ErrNoDataPath},
		{"mtu too big", func(r *rig) { r.a.VM.UplinkMTU = 1400 }, nil, ErrMTU},
		{"unknown network", nil, func(r *rig) Request { return Request{NetnsPath: r.netns, Network: "nope"} }, cloud.ErrNotFound},
		{"no netns", nil, func(r *rig) Request { return Request{NetnsPath: "/nonexistent/ns", Network: "LS1"} }, ErrNoNetns},
	}...) {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.a.Mode = mode
			r.cl.EnsureTrunk(context.Background(), "vif-1", TrunkName) // kept: not this attach's
			if tc.setup != nil {
				tc.setup(r)
			}
			req := Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}
			if tc.req != nil {
				req = tc.req(r)
			}
			_, err := r.a.Attach(context.Background(), req)
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			r.empty(t)
		})
	}
}

func TestGC(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "alive"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "dead"}); err != nil {
		t.Fatal(err)
	}
	// A crashed attach: VLAN claimed by a process that is gone, no port.
	if _, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyNetns: r.netns, KeyVIF: "vif-1", KeyState: stateAttaching, KeyPID: "999999999"}, nil); err != nil {
		t.Fatal(err)
	}
	// An attach in progress (this process): left alone.
	if _, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyNetns: r.netns, KeyVIF: "vif-1", KeyState: stateAttaching, KeyPID: "1"}, nil); err != nil {
		t.Fatal(err)
	}
	// A Neutron child port of this VM with no access port.
	if _, err := r.cl.CreateChildPort(ctx, cloud.ChildPortOpts{NetworkID: "net-1", ParentID: "vif-1", Tag: 77}); err != nil {
		t.Fatal(err)
	}
	// Another VM's child port: not ours.
	if _, err := r.cl.CreateChildPort(ctx, cloud.ChildPortOpts{NetworkID: "net-1", ParentID: "vif-2", Tag: 77}); err != nil {
		t.Fatal(err)
	}
	// A young orphan is left alone.
	young, err := r.cl.CreateChildPort(ctx, cloud.ChildPortOpts{NetworkID: "net-1", ParentID: "vif-1", Tag: 78})
	if err != nil {
		t.Fatal(err)
	}
	r.cl.setCreated(young.ID, time.Now())
	rep, err := r.a.GC(ctx, func(_ context.Context, at Attachment) (bool, error) { return at.ContainerID == "alive", nil }, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := GCReport{Detached: []string{"ovdv2", "ovdv3"}, OrphanedPorts: []string{"port-3"}}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("gc report (-want +got):\n%s", d)
	}
	if len(r.sw.ports) != 2 || len(r.cl.ports) != 3 {
		t.Errorf("after gc: ovs=%v neutron=%v", r.sw.ports, r.cl.ports)
	}
}

func TestDiscoverVM(t *testing.T) {
	r := newRig(t)
	r.cl.ports = map[string]cloud.Port{"vm-port": {ID: "vm-port", MAC: []byte{0xfa, 0x16, 0x3e, 0, 0, 1}}}
	vm, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "", "ovdv")
	if err != nil {
		t.Fatal(err)
	}
	want := VM{VIFID: "vm-port", MAC: "fa:16:3e:00:00:01", MACChecked: true, Bridge: "br-vm", DatapathType: "netdev", Uplink: "eth1", UplinkMTU: 1500}
	if d := cmp.Diff(want, vm); d != "" {
		t.Errorf("vm (-want +got):\n%s", d)
	}
	if _, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "vm-port", "ovdv"); err != nil {
		t.Errorf("given vif-id: %v", err)
	}
	if _, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "other", "ovdv"); !errors.Is(err, ErrNoVIF) {
		t.Errorf("unknown vif-id: want ErrNoVIF, got %v", err)
	}
	if _, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "br-x", "", "ovdv"); err == nil {
		t.Error("want an error for an unknown bridge")
	}
	r.cl.ports = nil
	if _, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "", "ovdv"); !errors.Is(err, ErrNoVIF) {
		t.Errorf("want ErrNoVIF, got %v", err)
	}
}

// openAndProve: which failure it reports.
func TestOpenAndProveNamesTheCause(t *testing.T) {
	mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 2}
	ip := netip.MustParseAddr("10.1.0.5")
	for _, tc := range []struct {
		name     string
		setup    func(r *rig)
		wantText string // "" for success
		errIs    error
	}{
		{"open and answered", nil, "", nil},
		{"never opened", func(r *rig) { r.sw.upErr = errors.New("timeout") }, "OVS did not bring up ovd1", nil},
		{"opened, not answered", func(r *rig) { r.links.probeFailures = 1000 }, "got no answer from the network's DHCP", ErrNoDataPath},
		{"nothing to probe, never opened", func(r *rig) { r.sw.upErr = errors.New("timeout") }, "OVS did not bring up ovd1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			probeIP := ip
			if strings.HasPrefix(tc.name, "nothing to probe") {
				probeIP = netip.Addr{}
			}
			if tc.setup != nil {
				tc.setup(r)
			}
			err := r.a.openAndProve(context.Background(), Request{NetnsPath: r.netns, IfName: "eth0"}, "ovd1", "port-1", mac, probeIP)
			switch {
			case tc.wantText == "" && err != nil:
				t.Fatalf("want success, got %v", err)
			case tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
				t.Fatalf("want an error with %q, got %v", tc.wantText, err)
			case tc.errIs != nil && !errors.Is(err, tc.errIs):
				t.Fatalf("want %v, got %v", tc.errIs, err)
			}
		})
	}
}
