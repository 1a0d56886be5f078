package attach

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func TestEngineReservePlugUnplugFree(t *testing.T) {
	r := newRig(t)
	r.a.Pool = r.sw
	ctx := context.Background()
	e, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-1"})
	if err != nil {
		t.Fatal(err)
	}
	if e.State != stateReserved || e.Ref != "ref-1" || e.PortID == "" || e.Config.MTU != 1442 || len(e.Config.Addresses) == 0 {
		t.Fatalf("reserved entry %+v", e)
	}
	if len(r.links.links) != 0 {
		t.Errorf("Reserve made links: %v", r.links.links)
	}
	if _, err := r.a.Plug(ctx, "ep-1"); !errors.Is(err, ErrNoEntry) {
		t.Errorf("Plug of an endpoint never created: %v, want ErrNoEntry", err)
	}
	if _, err := r.a.SetEndpoint(ctx, "ref-1", "ep-1"); err != nil {
		t.Fatal(err)
	}
	p, err := r.a.Plug(ctx, "ep-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.Peer != PeerName(e.PortName) || p.State != stateReady || p.Endpoint != "ep-1" {
		t.Errorf("plugged entry %+v", p)
	}
	// The free end: the port's MAC and MTU, TX checksum off, no address
	// (the engine sets it in the container).
	want := IfaceConfig{Name: p.Peer, MAC: e.Config.MAC, MTU: 1442, DisableTxChecksum: true}
	if diff := cmp.Diff(map[string]IfaceConfig{e.PortName: want}, r.links.links); diff != "" {
		t.Errorf("veth (-want +got):\n%s", diff)
	}
	// The data path is proven from the free end, in the VM.
	if diff := cmp.Diff([]string{ownNetns + "/" + p.Peer + "/" + e.Config.MAC.String() + "/" + e.Config.Addresses[0].Addr().String()}, r.links.probes); diff != "" {
		t.Errorf("probes (-want +got):\n%s", diff)
	}
	// Then its addresses are announced from there, before the engine
	// set them on the interface.
	if diff := cmp.Diff([]string{fmt.Sprint(ownNetns+"/"+p.Peer+"/"+e.Config.MAC.String(), addrsOf(e.Config.Addresses))}, r.links.announced); diff != "" {
		t.Errorf("announced (-want +got):\n%s", diff)
	}
	if err := r.a.Unplug(ctx, "ep-1"); err != nil {
		t.Fatal(err)
	}
	if len(r.links.links) != 0 {
		t.Errorf("Unplug left links: %v", r.links.links)
	}
	es, err := r.a.EngineEntries(ctx)
	if err != nil || len(es) != 1 || es[0].State != stateReserved || es[0].Endpoint != "" {
		t.Fatalf("after Unplug: %+v, %v", es, err)
	}
	if err := r.a.Unplug(ctx, "ep-1"); err != nil {
		t.Errorf("second Unplug: %v", err)
	}
	if err := r.a.Free(ctx, "ref-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Free(ctx, "ref-1"); err != nil {
		t.Errorf("second Free: %v", err)
	}
	r.empty(t)
}

func TestEnginePlugFailureKeepsReservation(t *testing.T) {
	r := newRig(t)
	r.a.Pool = r.sw
	r.links.probeErr = errors.New("no DHCP reply: " + context.DeadlineExceeded.Error())
	r.links.probeFailures = 1 << 20
	ctx := context.Background()
	if _, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.SetEndpoint(ctx, "ref-1", "ep-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.Plug(ctx, "ep-1"); !errors.Is(err, ErrNoDataPath) {
		t.Fatalf("Plug without a data path: %v, want ErrNoDataPath", err)
	}
	if len(r.links.links) != 0 {
		t.Errorf("a failed Plug left links: %v", r.links.links)
	}
	es, _ := r.a.EngineEntries(ctx)
	if len(es) != 1 || es[0].State != stateReserved {
		t.Errorf("after a failed Plug: %+v, want the reservation kept", es)
	}
	if err := r.a.Free(ctx, "ref-1"); err != nil {
		t.Fatal(err)
	}
	r.empty(t)
}

