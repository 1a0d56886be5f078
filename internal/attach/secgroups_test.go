package attach

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

const (
	sgWeb = "5f0b0c1e-0000-4000-8000-00000000000a"
	sgDB  = "5f0b0c1e-0000-4000-8000-00000000000b"
)

func newGroupRig(t *testing.T) *rig {
	t.Helper()
	r := newPoolRig(t)
	r.cl.groups = []cloud.SecurityGroup{{ID: sgWeb, Name: "web"}, {ID: sgDB, Name: "db"}}
	return r
}

// A pool is made per security group set, and an attach takes only an
// entry of its own set: with {web} it never gets a default-set port, and
// without groups it never gets a {web} port.
func TestPoolKeyedBySecurityGroups(t *testing.T) {
	r := newGroupRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	st, err := r.a.FillPool(ctx, "LS1", []string{"web"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(PoolStatus{NetworkID: "net-1", Network: "LS1", SecurityGroups: []string{sgWeb}, Ready: 1, Target: 1}, st); d != "" {
		t.Errorf("fill {web} (-want +got):\n%s", d)
	}
	want := []PoolStatus{
		{NetworkID: "net-1", Network: "LS1", Ready: 1, Target: 1},
		{NetworkID: "net-1", Network: "LS1", SecurityGroups: []string{sgWeb}, Ready: 1, Target: 1},
	}
	if d := cmp.Diff(want, r.status(t)); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	groupsOfPort := map[string][]string{}
	for id, p := range r.cl.ports {
		groupsOfPort[id] = p.SecurityGroups
	}

	// By id: from the pool, no Neutron call, the {web} port.
	calls := r.cl.calls
	web, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "web"), Network: "LS1", ContainerID: "web", SecurityGroups: []string{sgWeb}})
	if err != nil {
		t.Fatal(err)
	}
	if r.cl.calls != calls {
		t.Errorf("attach with group ids from the pool made %d Neutron calls", r.cl.calls-calls)
	}
	if d := cmp.Diff([]string{sgWeb}, groupsOfPort[web.PortID]); d != "" {
		t.Errorf("the {web} attach got port %s of groups (-want +got):\n%s", web.PortID, d)
	}
	// By name: resolved, then the default-set entry is not taken for
	// {web} (none left): a new port in {web}.
	web2, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "web2"), Network: "LS1", ContainerID: "web2", SecurityGroups: []string{"web"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, pooled := groupsOfPort[web2.PortID]; pooled {
		t.Errorf("the second {web} attach took pool port %s (of groups %v)", web2.PortID, groupsOfPort[web2.PortID])
	}
	if d := cmp.Diff([]string{sgWeb}, r.cl.ports[web2.PortID].SecurityGroups); d != "" {
		t.Errorf("new {web} port's groups (-want +got):\n%s", d)
	}
	// Without groups: the default-set entry.
	def, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "def"), Network: "LS1", ContainerID: "def"})
	if err != nil {
		t.Fatal(err)
	}
	if g, pooled := groupsOfPort[def.PortID]; !pooled || g != nil {
		t.Errorf("the default-set attach got port %s (pooled %v, groups %v)", def.PortID, pooled, g)
	}
	// {web, db} has no pool: a new port in both groups (sorted ids).
	both, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "both"), Network: "LS1", ContainerID: "both", SecurityGroups: []string{"web", "db", sgWeb}})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{sgWeb, sgDB}, both.SecurityGroups); d != "" {
		t.Errorf("attachment's groups (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{sgWeb, sgDB}, r.cl.ports[both.PortID].SecurityGroups); d != "" {
		t.Errorf("port's groups (-want +got):\n%s", d)
	}

	// Detach: each port goes back to its own set's pool (below target),
	// or is deleted (no pool for its set, or the pool is full).
	for _, c := range []string{"web", "web2", "def", "both"} {
		if _, err := r.a.Detach(ctx, Selector{ContainerID: c}); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff(want, r.status(t)); d != "" {
		t.Errorf("status after detaching (-want +got):\n%s", d)
	}
	var left []string
	for id := range r.cl.ports {
		left = append(left, id)
	}
	slices.Sort(left)
	var pooled []string
	for id := range groupsOfPort {
		pooled = append(pooled, id)
	}
	slices.Sort(pooled)
	if d := cmp.Diff(pooled, left); d != "" {
		t.Errorf("Neutron ports after detaching (-want +got):\n%s", d)
	}

	// Draining the network empties every set's pool.
	if n, err := r.a.DrainPool(ctx, "LS1"); err != nil || n != 2 {
		t.Fatalf("drain: %d %v", n, err)
	}
	r.empty(t)
	if st := r.status(t); len(st) != 0 {
		t.Errorf("status after drain: %+v", st)
	}
}

// An unknown group fails before anything is made, naming the value.
func TestAttachUnknownSecurityGroup(t *testing.T) {
	r := newGroupRig(t)
	ctx := context.Background()
	for _, groups := range [][]string{{"web", "nosuch"}, {"5f0b0c1e-0000-4000-8000-0000000000ff"}} {
		_, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1", SecurityGroups: groups})
		if !errors.Is(err, cloud.ErrNotFound) {
			t.Fatalf("attach with groups %v: %v, want not found", groups, err)
		}
		if bad := groups[len(groups)-1]; !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("error %q does not name %q", err, bad)
		}
		if _, err := r.a.FillPool(ctx, "LS1", groups, 1); !errors.Is(err, cloud.ErrNotFound) {
			t.Fatalf("fill with groups %v: %v, want not found", groups, err)
		}
		r.empty(t)
	}
	if st := r.status(t); len(st) != 0 {
		t.Errorf("status: %+v", st)
	}
}

func TestTargetKeyRoundTrip(t *testing.T) {
	for _, k := range []poolKey{{network: "net-1"}, {network: "net-1", groups: groupsKey([]string{sgDB, sgWeb})}} {
		got, ok := parseTargetKey(k.targetKey())
		if !ok || got != k {
			t.Errorf("parseTargetKey(%q) = %+v %v, want %+v", k.targetKey(), got, ok, k)
		}
	}
	// The default set's key is the one used before sets existed.
	if got := (poolKey{network: "net-1"}).targetKey(); got != KeyPoolTargetPrefix+"net-1" {
		t.Errorf("default set's target key %q", got)
	}
}
