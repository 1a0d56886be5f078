package daemon

import (
	"errors"
	"net/netip"
)

// errNoFreeV6Subnet: every candidate IPv6 subnet overlaps an existing one.
var errNoFreeV6Subnet = errors.New("no free fd00:0:0:x::/64 subnet")

// freeV6Subnet picks the first unique local fd00:0:0:x::/64 (x from 1)
// that overlaps none of used, as cloud.FreeV4Subnet does for IPv4: the
// IPv6 subnet of a network created with --ipv6 and no IPv6 --subnet.
func freeV6Subnet(used []netip.Prefix) (netip.Prefix, error) {
	for x := 1; x < 1<<16; x++ {
		p := netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 6: byte(x >> 8), 7: byte(x)}), 64)
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
	return netip.Prefix{}, errNoFreeV6Subnet
}

// wantCIDR describes the --subnet expected.
func wantCIDR(v6 bool) string {
	if v6 {
		return "an IPv6 CIDR such as fd00:0:0:1::/64 (with --ipv6, give --subnet once per IP version)"
	}
	return "an IPv4 CIDR such as 10.1.2.0/24"
}
