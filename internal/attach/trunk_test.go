package attach

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func newTrunkRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t)
	r.a.Mode = ModeTrunk
	return r
}

// requestsSince: the Neutron writes made since the i-th.
func (r *rig) requestsSince(i int) []string {
	r.cl.mu.Lock()
	defer r.cl.mu.Unlock()
	return slices.Clone(r.cl.requests[i:])
}

// The first attach makes the VM port a trunk's parent, adds its port as a
// subport with the claimed VLAN; later attaches (other processes) reuse
// the trunk without asking Neutron for it; detach removes the subport,
// then deletes the port, and leaves the trunk.
func TestTrunkAttachCreatesThenReusesTrunk(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create port " + at.PortID, "create trunk trunk-1", fmt.Sprintf("add subport %s vlan %d", at.PortID, at.VLAN)}
	if d := cmp.Diff(want, r.requestsSince(0)); d != "" {
		t.Errorf("Neutron writes (-want +got):\n%s", d)
	}
	tr := r.cl.trunks["trunk-1"]
	if tr.PortID != "vif-1" || tr.VLANHolder(at.VLAN) != at.PortID || at.Status != "ACTIVE" {
		t.Errorf("trunk %+v, attachment %+v", tr, at)
	}
	p := r.cl.ports[at.PortID]
	if p.Description != childDescription("vif-1", at.PortName) || p.DeviceID != "" {
		t.Errorf("subport %+v: want the child marker naming its claim and no device_id (Neutron refuses subports with one)", p)
	}
	if ids := r.sw.ports[at.PortName].ExternalIDs; ids[KeyTrunk] != "trunk-1" || ids[KeyPort] != at.PortID {
		t.Errorf("access port records %v", ids)
	}

	// Another process: finds the trunk in the VM's OVSDB.
	other := *newRigShared(r)
	calls := r.cl.calls
	at2, err := other.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	if r.cl.trunkMade != 1 || at2.VLAN == at.VLAN {
		t.Errorf("second attach: %d trunks made, VLANs %d and %d", r.cl.trunkMade, at.VLAN, at2.VLAN)
	}
	// find network + subnets (1 in the fake), create port, add subport,
	// polls for ACTIVE: no trunk lookup.
	if got := r.cl.calls - calls; got != 4 {
		t.Errorf("second attach made %d Neutron calls, want 4 (network, port, subport, status)", got)
	}
	n := len(r.cl.requests)
	if _, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"remove subport " + at.PortID, "delete port " + at.PortID}
	if d := cmp.Diff(want, r.requestsSince(n)); d != "" {
		t.Errorf("detach writes (-want +got):\n%s", d)
	}
	if _, err := r.a.Detach(ctx, Selector{ContainerID: "c2"}); err != nil {
		t.Fatal(err)
	}
	r.empty(t)
	if len(r.cl.trunks) != 1 || len(r.cl.trunks["trunk-1"].Subports) != 0 {
		t.Errorf("trunks after detach: %+v", r.cl.trunks)
	}
}

// newRigShared is another Attacher (another process) on the same VM.
func newRigShared(r *rig) *rig {
	o := *r
	o.a = &Attacher{Switch: r.sw, Links: r.links, Cloud: r.cl, PID: 1, VM: r.a.VM, Mode: r.a.Mode,
		WaitActive: r.a.WaitActive, Poll: r.a.Poll, Pool: r.a.Pool}
	return &o
}

// A VM booted on a trunk's parent has its trunk: it is used, not a new one.
func TestTrunkAttachUsesExistingTrunk(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	pre, _ := r.cl.EnsureTrunk(ctx, "vif-1", "nova-made")
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.cl.trunkMade != 1 || r.cl.trunks[pre.ID].VLANHolder(at.VLAN) != at.PortID {
		t.Errorf("trunks %+v", r.cl.trunks)
	}
}

// A recorded trunk deleted since: the attach finds or makes the VM's
// trunk again.
func TestTrunkAttachRecordedTrunkGone(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	delete(r.cl.trunks, "trunk-1")
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c2"})
	if err != nil {
		t.Fatal(err)
	}
	if r.cl.trunks["trunk-2"].VLANHolder(at.VLAN) != at.PortID {
		t.Errorf("trunks %+v", r.cl.trunks)
	}
}

