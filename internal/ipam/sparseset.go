package ipam

import "math/bits"

// chunkBits is the number of addresses one sparse chunk covers. 256 keeps a
// chunk at 32 bytes, so scattered addresses (SLAAC, user-chosen fixed IPs)
// cost little, while a run of used addresses is skipped 256 at a time.
const chunkBits = 256

// sparseSet is the usedSet for pools too large for a bitmap (an IPv6 /64 has
// 2^64 addresses). It keeps used addresses in small bitmaps keyed by their
// 256-aligned chunk, and only for chunks that have a used address. Next
// allocates sequentially from a cursor, as Neutron does, so in the steady
// state the cursor sits in an unused area and the first probe succeeds;
// a run of used addresses ahead of the cursor is crossed one chunk lookup
// per 256 addresses, and only once per pass.
type sparseSet struct {
	spans  []span
	chunks map[u128]*[chunkBits / 64]uint64
	// spare is the last chunk dropped for being empty. Next followed by a
	// Release of the same address (a failed NB transaction) empties and
	// refills the cursor's chunk; reusing it avoids an allocation each time.
	spare *[chunkBits / 64]uint64
}

func newSparseSet(spans []span) *sparseSet {
	return &sparseSet{spans: spans, chunks: map[u128]*[chunkBits / 64]uint64{}}
}

func chunkOf(a u128) (key u128, bit uint64) {
	return u128{a.hi, a.lo &^ (chunkBits - 1)}, a.lo & (chunkBits - 1)
}

func (s *sparseSet) add(a u128) bool {
	key, bit := chunkOf(a)
	c := s.chunks[key]
	if c == nil {
		c = s.spare
		s.spare = nil
		if c == nil {
			c = new([chunkBits / 64]uint64)
		}
		s.chunks[key] = c
	}
	m := uint64(1) << (bit % 64)
	if c[bit/64]&m != 0 {
		return false
	}
	c[bit/64] |= m
	return true
}

func (s *sparseSet) remove(a u128) bool {
	key, bit := chunkOf(a)
	c := s.chunks[key]
	m := uint64(1) << (bit % 64)
	if c == nil || c[bit/64]&m == 0 {
		return false
	}
	c[bit/64] &^= m
	if *c == ([chunkBits / 64]uint64{}) {
		delete(s.chunks, key) // keep memory proportional to used addresses
		s.spare = c
	}
	return true
}

func (s *sparseSet) has(a u128) bool {
	key, bit := chunkOf(a)
	c := s.chunks[key]
	return c != nil && c[bit/64]&(1<<(bit%64)) != 0
}

func (s *sparseSet) nextFree(from u128) (u128, bool) {
	for {
		i := findSpan(s.spans, from)
		if i == len(s.spans) {
			return u128{}, false
		}
		sp := s.spans[i]
		if from.less(sp.start) {
			from = sp.start
		}
		if a, ok := s.scan(from, sp.end); ok {
			return a, true
		}
		if sp.end.isMax() {
			return u128{}, false
		}
		from = sp.end.add(1)
	}
}

// scan returns the lowest free address in [from, end].
func (s *sparseSet) scan(from, end u128) (u128, bool) {
	for {
		key, bit := chunkOf(from)
		c := s.chunks[key]
		if c == nil {
			return from, true
		}
		for w := bit / 64; w < chunkBits/64; w++ {
			free := ^c[w]
			if w == bit/64 {
				free &= ^uint64(0) << (bit % 64)
			}
			if free != 0 {
				a := key.add(w*64 + uint64(bits.TrailingZeros64(free)))
				if end.less(a) {
					return u128{}, false
				}
				return a, true
			}
		}
		next := key.add(chunkBits)
		if next.less(key) || end.less(next) {
			return u128{}, false
		}
		from = next
	}
}
