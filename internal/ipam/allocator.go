package ipam

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"sync"
)

// Allocator hands out addresses of one subnet. It is safe for concurrent use.
//
// Next allocates from a rotating cursor rather than always the lowest free
// address, like Neutron: a released address is not handed out again at once,
// which lowers the chance that a stale ARP/ND entry or an NB transaction
// still in flight refers to it, and keeps the steady-state cost flat.
//
// Pools of up to 2^24 addresses (anything up to a full IPv4 /8) are a bitmap
// with summary levels (hbitmap): Next costs a few word operations at any fill
// level, including near exhaustion, for 2 MiB per /8. Larger pools (an IPv6
// /64) cannot be a bitmap and are a sparse set of 256-address chunks holding
// only used addresses (sparseSet), with memory proportional to the addresses
// in use. Addresses reserved outside the pools are kept aside and never
// slow Next down.
type Allocator struct {
	prefix netip.Prefix
	v4     bool
	spans  []span
	total  *big.Int // pool addresses, for error messages only

	mu     sync.Mutex
	set    usedSet
	cursor u128
	used   int
}

// NewAllocator returns an allocator for prefix p that hands out addresses
// from pools (validated with ValidatePools; no gateway check, the caller
// does that). Empty pools are allowed, as in Neutron: Next then always fails
// with ErrExhausted and only Reserve assigns addresses.
func NewAllocator(p netip.Prefix, pools []Pool) (*Allocator, error) {
	if !p.IsValid() || p.Masked() != p {
		return nil, fmt.Errorf("%w: prefix %s must be a network address such as %s", ErrInvalid, p, p.Masked())
	}
	if err := ValidatePools(p, netip.Addr{}, pools); err != nil {
		return nil, err
	}
	sorted := slices.Clone(pools)
	slices.SortFunc(sorted, func(a, b Pool) int { return a.Start.Compare(b.Start) })

	a := &Allocator{prefix: p, v4: p.Addr().Is4(), total: new(big.Int)}
	var base uint64
	bitmap := true
	for _, pool := range sorted {
		sp := span{start: u128FromAddr(pool.Start), end: u128FromAddr(pool.End), base: base}
		size := sp.end.sub(sp.start) // size-1, may be up to 2^128-1
		a.total.Add(a.total, new(big.Int).Add(new(big.Int).Lsh(new(big.Int).SetUint64(size.hi), 64), new(big.Int).SetUint64(size.lo)))
		a.total.Add(a.total, big.NewInt(1))
		if size.hi != 0 || size.lo >= maxBitmapSlots || base+size.lo+1 > maxBitmapSlots {
			bitmap = false
		} else {
			sp.size = size.lo + 1
			base += sp.size
		}
		a.spans = append(a.spans, sp)
	}
	if bitmap {
		a.set = newBitmapSet(a.spans, base)
	} else {
		a.set = newSparseSet(a.spans)
	}
	if len(a.spans) > 0 {
		a.cursor = a.spans[0].start
	}
	return a, nil
}

// Next returns a free address from the pools and marks it used.
func (a *Allocator) Next() (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.spans) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: subnet %s has no allocation pools", ErrExhausted, a.prefix)
	}
	addr, ok := a.set.nextFree(a.cursor)
	if !ok {
		addr, ok = a.set.nextFree(a.spans[0].start) // wrap around
	}
	if !ok {
		return netip.Addr{}, fmt.Errorf("%w: all %s addresses of the allocation pools of subnet %s are in use", ErrExhausted, a.total, a.prefix)
	}
	a.set.add(addr)
	a.used++
	a.cursor = addr.add(1)
	return addr.addr(a.v4), nil
}

// Reserve marks a specific address used. Any usable address of the prefix
// may be reserved, inside or outside the pools (Neutron allows fixed_ips
// anywhere in the subnet), but not the network address or the IPv4
// broadcast address.
func (a *Allocator) Reserve(addr netip.Addr) error {
	if !addr.IsValid() || !a.prefix.Contains(addr) {
		return fmt.Errorf("%w: address %s is outside subnet %s", ErrOutOfRange, addr, a.prefix)
	}
	if reason := reservedReason(a.prefix, addr); reason != "" {
		return fmt.Errorf("%w: address %s is %s of subnet %s: use an address from %s to %s",
			ErrOutOfRange, addr, reason, a.prefix, firstUsable(a.prefix), lastUsable(a.prefix))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.set.add(u128FromAddr(addr)) {
		return fmt.Errorf("%w: address %s of subnet %s is already allocated", ErrInUse, addr, a.prefix)
	}
	a.used++
	return nil
}

// MarkUsed records that addr is used (seen in the NB database). It is
// idempotent and ignores addresses outside the prefix; unlike Reserve it
// accepts the network address, which NB may hold for a router port.
func (a *Allocator) MarkUsed(addr netip.Addr) {
	if !addr.IsValid() || !a.prefix.Contains(addr) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.set.add(u128FromAddr(addr)) {
		a.used++
	}
}

// Release frees addr. It is idempotent and ignores addresses it never saw.
func (a *Allocator) Release(addr netip.Addr) {
	if !addr.IsValid() || !a.prefix.Contains(addr) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.set.remove(u128FromAddr(addr)) {
		a.used--
	}
}

// InUse reports whether addr is marked used.
func (a *Allocator) InUse(addr netip.Addr) bool {
	if !addr.IsValid() || !a.prefix.Contains(addr) {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.set.has(u128FromAddr(addr))
}

// Used returns the number of addresses marked used, inside or outside the pools.
func (a *Allocator) Used() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}

// Prefix returns the subnet the allocator serves.
func (a *Allocator) Prefix() netip.Prefix { return a.prefix }