// Neutron holds VLANs under the VM's port that its OVS does not know of
// (someone else's children): the attach moves on to a VLAN Neutron does
// not hold, leaves no claim behind, and gc reports those children without
// deleting them.
func TestVLANMovesOnWhenNeutronHoldsIt(t *testing.T) {
	for _, mode := range []PortMode{ModeBindingProfile, ModeTrunk} {
		t.Run(string(mode), func(t *testing.T) {
			r := newRig(t)
			r.a.Mode = mode
			ctx := context.Background()
			var foreign []string
			for _, tag := range []int{1, 2} {
				var p cloud.Port
				if mode == ModeTrunk {
					tr, _ := r.cl.EnsureTrunk(ctx, "vif-1", "x")
					p, _ = r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Name: "someone-elses"})
					if err := r.cl.AddSubport(ctx, tr.ID, p.ID, tag); err != nil {
						t.Fatal(err)
					}
				} else {
					var err error
					if p, err = r.cl.CreateChildPort(ctx, cloud.ChildPortOpts{NetworkID: "net-1", Name: "someone-elses", ParentID: "vif-1", Tag: tag}); err != nil {
						t.Fatal(err)
					}
					p.DeviceOwner = "" // not the plugin's
					r.cl.ports[p.ID] = p
				}
				foreign = append(foreign, fmt.Sprintf("%s (VLAN %d)", p.ID, tag))
			}
			at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			if at.VLAN != 3 {
				t.Errorf("attached with VLAN %d, want 3 (1 and 2 are held in Neutron)", at.VLAN)
			}
			if len(r.sw.ports) != 1 || r.sw.ports[at.PortName].VLAN != 3 || r.cl.ports[at.PortID].Tag != 3 {
				t.Errorf("access ports %v, port %+v", r.sw.ports, r.cl.ports[at.PortID])
			}
			for id := range r.cl.ports {
				r.cl.setCreated(id, time.Now().Add(-time.Hour))
			}
			rep, err := r.a.GC(ctx, func(context.Context, Attachment) (bool, error) { return true, nil }, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(rep.ForeignChildren)
			slices.Sort(foreign)
			if d := cmp.Diff(GCReport{ForeignChildren: foreign}, rep); d != "" {
				t.Errorf("gc report (-want +got):\n%s", d)
			}
			if len(r.cl.ports) != 3 {
				t.Errorf("gc deleted ports: %v", r.cl.ports)
			}
		})
	}
}

// Many VLANs held on the trunk: one refusal teaches the attach all of
// them (the trunk's sub_ports), so it moves once, past all of them.
func TestVLANMovesPastAllHeld(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	tr, _ := r.cl.EnsureTrunk(ctx, "vif-1", "x")
	for tag := 1; tag <= maxVLANMoves+1; tag++ {
		p, _ := r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Name: "someone-elses"})
		if err := r.cl.AddSubport(ctx, tr.ID, p.ID, tag); err != nil {
			t.Fatal(err)
		}
	}
	before, n := len(r.cl.ports), len(r.cl.requests)
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if at.VLAN != maxVLANMoves+2 {
		t.Errorf("VLAN %d, want %d", at.VLAN, maxVLANMoves+2)
	}
	if len(r.cl.ports) != before+1 || len(r.sw.ports) != 1 {
		t.Errorf("ports: neutron %d (before %d), ovs %v", len(r.cl.ports), before, r.sw.ports)
	}
	if got := r.requestsSince(n); len(got) != 2 {
		t.Errorf("writes %v: want the port's creation and one add_subports that worked", got)
	}
}

// A failed attach in trunk mode undoes only what it made, newest first:
// its subport, then its port; the trunk and other subports stay.
func TestTrunkRollbackRemovesOnlyItsOwn(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	tr, _ := r.cl.EnsureTrunk(ctx, "vif-1", "x")
	other, _ := r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Name: "someone-elses"})
	if err := r.cl.AddSubport(ctx, tr.ID, other.ID, 7); err != nil {
		t.Fatal(err)
	}
	r.links.probeErr = errors.New("no DHCP reply")
	n := len(r.cl.requests)
	_, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if !errors.Is(err, ErrNoDataPath) {
		t.Fatalf("attach: %v, want ErrNoDataPath", err)
	}
	got := r.requestsSince(n)
	if len(got) != 4 || !strings.HasPrefix(got[0], "create port ") || !strings.HasPrefix(got[1], "add subport ") {
		t.Fatalf("writes %v", got)
	}
	id := strings.TrimPrefix(got[0], "create port ")
	if d := cmp.Diff([]string{"remove subport " + id, "delete port " + id}, got[2:]); d != "" {
		t.Errorf("rollback (-want +got):\n%s", d)
	}
	if len(r.cl.ports) != 1 || r.cl.trunks[tr.ID].VLANHolder(7) != other.ID || len(r.sw.ports) != 0 || len(r.links.links) != 0 {
		t.Errorf("after rollback: neutron %v, trunk %+v, ovs %v, links %v", r.cl.ports, r.cl.trunks[tr.ID], r.sw.ports, r.links.links)
	}
}

