package attach

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func newPoolRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t)
	r.a.Pool = r.sw
	r.a.Mode = ModeTrunk // the pool holds ready subports
	return r
}

func (r *rig) status(t *testing.T) []PoolStatus {
	t.Helper()
	st, err := r.a.PoolStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (r *rig) newNetns(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPoolFillAttachReturn(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	st, err := r.a.FillPool(ctx, "LS1", nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(PoolStatus{NetworkID: "net-1", Network: "LS1", Ready: 2, Target: 2}, st); d != "" {
		t.Errorf("fill (-want +got):\n%s", d)
	}
	for _, p := range r.cl.ports {
		if p.Name != PoolPortName || p.DeviceID != "" || p.ParentName != "vif-1" {
			t.Errorf("pool port %+v", p)
		}
	}
	// Filling again to the same size makes nothing.
	writes := len(r.cl.requests)
	if _, err := r.a.FillPool(ctx, "LS1", nil, 2); err != nil || len(r.cl.ports) != 2 {
		t.Fatalf("refill: %v, %d ports", err, len(r.cl.ports))
	}
	if w := r.cl.requests[writes:]; len(w) != 0 {
		t.Errorf("refill to the same size wrote %v", w)
	}

	// An attach from the pool asks Neutron nothing.
	calls := r.cl.calls
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.cl.calls != calls {
		t.Errorf("attach from the pool made %d Neutron calls", r.cl.calls-calls)
	}
	if d := cmp.Diff([]string{fmt.Sprint(r.netns+"/eth0/"+at.MAC, addrsOf(at.Addresses))}, r.links.announced); d != "" {
		t.Errorf("announced (-want +got):\n%s", d)
	}
	p, ok := r.cl.ports[at.PortID]
	if !ok || at.Status != "ACTIVE" || at.MAC != p.MAC.String() || len(at.Addresses) != 2 || len(at.Gateways) != 1 || at.MTU != 1442 || at.NetworkName != "LS1" {
		t.Errorf("attachment %+v of port %+v", at, p)
	}
	if cfg := r.links.links[at.PortName]; cfg.MAC.String() != p.MAC.String() || cfg.Name != "eth0" || !cfg.DisableTxChecksum {
		t.Errorf("veth config %+v", cfg)
	}
	if d := cmp.Diff([]PoolStatus{{NetworkID: "net-1", Network: "LS1", Ready: 1, InUse: 1, Target: 2}}, r.status(t)); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	list, err := r.a.List(ctx, false)
	if err != nil || len(list) != 1 || list[0].ContainerID != "c1" {
		t.Errorf("List shows attachments only: %v %+v", err, list)
	}

	// Detach gives it back (below target): the same Neutron port, renewed.
	if n, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil || n != 1 {
		t.Fatalf("detach: %d %v", n, err)
	}
	if _, ok := r.cl.ports[at.PortID]; !ok || len(r.cl.ports) != 2 || r.sw.renewed != 1 || len(r.links.links) != 0 {
		t.Errorf("after detach: ports %v, renewed %d, links %v", r.cl.ports, r.sw.renewed, r.links.links)
	}
	if d := cmp.Diff([]PoolStatus{{NetworkID: "net-1", Network: "LS1", Ready: 2, Target: 2}}, r.status(t)); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}

	// Three attaches: two from the pool, one made (pool-style, as the
	// network has a pool).
	var ats []Attachment
	for i := range 3 {
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, fmt.Sprint(i)), Network: "net-1", ContainerID: "d" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ats = append(ats, at)
	}
	if len(r.cl.ports) != 3 {
		t.Errorf("%d Neutron ports, want 3", len(r.cl.ports))
	}
	// Detaching all three: two go back, the third is beyond target.
	for i := range 3 {
		if _, err := r.a.Detach(ctx, Selector{ContainerID: "d" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.cl.ports) != 2 || len(r.sw.ports) != 2 {
		t.Errorf("after detaching beyond target: %d Neutron ports, %d OVS ports, want 2", len(r.cl.ports), len(r.sw.ports))
	}

	// Drain: nothing left, target cleared; a detach then deletes.
	if n, err := r.a.DrainPool(ctx, "LS1"); err != nil || n != 2 {
		t.Fatalf("drain: %d %v", n, err)
	}
	r.empty(t)
	if st := r.status(t); len(st) != 0 {
		t.Errorf("status after drain: %+v", st)
	}
}

func TestPoolNotForOtherProjectOrNetwork(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	for name, ap := range r.sw.ports {
		ap.ExternalIDs[KeyProject] = "other"
		r.sw.ports[name] = ap
	}
	if r.a.HasPoolPort(ctx, "LS1", nil) {
		t.Error("another project's pool port is offered")
	}
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.cl.ports) != 2 || r.cl.ports[at.PortID].Name != PoolPortName {
		t.Errorf("want a new (pool-style) port, got %+v", r.cl.ports)
	}
}

func TestPoolConcurrentAttachesTakeDistinctPorts(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	const n = 8
	if _, err := r.a.FillPool(ctx, "LS1", nil, n); err != nil {
		t.Fatal(err)
	}
	calls := r.cl.calls
	var wg sync.WaitGroup
	ports := make([]string, n)
	for i := range n {
		ns := r.newNetns(t, fmt.Sprint(i))
		wg.Go(func() {
			at, err := r.a.Attach(ctx, Request{NetnsPath: ns, Network: "LS1", ContainerID: fmt.Sprint(i)})
			if err != nil {
				t.Error(err)
			}
			ports[i] = at.PortID
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Errorf("port %s taken twice", p)
		}
		seen[p] = true
	}
	if r.cl.calls != calls || len(r.cl.ports) != n {
		t.Errorf("%d Neutron calls, %d ports: want none made", r.cl.calls-calls, len(r.cl.ports))
	}
}

func TestPoolRollbackReturnsPort(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(r *rig)
		wantReady  int
		wantRenews int
	}{
		{"veth fails", func(r *rig) { r.links.createErr = errors.New("boom") }, 1, 1},
		{"interface not up", func(r *rig) { r.sw.upErr = errors.New("timeout") }, 1, 1},
		// Returning fails too: the port is deleted, nothing half-made.
		{"renew fails", func(r *rig) { r.sw.upErr, r.sw.renewErr = errors.New("timeout"), errors.New("no vswitchd") }, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPoolRig(t)
			ctx := context.Background()
			if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
				t.Fatal(err)
			}
			tc.setup(r)
			if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err == nil {
				t.Fatal("want an error")
			}
			st := r.status(t)
			if len(st) != 1 || st[0].Ready != tc.wantReady || st[0].InUse != 0 || st[0].Pending != 0 || r.sw.renewed != tc.wantRenews {
				t.Errorf("status %+v, renewed %d", st, r.sw.renewed)
			}
			if len(r.links.links) != 0 || len(r.cl.ports) != tc.wantReady || len(r.sw.ports) != tc.wantReady {
				t.Errorf("left: links %v, ports %v, ovs %v", r.links.links, r.cl.ports, r.sw.ports)
			}
		})
	}
}

