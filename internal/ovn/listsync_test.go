package ovn

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Two replicas behind one load balancer: a port created through one is
// in the very next list through the other, by network and unfiltered, as
// with one Neutron database (the other's monitor is milliseconds behind).
func TestListSeesPortsCreatedThroughAnotherReplica(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	n, _ := mkNet(t, a, "demo", "10.8.0.0/24")
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	for i := range 20 {
		p, err := a.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		for _, filter := range []string{n.ID, ""} {
			found := false
			for _, q := range b.ListPorts(ctx, sc, filter) {
				found = found || q.ID == p.ID
			}
			if !found {
				t.Fatalf("create %d: port %s, just created through one replica, is not in the other's list (network filter %q)", i, p.ID, filter)
			}
		}
	}
}

// The same for networks, subnets and trunks: each, just created through
// one replica, is in the other's next list.
func TestListSeesNetworksSubnetsTrunksCreatedThroughAnotherReplica(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	for i := range 10 {
		n, sn := mkNet(t, a, "demo", fmt.Sprintf("10.9.%d.0/24", i))
		if !slices.ContainsFunc(b.ListNetworks(ctx, sc), func(x *Network) bool { return x.ID == n.ID }) {
			t.Fatalf("create %d: network %s, just created through one replica, is not in the other's list", i, n.ID)
		}
		if !slices.ContainsFunc(b.ListSubnets(ctx, sc), func(x *Subnet) bool { return x.ID == sn.ID }) {
			t.Fatalf("create %d: subnet %s, just created through one replica, is not in the other's list", i, sn.ID)
		}
		p, err := a.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo"})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := a.CreateTrunk(ctx, sc, TrunkSpec{ProjectID: "demo", PortID: p.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(b.ListTrunks(ctx, sc), func(x *Trunk) bool { return x.ID == tr.ID }) {
			t.Fatalf("create %d: trunk %s, just created through one replica, is not in the other's list", i, tr.ID)
		}
	}
}
