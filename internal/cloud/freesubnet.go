package cloud

import (
	"errors"
	"net/netip"
)

// ErrNoFreeSubnet: every candidate default subnet overlaps an existing one.
var ErrNoFreeSubnet = errors.New("no free subnet (10.x.y.0/24, fd00:0:0:x::/64)")

// FreeV4Subnet picks the first 10.x.y.0/24 (from 10.1.0.0/24 on; 10.0.0.0/16
// is skipped because it is the most common VM and sandbox range) that
// overlaps none of the given prefixes, so that a default network never
// collides with another network of the same tenant.
func FreeV4Subnet(used []netip.Prefix) (netip.Prefix, error) {
	for x := 1; x < 256; x++ {
		for y := 0; y < 256; y++ {
			if p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(x), byte(y), 0}), 24); !overlapsAny(p, used) {
				return p, nil
			}
		}
	}
	return netip.Prefix{}, ErrNoFreeSubnet
}

// FreeV6Subnet picks the first unique local fd00:0:0:x::/64 (x from 1)
// that overlaps none of the given prefixes: the IPv6 counterpart of
// FreeV4Subnet.
func FreeV6Subnet(used []netip.Prefix) (netip.Prefix, error) {
	for x := 1; x < 1<<16; x++ {
		if p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 6: byte(x >> 8), 7: byte(x)}), 64); !overlapsAny(p, used) {
			return p, nil
		}
	}
	return netip.Prefix{}, ErrNoFreeSubnet
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Overlaps(p) {
			return true
		}
	}
	return false
}