func TestPoolGC(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 4); err != nil {
		t.Fatal(err)
	}
	set := func(name string, ids map[string]string) {
		setIDs(r.sw.ports[name].ExternalIDs, ids)
	}
	// ovdv1: ready and fine. ovdv2: its Neutron port is gone.
	delete(r.cl.ports, r.sw.ports["ovdv2"].ExternalIDs[KeyPort])
	// ovdv3: a return whose process died.
	set("ovdv3", map[string]string{KeyState: stateReturning, KeyPID: "999999999"})
	// ovdv4: a fill that died after the port was made, before it was
	// recorded (an earlier version recorded it late): its subport, marked
	// as this VM's child, is an orphan.
	orphan := r.sw.ports["ovdv4"].ExternalIDs[KeyPort]
	// (Claimed long ago: no create of it can be in flight any more.)
	set("ovdv4", map[string]string{KeyState: stateFilling, KeyPID: "999999999", KeyPort: "", KeyMAC: "", KeyClaimed: "1"})
	// ovdv5: a fill in progress (this process): left alone.
	if _, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyVIF: "vif-1", KeyNetwork: "net-1", KeyState: stateFilling, KeyPID: "1", KeyPooled: "true"}, nil); err != nil {
		t.Fatal(err)
	}
	// ovdv6: a pool attach whose process died: goes back to the pool.
	if _, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyVIF: "vif-1"}, nil); err != nil {
		t.Fatal(err)
	}
	p, _ := r.cl.CreateChildPort(ctx, cloud.ChildPortOpts{NetworkID: "net-1", Name: PoolPortName, ParentID: "vif-1", Tag: 6})
	d := portData{networkName: "LS1", project: "proj-1", cfg: IfaceConfig{MAC: p.MAC, MTU: 1442, Addresses: nil}}
	ids := d.ids()
	ids[KeyAddresses] = "10.1.0.9/24"
	set("ovdv6", ids)
	set("ovdv6", map[string]string{KeyPort: p.ID, KeyNetwork: "net-1", KeyPooled: "true", KeyState: stateAttaching, KeyPID: "999999999",
		KeyNetns: r.netns, KeyContainer: "gone", KeyIfName: "eth0"})
	// Let orphans be old enough.
	for id := range r.cl.ports {
		r.cl.setCreated(id, time.Now().Add(-time.Hour))
	}
	rep, err := r.a.GC(ctx, func(context.Context, Attachment) (bool, error) { return false, nil }, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := GCReport{Detached: []string{"ovdv6"}, PoolRemoved: []string{"ovdv4", "ovdv2"}, PoolRecovered: []string{"ovdv3"}, OrphanedPorts: []string{orphan}}
	if d := cmp.Diff(want, rep); d != "" {
		t.Errorf("gc report (-want +got):\n%s", d)
	}
	st := r.status(t)
	if len(st) != 1 || st[0].Ready != 3 || st[0].Pending != 1 {
		t.Errorf("status after gc: %+v (want ovdv1, 3, 6 ready and ovdv5 pending)", st)
	}
	// Every ready entry has its Neutron port, and no Neutron port is left
	// without an entry.
	if len(r.cl.ports) != 3 {
		t.Errorf("Neutron ports after gc: %v", r.cl.ports)
	}
}

func TestPoolFillErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(r *rig)
		network string
		size    int
		want    error
	}{
		{"no pool switch", func(r *rig) { r.a.Pool = nil }, "LS1", 1, ErrNoPool},
		{"negative size", nil, "LS1", -1, nil},
		{"too big", nil, "LS1", MaxPoolSize + 1, nil},
		{"no vif", func(r *rig) { r.a.VM.VIFID = "" }, "LS1", 1, ErrNoVIF},
		{"unknown network", nil, "nope", 1, cloud.ErrNotFound},
		{"mtu too big", func(r *rig) { r.a.VM.UplinkMTU = 1400 }, "LS1", 1, ErrMTU},
		{"neutron refuses", func(r *rig) { r.cl.createErr = cloud.ErrForbidden }, "LS1", 2, cloud.ErrForbidden},
		{"never active", func(r *rig) { r.cl.status = "DOWN" }, "LS1", 2, ErrNotActive},
		{"subport refused", func(r *rig) { r.cl.addErr = cloud.ErrForbidden }, "LS1", 2, cloud.ErrForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPoolRig(t)
			if tc.setup != nil {
				tc.setup(r)
			}
			_, err := r.a.FillPool(context.Background(), tc.network, nil, tc.size)
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if len(r.sw.ports) != 0 || len(r.cl.ports) != 0 {
				t.Errorf("left behind: ovs %v, neutron %v", r.sw.ports, r.cl.ports)
			}
		})
	}
}

