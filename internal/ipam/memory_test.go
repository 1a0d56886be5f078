package ipam

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAllocatorMemory: an allocator for a whole IPv4 /8 stays within a few
// MiB, and a /64 with 100,000 sequential allocations stays far below that.
func TestAllocatorMemory(t *testing.T) {
	tests := []struct {
		prefix   string
		allocate int
		limit    uint64
	}{
		{"10.0.0.0/8", 0, 3 << 20},
		{"10.0.0.0/8", 100000, 3 << 20},
		{"fd00::/64", 100000, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			a := mustAllocator(t, tt.prefix)
			for range tt.allocate {
				if _, err := a.Next(); err != nil {
					t.Fatal(err)
				}
			}
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > tt.limit {
				t.Errorf("allocated %d bytes for %s with %d addresses used, want ≤ %d", got, tt.prefix, tt.allocate, tt.limit)
			}
			runtime.KeepAlive(a)
		})
	}
}

// TestNextSkipsOutsideReservations: addresses reserved outside the pools
// never come out of Next and count in Used.
func TestNextSkipsOutsideReservations(t *testing.T) {
	a := mustAllocator(t, "10.0.0.0/29", pool("10.0.0.5", "10.0.0.6"))
	for _, s := range []string{"10.0.0.1", "10.0.0.2"} {
		if err := a.Reserve(netip.MustParseAddr(s)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"10.0.0.5", "10.0.0.6"}, drain(t, a)); diff != "" {
		t.Errorf("Next mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(4, a.Used()); diff != "" {
		t.Errorf("Used mismatch (-want +got):\n%s", diff)
	}
}
