package ovn

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Two stores (two ovn-neutrond replicas) create ports on one network of
// one NB as fast as they can: every create must succeed (no "gave up
// after N conflicting transactions"), and neither replica may be starved.
// OVN_CONTENTION_PORTS sets the creates per replica (default 1000),
// OVN_CONTENTION_WORKERS the concurrent clients of each (default 32).
func TestContendedCreatesAreFair(t *testing.T) {
	if testing.Short() {
		t.Skip("contention test in -short mode")
	}
	perReplica := 1000
	if v, err := strconv.Atoi(os.Getenv("OVN_CONTENTION_PORTS")); err == nil && v > 0 {
		perReplica = v
	}
	workers := 32
	if v, err := strconv.Atoi(os.Getenv("OVN_CONTENTION_WORKERS")); err == nil && v > 0 {
		workers = v
	}
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	n, _ := mkNet(t, a, "demo", "10.8.0.0/20")
	if err := b.settle(context.Background(), func() bool { return b.view.networks[n.ID] != nil && len(b.view.subnetsByNet[n.ID]) > 0 }); err != nil {
		t.Fatal(err)
	}
	type result struct {
		ok, unavailable, other atomic.Int64
		maxLatency             atomic.Int64 // ns
	}
	var res [2]result
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range []*Store{a, b} {
		r := &res[i]
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < perReplica; j += workers {
					t0 := time.Now()
					_, err := s.CreatePort(context.Background(), Scope{ProjectID: "demo"}, PortSpec{NetworkID: n.ID, ProjectID: "demo"})
					if d := int64(time.Since(t0)); d > r.maxLatency.Load() {
						r.maxLatency.Store(d)
					}
					switch {
					case err == nil:
						r.ok.Add(1)
					case errors.Is(err, ErrUnavailable):
						r.unavailable.Add(1)
					default:
						r.other.Add(1)
						t.Errorf("create: %v", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i := range res {
		r := &res[i]
		t.Logf("replica %d: %d created, %d unavailable (503), %d other errors, slowest create %s",
			i, r.ok.Load(), r.unavailable.Load(), r.other.Load(), time.Duration(r.maxLatency.Load()).Round(time.Millisecond))
	}
	t.Logf("%d creates in %s (%.0f/s); conflicts: %.0f + %.0f", 2*perReplica, elapsed.Round(time.Millisecond),
		float64(2*perReplica)/elapsed.Seconds(), counterValue(a.m.conflicts), counterValue(b.m.conflicts))
	for i := range res {
		if u := res[i].unavailable.Load(); u > 0 {
			t.Errorf("replica %d: %d of %d creates failed as unavailable under contention", i, u, perReplica)
		}
	}
}

func counterValue(c interface {
	Write(*dto.Metric) error
}) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
