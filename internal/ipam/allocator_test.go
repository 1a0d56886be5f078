package ipam

import (
	"errors"
	"net/netip"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mustAllocator uses the default pools when pools is nil (none given).
func mustAllocator(t testing.TB, prefix string, pools ...Pool) *Allocator {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	if pools == nil {
		pools = DefaultPools(p, DefaultGateway(p))
	}
	a, err := NewAllocator(p, pools)
	if err != nil {
		t.Fatalf("NewAllocator(%s, %v): %v", prefix, pools, err)
	}
	return a
}

// drain calls Next until it fails and returns the addresses in order.
func drain(t *testing.T, a *Allocator) []string {
	t.Helper()
	var got []string
	for {
		addr, err := a.Next()
		if err != nil {
			if !errors.Is(err, ErrExhausted) {
				t.Fatalf("Next: %v, want ErrExhausted", err)
			}
			return got
		}
		got = append(got, addr.String())
		if len(got) > 1<<16 {
			t.Fatal("Next never ran out")
		}
	}
}

func TestExhaustion(t *testing.T) {
	tests := []struct {
		prefix string
		pools  []Pool
		want   []string
	}{
		// Default pools leave out network, gateway (.1) and broadcast.
		{prefix: "10.0.0.0/29", want: []string{"10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"}},
		{prefix: "10.0.0.0/30", want: []string{"10.0.0.2"}},
		{prefix: "10.0.0.8/29", pools: []Pool{pool("10.0.0.13", "10.0.0.14"), pool("10.0.0.9", "10.0.0.10")},
			want: []string{"10.0.0.9", "10.0.0.10", "10.0.0.13", "10.0.0.14"}},
		{prefix: "fd00::/126", want: []string{"fd00::2", "fd00::3"}},
		{prefix: "fd00::/64", pools: []Pool{pool("fd00::ffff:ffff:ffff:fffe", "fd00::ffff:ffff:ffff:ffff")},
			want: []string{"fd00::ffff:ffff:ffff:fffe", "fd00::ffff:ffff:ffff:ffff"}},
		{prefix: "10.0.0.0/24", pools: []Pool{}}, // no pools: only Reserve assigns
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			a := mustAllocator(t, tt.prefix, tt.pools...)
			got := drain(t, a)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("allocation order mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(len(tt.want), a.Used()); diff != "" {
				t.Errorf("Used mismatch (-want +got):\n%s", diff)
			}
			_, err := a.Next()
			checkErr(t, err, ErrExhausted, tt.prefix)
		})
	}
}

func TestNextAfterRelease(t *testing.T) {
	a := mustAllocator(t, "10.0.0.0/29")
	drain(t, a)
	a.Release(netip.MustParseAddr("10.0.0.4"))
	got, err := a.Next()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("10.0.0.4", got.String()); diff != "" {
		t.Errorf("Next after release mismatch (-want +got):\n%s", diff)
	}

	// The cursor rotates: a released address is not handed out again at
	// once while others are free.
	b := mustAllocator(t, "10.0.0.0/24")
	first, _ := b.Next()
	b.Release(first)
	second, _ := b.Next()
	if first == second {
		t.Errorf("Next handed out %s again right after its release", first)
	}
}

func TestReserve(t *testing.T) {
	tests := []struct {
		prefix  string
		pools   []Pool
		addr    string
		wantErr error
		names   []string
	}{
		{prefix: "10.0.0.0/24", addr: "10.0.0.5"},
		{prefix: "10.0.0.0/24", addr: "10.0.0.1"}, // the gateway, outside the pools
		{prefix: "10.0.0.0/24", pools: []Pool{pool("10.0.0.10", "10.0.0.20")}, addr: "10.0.0.200"},
		{prefix: "10.0.0.0/24", addr: "10.0.0.254"},
		{prefix: "fd00::/64", addr: "fd00::ffff:ffff:ffff:ffff"},
		{prefix: "10.0.0.0/24", addr: "10.0.0.0", wantErr: ErrOutOfRange, names: []string{"10.0.0.0 ", "network", "10.0.0.1", "10.0.0.254"}},
		{prefix: "10.0.0.0/24", addr: "10.0.0.255", wantErr: ErrOutOfRange, names: []string{"10.0.0.255", "broadcast"}},
		{prefix: "10.0.0.0/24", addr: "10.0.1.5", wantErr: ErrOutOfRange, names: []string{"10.0.1.5", "10.0.0.0/24"}},
		{prefix: "10.0.0.0/24", addr: "fd00::5", wantErr: ErrOutOfRange, names: []string{"fd00::5", "10.0.0.0/24"}},
		{prefix: "fd00::/64", addr: "fd00::", wantErr: ErrOutOfRange, names: []string{"fd00:: ", "network"}},
		{prefix: "10.0.0.0/24", addr: "", wantErr: ErrOutOfRange, names: []string{"10.0.0.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"/"+tt.addr, func(t *testing.T) {
			a := mustAllocator(t, tt.prefix, tt.pools...)
			addr := addrOrZero(tt.addr)
			err := a.Reserve(addr)
			checkErr(t, err, tt.wantErr, tt.names...)
			if tt.wantErr != nil {
				if a.Used() != 0 {
					t.Errorf("Used = %d after a failed Reserve, want 0", a.Used())
				}
				return
			}
			if !a.InUse(addr) {
				t.Errorf("InUse(%s) = false after Reserve", addr)
			}
			checkErr(t, a.Reserve(addr), ErrInUse, tt.addr, tt.prefix)
			if diff := cmp.Diff(1, a.Used()); diff != "" {
				t.Errorf("Used mismatch (-want +got):\n%s", diff)
			}
			a.Release(addr)
			a.Release(addr)
			if a.InUse(addr) || a.Used() != 0 {
				t.Errorf("after Release: InUse = %v, Used = %d, want false, 0", a.InUse(addr), a.Used())
			}
			if err := a.Reserve(addr); err != nil {
				t.Errorf("Reserve after Release: %v", err)
			}
		})
	}
}