// The pool in trunk mode holds ready subports; taking one makes no
// Neutron call; draining removes each subport before deleting its port.
func TestPoolOfSubports(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 3); err != nil {
		t.Fatal(err)
	}
	tr := r.cl.trunks["trunk-1"]
	if r.cl.trunkMade != 1 || len(tr.Subports) != 3 {
		t.Fatalf("trunks %+v", r.cl.trunks)
	}
	for _, e := range r.sw.ports {
		if id := e.ExternalIDs[KeyPort]; tr.VLANHolder(e.VLAN) != id || e.ExternalIDs[KeyTrunk] != tr.ID {
			t.Errorf("entry %s (VLAN %d, port %s) is not its subport: %+v", e.Name, e.VLAN, id, tr.Subports)
		}
	}
	calls := r.cl.calls
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if r.cl.calls != calls {
		t.Errorf("attach from the pool made %d Neutron calls", r.cl.calls-calls)
	}
	n := len(r.cl.requests)
	if _, err := r.a.DrainPool(ctx, "LS1"); err != nil {
		t.Fatal(err)
	}
	got := r.requestsSince(n)
	if len(got) != 4 {
		t.Fatalf("drain writes %v", got)
	}
	for i := 0; i < len(got); i += 2 {
		id := strings.TrimPrefix(got[i], "remove subport ")
		if got[i+1] != "delete port "+id {
			t.Errorf("drain writes %v: want each subport removed, then its port deleted", got)
		}
	}
}

// A vif-id of another VM of the same project is refused up front, naming
// both MACs.
func TestDiscoverVMRefusesOtherVMsPort(t *testing.T) {
	r := newRig(t)
	other := net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 2}
	r.cl.ports = map[string]cloud.Port{
		"vm-port":  {ID: "vm-port", MAC: net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 1}},
		"vm2-port": {ID: "vm2-port", MAC: other},
	}
	_, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "vm2-port", "ovd")
	if !errors.Is(err, ErrVIFMismatch) {
		t.Fatalf("another VM's port: %v, want ErrVIFMismatch", err)
	}
	for _, s := range []string{"vm2-port", other.String(), "br-vm (fa:16:3e:00:00:01)", "openstack port list --mac-address fa:16:3e:00:00:01"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	vm, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "vm-port", "ovd")
	if err != nil || vm.MAC != "fa:16:3e:00:00:01" {
		t.Errorf("own port: %+v, %v", vm, err)
	}
}

func TestParsePortMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode PortMode
		auto bool
		ok   bool
	}{
		{"", "", true, true}, {"auto", "", true, true},
		{"trunk", ModeTrunk, false, true}, {"binding-profile", ModeBindingProfile, false, true},
		{"vlan", "", false, false},
	} {
		mode, auto, err := ParsePortMode(tc.in)
		if mode != tc.mode || auto != tc.auto || (err == nil) != tc.ok {
			t.Errorf("ParsePortMode(%q) = %q, %v, %v", tc.in, mode, auto, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.in) {
			t.Errorf("error %q does not name %q", err, tc.in)
		}
	}
}

// A VM port MAC recorded on the bridge (by an earlier command that asked
// Neutron) is trusted without asking again, but only if it is still the
// VM NIC's.
func TestDiscoverVMTrustsRecordedMAC(t *testing.T) {
	r := newRig(t)
	r.sw.bridges[0].ExternalIDs = map[string]string{KeyVIFMACPrefix + "vm-port": "fa:16:3e:00:00:01", KeyVIFMACPrefix + "stale": "fa:16:3e:00:00:09"}
	vm, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "vm-port", "ovd")
	if err != nil || vm.MAC != "fa:16:3e:00:00:01" || vm.MACChecked || r.cl.calls != 0 {
		t.Errorf("recorded MAC: %+v, %v, %d Neutron calls", vm, err, r.cl.calls)
	}
	if _, err := DiscoverVM(context.Background(), r.sw, r.links, r.cl, "", "stale", "ovd"); !errors.Is(err, ErrNoVIF) {
		t.Errorf("a recorded MAC that is not the NIC's: %v, want Neutron asked (ErrNoVIF here)", err)
	}
}

