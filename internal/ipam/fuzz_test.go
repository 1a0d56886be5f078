package ipam

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzAllocator runs a sequence of operations against both representations
// (bitmap and sparse) over the same small pools and checks them against a
// plain set: Next hands out only free pool addresses and fails only when
// every pool address is used; Reserve, MarkUsed and Release agree with the
// model; Used and InUse match it.
func FuzzAllocator(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0}, false)
	f.Add([]byte{1, 5, 0, 3, 5, 0, 0, 2, 9, 9, 0}, true)
	f.Add([]byte{2, 0, 255, 3, 0, 255, 0, 1, 1, 3, 0, 0, 0}, false)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 0}, true)
	f.Fuzz(func(t *testing.T, ops []byte, sparse bool) {
		// A /118 (1024 addresses, four 256-address sparse chunks) with pools
		// that cross chunk boundaries and leave gaps.
		p := netip.MustParsePrefix("fd00::/118")
		pools := []Pool{pool("fd00::f0", "fd00::10f"), pool("fd00::2fe", "fd00::301"), pool("fd00::3fd", "fd00::3ff")}
		a, err := NewAllocator(p, pools)
		if err != nil {
			t.Fatal(err)
		}
		if sparse {
			a.set = newSparseSet(a.spans)
		}
		inPool := func(x netip.Addr) bool {
			for _, pl := range pools {
				if pl.contains(x) {
					return true
				}
			}
			return false
		}
		poolSize := 0x20 + 4 + 3
		used := map[netip.Addr]bool{}
		base := u128FromAddr(p.Addr())
		for len(ops) >= 3 {
			op, off := ops[0]%4, uint64(ops[1])<<8|uint64(ops[2])
			ops = ops[3:]
			addr := base.add(off % 1100).addr(false) // sometimes outside the prefix
			switch op {
			case 0:
				got, err := a.Next()
				if errors.Is(err, ErrExhausted) {
					n := 0
					for x := range used {
						if inPool(x) {
							n++
						}
					}
					if n != poolSize {
						t.Fatalf("ErrExhausted with %d of %d pool addresses used", n, poolSize)
					}
					continue
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if !inPool(got) || used[got] {
					t.Fatalf("Next = %s: in pool %v, already used %v", got, inPool(got), used[got])
				}
				used[got] = true
			case 1:
				err := a.Reserve(addr)
				switch {
				case !p.Contains(addr) || addr == p.Addr():
					if !errors.Is(err, ErrOutOfRange) {
						t.Fatalf("Reserve(%s) = %v, want ErrOutOfRange", addr, err)
					}
				case used[addr]:
					if !errors.Is(err, ErrInUse) {
						t.Fatalf("Reserve(%s) = %v, want ErrInUse", addr, err)
					}
				case err != nil:
					t.Fatalf("Reserve(%s) = %v", addr, err)
				default:
					used[addr] = true
				}
			case 2:
				a.MarkUsed(addr)
				if p.Contains(addr) {
					used[addr] = true
				}
			case 3:
				a.Release(addr)
				delete(used, addr)
			}
			if a.Used() != len(used) {
				t.Fatalf("Used = %d, want %d", a.Used(), len(used))
			}
			if a.InUse(addr) != used[addr] {
				t.Fatalf("InUse(%s) = %v, want %v", addr, a.InUse(addr), used[addr])
			}
		}
	})
}
