package vswitch

import (
	"context"
	"testing"
	"time"
)

// BenchmarkClaimRelease measures one attach's and one detach's OVSDB work:
// a ClaimVLAN and a Release, each a transaction plus waiting for the
// cache to show it, against a private ovsdb-server. It reports each half.
func BenchmarkClaimRelease(b *testing.B) {
	ep := testDB(b)
	addBridge(b, ep, "br-vm")
	c := dial(b, ep)
	ctx := context.Background()
	ids := map[string]string{"ovn-docker:container": "bench", "ovn-docker:network": "LS1"}
	var claim, release time.Duration
	for b.Loop() {
		t0 := time.Now()
		a, err := c.ClaimVLAN(ctx, "br-vm", ids, nil)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.Release(ctx, a.Name); err != nil {
			b.Fatal(err)
		}
		claim += t1.Sub(t0)
		release += time.Since(t1)
	}
	b.ReportMetric(float64(claim.Microseconds())/float64(b.N), "claim-µs/op")
	b.ReportMetric(float64(release.Microseconds())/float64(b.N), "release-µs/op")
}
