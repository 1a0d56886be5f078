package vswitch

import (
	"context"
	"testing"
)

// BenchmarkClaimRelease measures one attach's and one detach's OVSDB work:
// a ClaimVLAN and a Release, each a transaction plus waiting for the
// cache to show it, against a private ovsdb-server.
func BenchmarkClaimRelease(b *testing.B) {
	ep := testDB(b)
	addBridge(b, ep, "br-vm")
	c := dial(b, ep)
	ctx := context.Background()
	for b.Loop() {
		a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"ovn-docker:container": "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Release(ctx, a.Name); err != nil {
			b.Fatal(err)
		}
	}
}
