package ipam

import "math/bits"

// hbitmap is a bitmap of free slots with summary levels: bit j of level k+1
// is set iff word j of level k is non-zero. Finding the next free slot from
// any position climbs until a level has a set bit to the right, then
// descends, so it costs O(levels) word operations however full the bitmap
// is: 4 levels for 2^24 slots. Memory is n/8 bytes plus ~1/64 for summaries
// (a /8 subnet: 2 MiB + 32 KiB).
type hbitmap struct {
	levels [][]uint64 // levels[0] has one bit per slot, 1 = free
}

// newHBitmap returns a bitmap of n slots, all free.
func newHBitmap(n uint64) *hbitmap {
	h := &hbitmap{}
	for {
		words := (n + 63) / 64
		level := make([]uint64, words)
		for i := range level {
			level[i] = ^uint64(0)
		}
		if rem := n % 64; rem != 0 {
			level[words-1] = 1<<rem - 1 // slots past n stay "used" so they are never found
		}
		h.levels = append(h.levels, level)
		if words <= 1 {
			return h
		}
		n = words
	}
}

// next returns the lowest free slot ≥ i, or -1 if there is none.
func (h *hbitmap) next(i uint64) int64 {
	level := 0
	for {
		if level == len(h.levels) {
			return -1
		}
		w := i / 64
		if w >= uint64(len(h.levels[level])) {
			return -1
		}
		if word := h.levels[level][w] & (^uint64(0) << (i % 64)); word != 0 {
			i = w*64 + uint64(bits.TrailingZeros64(word))
			break
		}
		i = w + 1 // the next word of this level is the next bit of the level above
		level++
	}
	for level > 0 {
		level--
		i = i*64 + uint64(bits.TrailingZeros64(h.levels[level][i]))
	}
	return int64(i)
}

func (h *hbitmap) isFree(i uint64) bool {
	return h.levels[0][i/64]&(1<<(i%64)) != 0
}

// take marks slot i used; it reports whether the slot was free.
func (h *hbitmap) take(i uint64) bool {
	for level := range h.levels {
		w, bit := i/64, uint64(1)<<(i%64)
		old := h.levels[level][w]
		if old&bit == 0 {
			return level > 0 // already clear: at level 0 the slot was used
		}
		h.levels[level][w] = old &^ bit
		if old&^bit != 0 {
			return true // word still has free slots: summaries unchanged
		}
		i = w
	}
	return true
}

// free marks slot i free; it reports whether the slot was used.
func (h *hbitmap) free(i uint64) bool {
	for level := range h.levels {
		w, bit := i/64, uint64(1)<<(i%64)
		old := h.levels[level][w]
		if old&bit != 0 {
			return level > 0
		}
		h.levels[level][w] = old | bit
		if old != 0 {
			return true // word already had free slots: summaries already set
		}
		i = w
	}
	return true
}