func TestMarkUsed(t *testing.T) {
	a := mustAllocator(t, "10.0.0.0/29") // pool 10.0.0.2-10.0.0.6
	for _, s := range []string{"10.0.0.2", "10.0.0.2", "10.0.0.4", "10.0.0.1", "10.0.0.0", "10.0.1.3", "fd00::1"} {
		a.MarkUsed(netip.MustParseAddr(s))
	}
	a.MarkUsed(netip.Addr{})
	// In the prefix: .2 (twice), .4, .1 (gateway), .0 (network, as NB may hold it). Others ignored.
	if diff := cmp.Diff(4, a.Used()); diff != "" {
		t.Errorf("Used mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.3", "10.0.0.5", "10.0.0.6"}, drain(t, a)); diff != "" {
		t.Errorf("Next skipped the wrong addresses (-want +got):\n%s", diff)
	}
	if a.InUse(netip.MustParseAddr("10.0.1.3")) {
		t.Error("an address outside the prefix is reported in use")
	}
	a.Release(netip.MustParseAddr("10.0.1.3")) // ignored, must not corrupt the count
	a.Release(netip.MustParseAddr("10.0.0.7"))
	if diff := cmp.Diff(7, a.Used()); diff != "" {
		t.Errorf("Used mismatch (-want +got):\n%s", diff)
	}
}

func TestNewAllocatorErrors(t *testing.T) {
	tests := []struct {
		name   string
		prefix netip.Prefix
		pools  []Pool
		names  []string
	}{
		{"not masked", netip.MustParsePrefix("10.0.0.5/24"), nil, []string{"10.0.0.5/24", "10.0.0.0/24"}},
		{"bad pool", netip.MustParsePrefix("10.0.0.0/24"), []Pool{pool("10.0.0.0", "10.0.0.5")}, []string{"10.0.0.0-10.0.0.5"}},
		{"zero", netip.Prefix{}, nil, []string{"invalid Prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewAllocator(tt.prefix, tt.pools)
			checkErr(t, err, ErrInvalid, tt.names...)
		})
	}
}

// TestLargePools covers the sparse representation (pools above the bitmap
// limit) and a full /8 bitmap.
func TestLargePools(t *testing.T) {
	tests := []struct {
		prefix string
		want   []string
	}{
		{"10.0.0.0/8", []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"}},
		{"10.0.0.0/7", []string{"10.0.0.2", "10.0.0.3", "10.0.0.4"}},
		{"fd00::/64", []string{"fd00::2", "fd00::3", "fd00::4"}},
		{"fd00::/48", []string{"fd00::2", "fd00::3", "fd00::4"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			a := mustAllocator(t, tt.prefix)
			var got []string
			for range tt.want {
				addr, err := a.Next()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, addr.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSparseSkipsUsedRuns: addresses marked used ahead of the cursor, across
// chunk boundaries, are skipped.
func TestSparseSkipsUsedRuns(t *testing.T) {
	a := mustAllocator(t, "fd00::/64")
	base := u128FromAddr(netip.MustParseAddr("fd00::2"))
	for i := uint64(0); i < 1000; i++ {
		a.MarkUsed(base.add(i).addr(false))
	}
	a.Release(base.add(600).addr(false))
	var got []string
	for range 2 {
		addr, err := a.Next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, addr.String())
	}
	want := []string{base.add(600).addr(false).String(), base.add(1000).addr(false).String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestConcurrentNext(t *testing.T) {
	for _, prefix := range []string{"10.0.0.0/20", "fd00::/64"} {
		t.Run(prefix, func(t *testing.T) {
			a := mustAllocator(t, prefix)
			const workers, each = 8, 500
			results := make([][]netip.Addr, workers)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for range each {
						addr, err := a.Next()
						if err != nil {
							t.Error(err)
							return
						}
						results[w] = append(results[w], addr)
					}
				})
			}
			wg.Wait()
			seen := map[netip.Addr]bool{}
			for _, rs := range results {
				for _, r := range rs {
					if seen[r] {
						t.Errorf("%s handed out twice", r)
					}
					seen[r] = true
				}
			}
			if diff := cmp.Diff(workers*each, len(seen)); diff != "" {
				t.Errorf("distinct addresses mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(workers*each, a.Used()); diff != "" {
				t.Errorf("Used mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConcurrentExhaustion: 8 goroutines draining a /24 get every pool
// address exactly once.
func TestConcurrentExhaustion(t *testing.T) {
	a := mustAllocator(t, "10.0.0.0/24")
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				addr, err := a.Next()
				if err != nil {
					return
				}
				mu.Lock()
				got = append(got, addr.String())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var want []string
	for i := 2; i <= 254; i++ {
		want = append(want, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).String())
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}