// The trunk found or made is recorded on the bridge: the next process
// uses it without looking for it.
func TestTrunkRecordedOnBridge(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if got := r.sw.brIDs[KeyTrunkPrefix+"vif-1"]; got != "trunk-1" {
		t.Fatalf("bridge records trunk %q", got)
	}
	other := newRigShared(r)
	calls := r.cl.calls
	if _, err := other.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c2"}); err != nil {
		t.Fatal(err)
	}
	if got := r.cl.calls - calls; got != 4 || r.cl.trunkMade != 1 {
		t.Errorf("attach made %d Neutron calls (want 4: network, port, subport, status) and %d trunks", got, r.cl.trunkMade)
	}
}

// Real Neutron hides a subport's binding:profile from its owner: the
// health check takes the VLAN from the trunk, and notices when the trunk
// holds the VLAN for another port.
func TestCheckSubportVLANOnTrunk(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	p := r.cl.ports[at.PortID]
	p.ParentName, p.Tag = "", 0 // as a member sees a subport
	r.cl.ports[at.PortID] = p
	ap := r.sw.ports[at.PortName]
	ap.OFPort = 1 // opened by ovs-vswitchd
	r.sw.ports[at.PortName] = ap
	problems, err := r.a.Check(ctx, at, r.netns)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("healthy subport: problems %q", problems)
	}
	tr := r.cl.trunks["trunk-1"]
	for i := range tr.Subports {
		if tr.Subports[i].PortID == at.PortID {
			tr.Subports[i].PortID = "someone-else"
		}
	}
	r.cl.trunks["trunk-1"] = tr
	problems, err = r.a.Check(ctx, at, r.netns)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("Neutron port is not the subport with VLAN %d of trunk trunk-1 (OVS port %s)", at.VLAN, at.PortName)}
	if d := cmp.Diff(want, problems); d != "" {
		t.Errorf("problems (-want +got):\n%s", d)
	}
}

// A port create sent by an attach that was killed moments ago completes in
// Neutron after gc has started: gc waits for it (createSettle from the
// claim) and deletes it in the same run, even with the default grace; a
// port of a claim still held (an attach in progress) is left alone.
func TestGCWaitsForCreateInFlight(t *testing.T) {
	r := newTrunkRig(t)
	ctx := context.Background()
	const wait = 300 * time.Millisecond
	claimed := strconv.FormatInt(time.Now().Add(wait-createSettle).UnixMilli(), 10)
	dead, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyVIF: "vif-1", KeyNetwork: "net-1",
		KeyNetns: "/proc/999999999/ns/net", KeyState: stateAttaching, KeyPID: "999999999", KeyClaimed: claimed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	live, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{KeyVIF: "vif-1", KeyNetwork: "net-1",
		KeyNetns: r.netns, KeyState: stateAttaching, KeyPID: strconv.Itoa(os.Getpid()), KeyClaimed: claimedNow()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	inProgress, err := r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Name: "c2", Description: childDescription("vif-1", live.Name)})
	if err != nil {
		t.Fatal(err)
	}
	late := make(chan string, 1)
	go func() {
		time.Sleep(wait / 2) // the killed attach's request completes now
		p, _ := r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Name: "c1", Description: childDescription("vif-1", dead.Name)})
		late <- p.ID
	}()
	start := time.Now()
	rep, err := r.a.GC(ctx, NetnsAlive, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < wait/2 {
		t.Errorf("GC took %v: it did not wait for the create in flight", took)
	}
	orphan := <-late
	if diff := cmp.Diff([]string{orphan}, rep.OrphanedPorts); diff != "" {
		t.Errorf("deleted Neutron ports (-want +got):\n%s", diff)
	}
	r.cl.mu.Lock()
	defer r.cl.mu.Unlock()
	if _, ok := r.cl.ports[inProgress.ID]; !ok {
		t.Errorf("the port of an attach in progress (%s) was deleted", inProgress.ID)
	}
	if _, ok := r.sw.ports[dead.Name]; ok {
		t.Errorf("the dead claim %s is still there", dead.Name)
	}
}
