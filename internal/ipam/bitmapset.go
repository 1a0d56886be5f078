package ipam

import "sort"

// bitmapSet is the usedSet for pools of up to maxBitmapSlots addresses: one
// hbitmap slot per pool address, pools laid end to end. Addresses outside
// the pools (fixed IPs that Neutron allows anywhere in the subnet) are few
// and are never handed out by Next, so a map is enough for them.
type bitmapSet struct {
	spans   []span
	free    *hbitmap
	outside map[u128]struct{}
}

func newBitmapSet(spans []span, total uint64) *bitmapSet {
	return &bitmapSet{spans: spans, free: newHBitmap(total), outside: map[u128]struct{}{}}
}

func (s *bitmapSet) slot(a u128) (uint64, bool) {
	i := findSpan(s.spans, a)
	if i == len(s.spans) || a.less(s.spans[i].start) {
		return 0, false
	}
	return s.spans[i].base + a.sub(s.spans[i].start).lo, true
}

func (s *bitmapSet) add(a u128) bool {
	if i, ok := s.slot(a); ok {
		return s.free.take(i)
	}
	if _, ok := s.outside[a]; ok {
		return false
	}
	s.outside[a] = struct{}{}
	return true
}

func (s *bitmapSet) remove(a u128) bool {
	if i, ok := s.slot(a); ok {
		return s.free.free(i)
	}
	if _, ok := s.outside[a]; !ok {
		return false
	}
	delete(s.outside, a)
	return true
}

func (s *bitmapSet) has(a u128) bool {
	if i, ok := s.slot(a); ok {
		return !s.free.isFree(i)
	}
	_, ok := s.outside[a]
	return ok
}

func (s *bitmapSet) nextFree(from u128) (u128, bool) {
	i := findSpan(s.spans, from)
	if i == len(s.spans) {
		return u128{}, false
	}
	slot := s.spans[i].base
	if !from.less(s.spans[i].start) {
		slot += from.sub(s.spans[i].start).lo
	}
	found := s.free.next(slot)
	if found < 0 {
		return u128{}, false
	}
	k := sort.Search(len(s.spans), func(k int) bool { return s.spans[k].base+s.spans[k].size > uint64(found) })
	return s.spans[k].start.add(uint64(found) - s.spans[k].base), true
}
