package cloud

import (
	"errors"
	"net/netip"
)

// ErrNoFreeSubnet: every candidate default subnet overlaps an existing one.
var ErrNoFreeSubnet = errors.New("no free 10.x.y.0/24 subnet")

// FreeV4Subnet picks the first 10.x.y.0/24 (from 10.1.0.0/24 on; 10.0.0.0/16
// is skipped because it is the most common VM and sandbox range) that
// overlaps none of the given prefixes, so that a default network never
// collides with another network of the same tenant.
func FreeV4Subnet(used []netip.Prefix) (netip.Prefix, error) {
	for x := 1; x < 256; x++ {
		for y := 0; y < 256; y++ {
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(x), byte(y), 0}), 24)
			free := true
			for _, u := range used {
				if u.Overlaps(p) {
					free = false
					break
				}
			}
			if free {
				return p, nil
			}
		}
	}
	return netip.Prefix{}, ErrNoFreeSubnet
}
