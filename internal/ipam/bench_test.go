package ipam

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// BenchmarkNext measures one Next plus one Release of the same address per
// iteration, so the fill level stays exactly at "allocated" (the steady
// state), while the cursor keeps moving through the pool and wraps around
// across the used addresses. Setup runs once per sub-benchmark (b.Loop).
//
//   - plain: the first `allocated` addresses were handed out by Next;
//   - fragmented: twice as many were handed out, then a random half released;
//   - near exhaustion: a single pool address is left free.
func BenchmarkNext(b *testing.B) {
	type bench struct {
		name       string
		prefix     string
		allocated  int
		fragmented bool
	}
	var benches []bench
	for _, pfx := range []struct{ name, prefix string }{{"v4-16", "10.0.0.0/16"}, {"v4-8", "10.0.0.0/8"}, {"v6-64", "fd00::/64"}} {
		for _, n := range []int{10, 1000, 100000} {
			if pfx.name == "v4-16" && n == 100000 {
				n = 65000 // a /16 has 65533 pool addresses
			}
			benches = append(benches, bench{pfx.name, pfx.prefix, n, false})
		}
		n := 100000
		if pfx.name == "v4-16" {
			n = 30000
		}
		benches = append(benches, bench{pfx.name, pfx.prefix, n, true})
	}
	// Near exhaustion: pool size minus one.
	benches = append(benches,
		bench{"v4-24", "10.0.0.0/24", 253 - 1, false},
		bench{"v4-16", "10.0.0.0/16", 65533 - 1, false},
		bench{"v4-8", "10.0.0.0/8", 1<<24 - 3 - 1, false},
	)
	for _, bb := range benches {
		name := fmt.Sprintf("%s/allocated=%d", bb.name, bb.allocated)
		if bb.fragmented {
			name += "/fragmented"
		}
		b.Run(name, func(b *testing.B) {
			a := mustAllocator(b, bb.prefix)
			fill(b, a, bb.allocated, bb.fragmented)
			b.ReportAllocs()
			for b.Loop() {
				addr, err := a.Next()
				if err != nil {
					b.Fatal(err)
				}
				a.Release(addr)
			}
			if a.Used() != bb.allocated {
				b.Fatalf("Used = %d, want %d", a.Used(), bb.allocated)
			}
		})
	}
}

func fill(b *testing.B, a *Allocator, n int, fragmented bool) {
	b.Helper()
	total := n
	if fragmented {
		total = 2 * n
	}
	addrs := make([]netip.Addr, total)
	for i := range addrs {
		addr, err := a.Next()
		if err != nil {
			b.Fatalf("filling: %v", err)
		}
		addrs[i] = addr
	}
	if fragmented {
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
		for _, addr := range addrs[:n] {
			a.Release(addr)
		}
	}
}

// BenchmarkNewAllocator reports the memory of an empty allocator (B/op).
func BenchmarkNewAllocator(b *testing.B) {
	for _, prefix := range []string{"10.0.0.0/16", "10.0.0.0/8", "fd00::/64"} {
		p := netip.MustParsePrefix(prefix)
		pools := DefaultPools(p, DefaultGateway(p))
		b.Run(prefix, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NewAllocator(p, pools); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