func TestDiscoverVMTrustsKnownParent(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	// vif-1 is not in the fake Neutron: only the pool's record vouches.
	if _, err := DiscoverVM(ctx, r.sw, r.links, r.cl, "", "vif-1", "ovdv"); err != nil {
		t.Errorf("vif-id with pool ports of this project: %v", err)
	}
	if _, err := DiscoverVM(ctx, r.sw, r.links, r.cl, "", "vif-2", "ovdv"); !errors.Is(err, ErrNoVIF) {
		t.Errorf("other vif-id: %v, want ErrNoVIF", err)
	}
}

// Both the cold and the pool attach probe the data path with the port's
// IPv4 address on the DHCP subnet, before returning; a port without such
// a subnet, or a pool entry recorded before the probe existed, is not
// probed; a failed probe of a pool port gives the port back.
func TestAttachProbesDataPath(t *testing.T) {
	ctx := context.Background()
	probe := func(r *rig, at Attachment) string {
		return r.netns + "/eth0/" + at.MAC + "/" + at.Addresses[0].Addr().String()
	}

	t.Run("cold", func(t *testing.T) {
		r := newRig(t)
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{probe(r, at)}, r.links.probes); d != "" {
			t.Errorf("probes (-want +got):\n%s", d)
		}
	})

	t.Run("cold without DHCP", func(t *testing.T) {
		r := newRig(t)
		r.cl.networks[0].Subnets[0].EnableDHCP = false
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.links.probes) != 0 {
			t.Errorf("probed %v", r.links.probes)
		}
		// Nothing answers a probe there, but the VM end is made sure up.
		if d := cmp.Diff([]string{at.PortName}, r.links.ensured); d != "" {
			t.Errorf("EnsureUp calls (-want +got):\n%s", d)
		}
	})

	t.Run("pool", func(t *testing.T) {
		r := newPoolRig(t)
		if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
			t.Fatal(err)
		}
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{probe(r, at)}, r.links.probes); d != "" {
			t.Errorf("probes (-want +got):\n%s", d)
		}
		if got := r.sw.ports[at.PortName].ExternalIDs[KeyDHCPProbe]; got != at.Addresses[0].Addr().String() {
			t.Errorf("%s = %q", KeyDHCPProbe, got)
		}
	})

	for _, tc := range []struct{ name, value string }{{"pool without DHCP", "none"}, {"pool entry of before", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newPoolRig(t)
			if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
				t.Fatal(err)
			}
			for name := range r.sw.ports {
				if tc.value == "" {
					delete(r.sw.ports[name].ExternalIDs, KeyDHCPProbe)
				} else {
					r.sw.ports[name].ExternalIDs[KeyDHCPProbe] = tc.value
				}
			}
			calls := r.cl.calls
			if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err != nil {
				t.Fatal(err)
			}
			if r.cl.calls != calls {
				t.Errorf("took no pool port: %d Neutron calls", r.cl.calls-calls)
			}
			if len(r.links.probes) != 0 {
				t.Errorf("probed %v", r.links.probes)
			}
		})
	}

	t.Run("VM end down at first", func(t *testing.T) {
		r := newRig(t)
		r.links.probeFailures = 1
		r.a.WaitActive = 5 * probeRound
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff([]string{at.PortName}, r.links.ensured); d != "" {
			t.Errorf("EnsureUp calls (-want +got):\n%s", d)
		}
		if len(r.links.probes) != 2 {
			t.Errorf("probes: %v, want 2", r.links.probes)
		}
	})

	t.Run("probe not possible", func(t *testing.T) {
		r := newRig(t)
		r.links.probeErr = fmt.Errorf("%w: port 68 taken", ErrProbeUnavailable)
		if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err != nil {
			t.Fatalf("attach failed although only the probe was not possible: %v", err)
		}
	})

	t.Run("pool probe fails", func(t *testing.T) {
		r := newPoolRig(t)
		if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
			t.Fatal(err)
		}
		r.links.probeErr = errors.New("no DHCP reply")
		_, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
		if !errors.Is(err, ErrNoDataPath) {
			t.Fatalf("err = %v, want ErrNoDataPath", err)
		}
		if len(r.links.links) != 0 {
			t.Errorf("veths left: %v", r.links.links)
		}
		if st := r.status(t); len(st) != 1 || st[0].Ready != 1 {
			t.Errorf("pool after a failed attach: %+v, want the port back", st)
		}
	})
}

