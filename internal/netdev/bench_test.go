package netdev

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkCreateDeleteVeth measures the kernel side of one attach and one
// detach: CreateVeth with a full configuration (MAC, MTU, v4+v6 addresses,
// two default routes, TX checksum off on both ends) and DeleteLink.
func BenchmarkCreateDeleteVeth(b *testing.B) {
	needRoot(b)
	nsPath := newNetns(b, "vst-b1")
	cleanupLink(b, "vstb1")
	n := New(testLogger())
	ctx := context.Background()
	cfg := IfaceConfig{
		Name:              "eth0",
		MAC:               mustMAC("02:00:0a:01:00:05"),
		Addresses:         []netip.Prefix{netip.MustParsePrefix("10.1.0.5/24"), netip.MustParsePrefix("fd00::5/64")},
		Gateways:          []netip.Addr{netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("fd00::1")},
		MTU:               1442,
		DisableTxChecksum: true,
	}
	var create, del time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := n.CreateVeth(ctx, "vstb1", nsPath, cfg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := n.DeleteLink(ctx, "vstb1"); err != nil {
			b.Fatal(err)
		}
		create += t1.Sub(t0)
		del += time.Since(t1)
	}
	// Deletion dominates: the kernel waits for an RCU grace period when it
	// unregisters a device.
	b.ReportMetric(float64(create.Microseconds())/float64(b.N), "create-µs/op")
	b.ReportMetric(float64(del.Microseconds())/float64(b.N), "delete-µs/op")
}
