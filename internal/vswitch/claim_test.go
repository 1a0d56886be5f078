package vswitch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

func TestClaimReleaseSequence(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)

	ids := map[string]string{"ovn-docker:container": "c1"}
	a, err := c.ClaimVLAN(ctx, "br-vm", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := AccessPort{Name: a.Name, Bridge: "br-vm", VLAN: 1,
		ExternalIDs: map[string]string{"ovn-docker:container": "c1", OwnerKey: OwnerValue}}
	if v, err := VLANFromPortName(a.Name); err != nil || v != 1 || len(a.Name) > 15 {
		t.Errorf("first claim's name %q: VLAN %d, %v", a.Name, v, err)
	}
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("first claim (-want +got):\n%s", d)
	}
	if ids[OwnerKey] != "" {
		t.Error("ClaimVLAN modified the caller's map")
	}
	b, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := VLANFromPortName(b.Name); b.VLAN != 2 || v != 2 || err != nil {
		t.Errorf("second claim = %d %s, want VLAN 2 in the name", b.VLAN, b.Name)
	}

	// What ovs-vsctl (another client) sees: tag, both external_ids, membership.
	if got := strings.TrimSpace(vsctl(t, ep, "get", "port", a.Name, "tag")); got != "1" {
		t.Errorf("port %s tag = %q", a.Name, got)
	}
	if got := strings.TrimSpace(vsctl(t, ep, "get", "interface", a.Name, "external_ids:ovn-docker\\:container")); got != `c1` {
		t.Errorf("interface %s external_ids container = %q", a.Name, got)
	}
	if got := strings.Fields(vsctl(t, ep, "list-ports", "br-vm")); cmp.Diff(sorted(a.Name, b.Name), got) != "" {
		t.Errorf("list-ports br-vm = %v", got)
	}

	if err := c.Release(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(vsctl(t, ep, "list-ports", "br-vm")); cmp.Diff([]string{b.Name}, got) != "" {
		t.Errorf("after release, list-ports br-vm = %v", got)
	}
	if got := vsctl(t, ep, "--columns=name", "find", "interface", "name="+a.Name); got != "" {
		t.Errorf("interface %s still exists: %q", a.Name, got)
	}
	again, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.VLAN != 1 {
		t.Errorf("claim after release = VLAN %d, want the freed 1", again.VLAN)
	}
	// The VLAN is reused, its name is not: ovs-vswitchd may still be
	// closing the old device of that name.
	if again.Name == a.Name {
		t.Errorf("claim after release reused the name %s", a.Name)
	}
	// VLANs to avoid (held in Neutron) are skipped.
	c3, err := c.ClaimVLAN(ctx, "br-vm", nil, map[int]bool{3: true, 4: true})
	if err != nil || c3.VLAN != 5 {
		t.Errorf("claim avoiding 3 and 4 = %+v, %v; want VLAN 5", c3, err)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestReleaseIdempotent(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	a, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := c.Release(ctx, a.Name); err != nil {
			t.Fatalf("release #%d: %v", i+1, err)
		}
	}
	if err := c.Release(ctx, "ovdv4000"); err != nil {
		t.Errorf("release of a never-claimed port: %v", err)
	}
}

func TestReleaseRefusesForeignPort(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	vsctl(t, ep, "add-port", "br-vm", "eth1")
	c := dial(t, ep)
	err := c.Release(testCtx(t), "eth1")
	if !errors.Is(err, ErrNotOwned) {
		t.Fatalf("Release(eth1) = %v, want ErrNotOwned", err)
	}
	if got := strings.Fields(vsctl(t, ep, "list-ports", "br-vm")); cmp.Diff([]string{"eth1"}, got) != "" {
		t.Errorf("list-ports br-vm = %v", got)
	}
}

func TestClaimSkipsForeignTagsAndNames(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	addBridge(t, ep, "br-other")
	// VLAN 1: a foreign port's tag (on another bridge: tags are per VM here);
	// VLAN 2: a foreign port that happens to have our name; VLAN 3: both
	// free until the claim.
	vsctl(t, ep, "add-port", "br-other", "foreign", "tag=1")
	vsctl(t, ep, "add-port", "br-vm", "ovdv2")
	c := dial(t, ep)
	a, err := c.ClaimVLAN(testCtx(t), "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.VLAN != 3 {
		t.Errorf("claimed VLAN %d, want 3 (1 and 2 are in use by foreign ports)", a.VLAN)
	}
	aps, err := c.AccessPorts(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(aps) != 1 || aps[0].VLAN != 3 || aps[0].Name == "ovdv3" {
		t.Errorf("AccessPorts = %+v, want only the claim of VLAN 3", aps)
	}
}

// The guard, not the cache, decides: a claim built on a stale view of a
// taken VLAN must fail the transaction and leave nothing behind.
func TestClaimGuardRejectsTakenVLAN(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	vsctl(t, ep, "add-port", "br-vm", "foreign", "tag=5")
	vsctl(t, ep, "add-port", "br-vm", "p7", "--", "set", "interface", "p7", "name=p7")
	for _, vlan := range []int{5} {
		if _, err := c.tryClaim(ctx, "br-vm", vlan, map[string]string{OwnerKey: OwnerValue}); !errors.Is(err, errTaken) {
			t.Errorf("tryClaim(%d) = %v, want errTaken", vlan, err)
		}
	}
	if _, err := c.tryClaim(ctx, "no-such-br", 9, nil); !errors.Is(err, ErrNoBridge) {
		t.Errorf("tryClaim on a missing bridge = %v, want ErrNoBridge", err)
	}
	if got := vsctl(t, ep, "--columns=name", "find", "port", "external_ids:ovn-docker\\:owner=ovn-docker"); got != "" {
		t.Errorf("failed claims left ports: %q", got)
	}
}

func TestClaimNoSuchBridge(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	_, err := c.ClaimVLAN(testCtx(t), "br-nope", nil, nil)
	if !errors.Is(err, ErrNoBridge) {
		t.Fatalf("err = %v, want ErrNoBridge", err)
	}
	for _, s := range []string{"br-nope", "br-vm", "--bridge"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// 64 claims from 8 goroutines spread over two Clients (two connections, as
// two plugin processes would have) get 64 distinct VLANs.
func TestConcurrentClaimsDistinct(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	races := &raceCounter{}
	var clients []*Client
	for range 2 {
		c, err := Dial(testCtx(t), ep, slog.New(races))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		clients = append(clients, c)
	}
	ctx := testCtx(t)
	const goroutines, perG = 8, 8
	var (
		mu    sync.Mutex
		got   = map[int]string{}
		errs  []error
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for g := range goroutines {
		c := clients[g%len(clients)]
		wg.Go(func() {
			<-start
			for range perG {
				a, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if prev, dup := got[a.VLAN]; dup {
					errs = append(errs, errors.New("VLAN "+a.Name+" claimed twice (first "+prev+")"))
				} else {
					got[a.VLAN] = a.Name
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if len(got) != goroutines*perG {
		t.Fatalf("%d distinct VLANs, want %d", len(got), goroutines*perG)
	}
	// How often the transaction guard, not the cache, stopped a duplicate.
	t.Logf("%d claims lost a race and moved on", races.n.Load())
	// The database agrees: 64 owned ports with 64 distinct tags, 1..64.
	aps, err := dial(t, ep).AccessPorts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var vlans []int
	for _, a := range aps {
		vlans = append(vlans, a.VLAN)
	}
	want := make([]int, goroutines*perG)
	for i := range want {
		want[i] = i + 1
	}
	if d := cmp.Diff(want, vlans); d != "" {
		t.Errorf("VLANs in the database (-want +got):\n%s", d)
	}
}

// All 4094 VLANs taken: 4093 filled in one bulk transaction (claiming them
// one by one costs O(n²) in libovsdb's cache cloning of the Bridge row),
// the last one through ClaimVLAN, then the next claim must fail.
// raceCounter is a slog handler counting ClaimVLAN's lost races.
type raceCounter struct{ n atomic.Int64 }

func (r *raceCounter) Enabled(context.Context, slog.Level) bool { return true }
func (r *raceCounter) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *raceCounter) WithGroup(string) slog.Handler            { return r }
func (r *raceCounter) Handle(_ context.Context, rec slog.Record) error {
	if strings.HasPrefix(rec.Message, "VLAN taken by a concurrent claimer") {
		r.n.Add(1)
	}
	return nil
}

func TestClaimExhaustion(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	const last = 2345 // left free by the bulk fill; ClaimVLAN must find it
	ops := []ovsdb.Operation{}
	var ports []string
	names := map[int]string{}
	for v := MinVLAN; v <= MaxVLAN; v++ {
		if v == last {
			continue
		}
		ids := map[string]string{OwnerKey: OwnerValue}
		iface, port := fmt.Sprintf("i%d", v), fmt.Sprintf("p%d", v)
		names[v] = NewPortName(v)
		ops = append(ops,
			ovsdb.Operation{Op: ovsdb.OperationInsert, Table: vswitchd.InterfaceTable, UUIDName: iface,
				Row: ovsdb.Row{"name": names[v], "external_ids": ovsMap(ids)}},
			ovsdb.Operation{Op: ovsdb.OperationInsert, Table: vswitchd.PortTable, UUIDName: port,
				Row: ovsdb.Row{"name": names[v], "tag": v, "interfaces": uuidSet(iface), "external_ids": ovsMap(ids)}})
		ports = append(ports, port)
	}
	ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: vswitchd.BridgeTable,
		Where:     []ovsdb.Condition{ovsdb.NewCondition("name", ovsdb.ConditionEqual, "br-vm")},
		Mutations: []ovsdb.Mutation{*ovsdb.NewMutation("ports", ovsdb.MutateOperationInsert, uuidSet(ports...))}})
	res, err := c.ovs.Transact(ctx, ops...)
	if err != nil {
		t.Fatal(err)
	}
	if _, r := firstError(res); r != nil {
		t.Fatalf("bulk fill: %s: %s", r.Error, r.Details)
	}
	// 4093 access ports plus the bridge's own internal port.
	if err := c.waitCache(ctx, "bulk fill", func() bool { return len(c.ports()) == MaxVLAN }); err != nil {
		t.Fatalf("%v (cache has %d ports, %d interfaces, connected %v)", err, len(c.ports()), len(c.interfaces()), c.ovs.Connected())
	}

	a, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil || a.VLAN != last {
		t.Fatalf("claim of the last free VLAN = %+v, %v; want VLAN %d", a, err, last)
	}
	_, err = c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if !errors.Is(err, ErrNoFreeVLAN) {
		t.Fatalf("claim #4095 = %v, want ErrNoFreeVLAN", err)
	}
	const wantMsg = "no free VLAN on this VM: all 4094 VLANs are taken (4094 by ovn-docker access ports); detach containers that no longer need the network, or run gc to free ports left by crashed attaches"
	if err.Error() != wantMsg {
		t.Errorf("error text:\n got %q\nwant %q", err, wantMsg)
	}
	// Freeing one makes exactly that one claimable again.
	if err := c.Release(ctx, names[777]); err != nil {
		t.Fatal(err)
	}
	a, err = c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil || a.VLAN != 777 {
		t.Fatalf("claim after releasing 777 = %+v, %v", a, err)
	}
}
