package ipam

import "sort"

// span is one allocation pool as integers. base is the bitmap slot of start
// (bitmap sets only).
type span struct {
	start, end u128
	base, size uint64
}

// findSpan returns the index of the first span that ends at or after a
// (len(spans) if none). Spans are sorted and disjoint.
func findSpan(spans []span, a u128) int {
	return sort.Search(len(spans), func(i int) bool { return !spans[i].end.less(a) })
}

// usedSet records used addresses of one subnet and finds free pool addresses.
type usedSet interface {
	add(a u128) bool    // reports whether a was free
	remove(a u128) bool // reports whether a was used
	has(a u128) bool
	// nextFree returns the lowest free address ≥ from that lies in a pool.
	nextFree(from u128) (u128, bool)
}

// maxBitmapSlots bounds the pool size that gets a bitmap (2 MiB for a full
// IPv4 /8). Bigger pools (IPv6 /64s, IPv4 /7 and shorter) use sparseSet.
const maxBitmapSlots = 1 << 24
