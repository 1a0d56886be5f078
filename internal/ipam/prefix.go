package ipam

import (
	"fmt"
	"net/netip"
)

// Longest prefixes accepted for a subnet. Like Neutron, a subnet must leave
// room for at least two usable addresses besides the reserved ones: /31 and
// /32 (v4) and /127 and /128 (v6) are rejected.
const (
	maxPrefixLen4 = 30
	maxPrefixLen6 = 126
)

// ParsePrefix validates a subnet CIDR the way Neutron does. The address must
// be the network address ("10.0.0.5/24" is rejected, naming "10.0.0.0/24"),
// the prefix length must be at most /30 for IPv4 and /126 for IPv6, and
// ipVersion, unless 0 ("any"), must be 4 or 6 and match the CIDR's family.
func ParsePrefix(cidr string, ipVersion int) (netip.Prefix, error) {
	if ipVersion != 0 && ipVersion != 4 && ipVersion != 6 {
		return netip.Prefix{}, fmt.Errorf("%w: ip_version %d: allowed values are 4 and 6", ErrInvalid, ipVersion)
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q is not an address/prefix-length such as 10.0.0.0/24 or fd00::/64", ErrInvalid, cidr)
	}
	version := 6
	if p.Addr().Is4() {
		version = 4
	}
	if ipVersion != 0 && ipVersion != version {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q is IPv%d but ip_version is %d", ErrInvalid, cidr, version, ipVersion)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q is not a network address: use %q", ErrInvalid, cidr, m.String())
	}
	limit := maxPrefixLen6
	if version == 4 {
		limit = maxPrefixLen4
	}
	if p.Bits() > limit {
		return netip.Prefix{}, fmt.Errorf("%w: cidr %q: prefix length /%d is too long, IPv%d subnets allow /0 to /%d", ErrInvalid, cidr, p.Bits(), version, limit)
	}
	return p, nil
}

// DefaultGateway returns the first usable address of p (x.x.x.1 or ::1),
// which is what Neutron picks when gateway_ip is not given.
func DefaultGateway(p netip.Prefix) netip.Addr {
	return p.Masked().Addr().Next()
}

// ValidateGateway applies Neutron's rule (check_gateway_invalid_in_subnet):
// the gateway is of p's IP version and, when inside p, neither the network
// address nor, for IPv4, the broadcast address. A gateway outside p is
// allowed, as in Neutron (an upstream router on a provider network).
func ValidateGateway(p netip.Prefix, gateway netip.Addr) error {
	if !gateway.IsValid() {
		return fmt.Errorf("%w: gateway_ip is empty: give an address inside %s", ErrInvalid, p)
	}
	if gateway.Is4() != p.Addr().Is4() {
		return fmt.Errorf("%w: gateway_ip %s is not of the IP version of subnet %s", ErrInvalid, gateway, p)
	}
	if !p.Contains(gateway) {
		return nil
	}
	if reason := reservedReason(p, gateway); reason != "" {
		return fmt.Errorf("%w: gateway_ip %s is %s of %s: use an address from %s to %s", ErrInvalid, gateway, reason, p, firstUsable(p), lastUsable(p))
	}
	return nil
}

// reservedReason says why addr (inside p) can never be assigned, or "" if it
// can. The v6 subnet-router anycast address is treated like the network
// address, as Neutron does for ports that are not router ports.
func reservedReason(p netip.Prefix, addr netip.Addr) string {
	switch {
	case addr == p.Masked().Addr():
		return "the network address"
	case addr.Is4() && addr == lastAddr(p):
		return "the broadcast address"
	}
	return ""
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	v4 := p.Addr().Is4()
	return u128FromAddr(p.Masked().Addr()).or(hostMask(p)).addr(v4)
}

// firstUsable and lastUsable bound the addresses that may be assigned:
// everything except the network address and, for IPv4, the broadcast address.
func firstUsable(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

func lastUsable(p netip.Prefix) netip.Addr {
	last := lastAddr(p)
	if last.Is4() {
		return last.Prev()
	}
	return last
}

// hostMask has the host bits of p set.
func hostMask(p netip.Prefix) u128 {
	total := 128
	if p.Addr().Is4() {
		total = 32
	}
	return u128{}.not().shr(uint(128 - total + p.Bits()))
}
