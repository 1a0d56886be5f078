package ovn

import (
	"context"
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
