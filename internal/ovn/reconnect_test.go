//go:build !race

// The race detector is off for this file: libovsdb v0.8.1's reconnect
// (TableCache.Purge) rewrites the cache's database model under its lock
// while every API call (Where, Create, Mutate) reads it without one. The
// value written is the one already there, so the race is harmless, but a
// test that drops the connection while writes are in flight always trips
// the detector on it.

package ovn

import (
	"context"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// When ovsdb-server drops the connection anyway (here: provoked by
// sending a NUL past the store's check), the store reconnects and serves
// writes again within about a second.
func TestReconnectsFastAfterDroppedConnection(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	s := open(t, ep)
	ctx := context.Background()
	n, _ := mkNet(t, s, "demo", "10.9.0.0/24")
	bad := ovsdb.Operation{Op: ovsdb.OperationInsert, Table: nbdb.LogicalSwitchTable,
		Row: ovsdb.Row{"name": "x\x00y"}}
	if _, err := s.nb.Transact(ctx, bad); err == nil {
		t.Fatal("NB took a NUL character")
	} else {
		t.Logf("NB refused the NUL: %v", err)
	}
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.CreatePort(cctx, Scope{ProjectID: "demo"}, PortSpec{NetworkID: n.ID, ProjectID: "demo"})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no create succeeded within 10s of the dropped connection: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("writes served again %s after the connection was dropped", took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("took %s to serve writes again, want under 3s", took)
	}
}