// A caller's tags are on the access port from the claim on, whether the
// port came from the pool or was made, and leave it with the attachment:
// a port back in the pool carries none (the next attachment is not the
// last one's).
func TestTagsLeaveWithTheAttachment(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"ovn-docker:cni-container": "c1", "ovn-docker:cni-network": "pods"}
	pooled, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	other := r.newNetns(t, "other")
	made, err := r.a.Attach(ctx, Request{NetnsPath: other, Network: "LS1", Tags: map[string]string{"ovn-docker:cni-container": "c2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want map[string]string
	}{
		{pooled.PortName, map[string]string{"ovn-docker:cni-container": "c1", "ovn-docker:cni-network": "pods", KeyTags: "ovn-docker:cni-container,ovn-docker:cni-network"}},
		{made.PortName, map[string]string{"ovn-docker:cni-container": "c2", KeyTags: "ovn-docker:cni-container"}},
	} {
		ids := r.sw.ports[tc.name].ExternalIDs
		for k, v := range tc.want {
			if ids[k] != v {
				t.Errorf("OVS port %s: %s=%q, want %q", tc.name, k, ids[k], v)
			}
		}
	}
	for _, netns := range []string{r.netns, other} {
		if _, err := r.a.Detach(ctx, Selector{NetnsPath: netns}); err != nil {
			t.Fatal(err)
		}
	}
	back, ok := r.sw.ports[pooled.PortName]
	if !ok || back.ExternalIDs[KeyState] != statePool {
		t.Fatalf("OVS port %s after detach: %+v, want it back in the pool", pooled.PortName, back)
	}
	for _, k := range []string{"ovn-docker:cni-container", "ovn-docker:cni-network", KeyTags} {
		if v := back.ExternalIDs[k]; v != "" {
			t.Errorf("the pool entry %s still has %s=%q", pooled.PortName, k, v)
		}
	}
}

// A drain while a top-up is making entries has the last word: the entry
// made after it is deleted once made, and the pool keeps no target (the
// daemon's refill then made a pool come back after `pool drain`).
func TestTopUpLosesToADrainMeanwhile(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1"}); err != nil {
		t.Fatal(err) // takes the one entry: the pool is below its target
	}
	drains := 0
	r.cl.onCreate = func() {
		if drains++; drains == 1 {
			if _, err := r.a.DrainPool(ctx, "LS1"); err != nil {
				t.Errorf("drain during the top-up: %v", err)
			}
		}
	}
	if _, err := r.a.TopUpPool(ctx, "LS1", nil); err != nil {
		t.Fatal(err)
	}
	if drains == 0 {
		t.Fatal("the top-up created no port: nothing was tested")
	}
	st, err := r.a.PoolStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Ready != 0 || s.Target != 0 {
			t.Errorf("after a drain during the top-up: %+v, want no ready entry and no target", s)
		}
	}
	// And a top-up of a pool without a target makes nothing.
	creates := drains
	if _, err := r.a.TopUpPool(ctx, "LS1", nil); err != nil || drains != creates {
		t.Errorf("top-up of a drained pool: %v, %d ports created", err, drains-creates)
	}
}