func TestEngineReserveFromPool(t *testing.T) {
	r := newPoolRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	ports := len(r.cl.ports)
	e, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.cl.ports) != ports {
		t.Errorf("Reserve with a ready pool port made a Neutron port")
	}
	if diff := cmp.Diff([]PoolStatus{{NetworkID: "net-1", Network: "LS1", InUse: 1, Target: 1}}, r.status(t)); diff != "" {
		t.Errorf("pool while reserved (-want +got):\n%s", diff)
	}
	// An address asked for is Neutron's to give: not from the pool.
	if _, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-2", IP: netip.MustParseAddr("10.1.0.77")}); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Free(ctx, "ref-2"); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Free(ctx, e.Ref); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]PoolStatus{{NetworkID: "net-1", Network: "LS1", Ready: 1, Target: 1}}, r.status(t)); diff != "" {
		t.Errorf("pool after Free (-want +got):\n%s", diff)
	}
	es, _ := r.a.EngineEntries(ctx)
	if len(es) != 0 {
		t.Errorf("engine entries left: %+v", es)
	}
}

// A daemon killed while its reservation's port create was under way in
// the cloud: the restarted daemon frees the claim at once (its process is
// dead), and the port, completed afterwards with no claim to record it,
// is deleted once the create has settled. A port whose claim lives on is
// left alone.
func TestEngineFreeIfThenFreeOrphans(t *testing.T) {
	r := newTrunkRig(t)
	r.a.Pool = r.sw
	ctx := context.Background()
	// A live reservation of this process, for contrast.
	live, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-live"})
	if err != nil {
		t.Fatal(err)
	}
	// The killed daemon's: claimed, port not yet recorded.
	claimed := time.Now()
	dead, err := r.sw.ClaimVLAN(ctx, "br-vm", map[string]string{
		KeyNetwork: "net-1", KeyVIF: "vif-1", KeyProject: "proj-1", KeyState: stateReserving,
		KeyPID: "999999999@1", KeyEngineRef: "ref-dead", KeyClaimed: strconv.FormatInt(claimed.UnixMilli(), 10),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its create completes in the cloud, as a subport, after the kill.
	orphan, err := r.cl.CreatePort(ctx, cloud.PortOpts{NetworkID: "net-1", Description: childDescription("vif-1", dead.Name)})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := r.cl.FindTrunk(ctx, "vif-1")
	if err := r.cl.AddSubport(ctx, tr.ID, orphan.ID, dead.VLAN); err != nil {
		t.Fatal(err)
	}

	freed, err := r.a.FreeIf(ctx, func(e Entry) bool { return e.Ref == "ref-live" })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{dead.Name}, freed.Ports); diff != "" {
		t.Errorf("freed (-want +got):\n%s", diff)
	}
	if want := claimed.Add(createSettle); freed.Settle.Before(want.Add(-time.Second)) || freed.Settle.After(want.Add(time.Second)) {
		t.Errorf("settle %v, want %v (the claim plus %v)", freed.Settle, want, createSettle)
	}
	if _, ok := r.sw.ports[dead.Name]; ok {
		t.Errorf("the dead claim %s is still there", dead.Name)
	}

	deleted, err := r.a.FreeOrphans(ctx, freed.Ports)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{orphan.ID}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if _, ok := r.cl.ports[orphan.ID]; ok {
		t.Errorf("orphan port %s left", orphan.ID)
	}
	tr, _ = r.cl.FindTrunk(ctx, "vif-1")
	if h := tr.VLANHolder(dead.VLAN); h != "" {
		t.Errorf("VLAN %d still held on the trunk by %s", dead.VLAN, h)
	}
	if _, ok := r.cl.ports[live.PortID]; !ok {
		t.Errorf("the live reservation's port %s was deleted", live.PortID)
	}
	if err := r.a.Free(ctx, "ref-live"); err != nil {
		t.Fatal(err)
	}
	r.empty(t)
}
