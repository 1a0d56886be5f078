package ipam

import (
	"fmt"
	"net/netip"
	"slices"
)

// Pool is an inclusive range of addresses handed out automatically. It
// marshals like Neutron's allocation_pools entries: {"start": "...", "end": "..."}.
type Pool struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

func (p Pool) String() string { return p.Start.String() + "-" + p.End.String() }

// contains reports whether a lies in the pool.
func (p Pool) contains(a netip.Addr) bool {
	return p.Start.Compare(a) <= 0 && a.Compare(p.End) <= 0
}

// DefaultPools returns the pools Neutron creates when allocation_pools is not
// given: every usable address of p (IPv4: without the network and broadcast
// addresses; IPv6: without the subnet-router anycast address, the prefix's
// first address) minus the gateway, if gateway is valid. The gateway splits
// the range in two when it is in the middle.
func DefaultPools(p netip.Prefix, gateway netip.Addr) []Pool {
	p = p.Masked()
	first, last := firstUsable(p), lastUsable(p)
	if !first.IsValid() || !last.IsValid() || first.Compare(last) > 0 {
		return nil
	}
	whole := Pool{first, last}
	if !gateway.IsValid() || !whole.contains(gateway) {
		return []Pool{whole}
	}
	var pools []Pool
	if gateway != first {
		pools = append(pools, Pool{first, gateway.Prev()})
	}
	if gateway != last {
		pools = append(pools, Pool{gateway.Next(), last})
	}
	return pools
}

// ValidatePools applies Neutron's rules to allocation pools: in every pool
// start ≤ end, both of p's family, inside p's usable range (not the network
// or, for IPv4, the broadcast address); no two pools overlap; the gateway, if
// valid, lies in no pool. Errors name the offending pool.
func ValidatePools(p netip.Prefix, gateway netip.Addr, pools []Pool) error {
	first, last := firstUsable(p), lastUsable(p)
	for i, pool := range pools {
		if !pool.Start.IsValid() || !pool.End.IsValid() {
			return fmt.Errorf("%w: allocation pool %d (%s) needs both start and end addresses", ErrInvalid, i, pool)
		}
		if pool.Start.Is4() != p.Addr().Is4() || pool.End.Is4() != p.Addr().Is4() {
			return fmt.Errorf("%w: allocation pool %s is not of the same IP version as subnet %s", ErrInvalid, pool, p)
		}
		if pool.Start.Zone() != "" || pool.End.Zone() != "" {
			return fmt.Errorf("%w: allocation pool %s: addresses must not have a zone", ErrInvalid, pool)
		}
		if pool.Start.Compare(pool.End) > 0 {
			return fmt.Errorf("%w: allocation pool %s: start is after end", ErrInvalid, pool)
		}
		if pool.Start.Compare(first) < 0 || pool.End.Compare(last) > 0 {
			return fmt.Errorf("%w: %w: allocation pool %s over-reaches subnet %s: pools must lie within %s-%s", ErrInvalid, ErrPoolOutOfBounds, pool, p, first, last)
		}
		if gateway.IsValid() && pool.contains(gateway) {
			return fmt.Errorf("%w: gateway_ip %s conflicts with allocation pool %s", ErrInvalid, gateway, pool)
		}
	}
	sorted := slices.Clone(pools)
	slices.SortFunc(sorted, func(a, b Pool) int { return a.Start.Compare(b.Start) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Start.Compare(sorted[i-1].End) <= 0 {
			return fmt.Errorf("%w: %w: allocation pools %s and %s overlap in subnet %s", ErrInvalid, ErrPoolsOverlap, sorted[i-1], sorted[i], p)
		}
	}
	return nil
}
