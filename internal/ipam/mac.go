package ipam

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
)

// MACGenerator makes MAC addresses with a fixed prefix and a random tail,
// like Neutron's base_mac. Uniqueness is not its job: the server commits the
// MAC to NB and retries with another on conflict. It is safe for concurrent
// use (it has no mutable state; math/rand/v2's top-level source is
// goroutine-safe and seeded unpredictably).
type MACGenerator struct {
	base []byte
}

// NewMACGenerator parses base, 1 to 5 colon-separated octets such as
// "fa:16:3e" (Neutron's default). The base must be unicast (the lowest bit
// of the first octet clear) so that every generated address is unicast.
func NewMACGenerator(base string) (*MACGenerator, error) {
	parts := strings.Split(base, ":")
	if base == "" || len(parts) > 5 {
		return nil, fmt.Errorf("%w: MAC base %q: want 1 to 5 colon-separated hex octets such as \"fa:16:3e\"", ErrInvalid, base)
	}
	b := make([]byte, len(parts))
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if len(p) != 2 || err != nil {
			return nil, fmt.Errorf("%w: MAC base %q: octet %q is not two hex digits", ErrInvalid, base, p)
		}
		b[i] = byte(v)
	}
	if b[0]&1 != 0 {
		return nil, fmt.Errorf("%w: MAC base %q is multicast (lowest bit of the first octet set): use a unicast base such as \"fa:16:3e\"", ErrInvalid, base)
	}
	return &MACGenerator{base: b}, nil
}

// Next returns a new address: the base followed by random octets.
func (g *MACGenerator) Next() net.HardwareAddr {
	mac := make(net.HardwareAddr, 8) // 8 so the random tail can be written in one go
	binary.BigEndian.PutUint64(mac, rand.Uint64())
	copy(mac, g.base)
	return mac[:6:6]
}

// ParseMAC parses a user-requested mac_address: 6 octets, unicast and not
// all zeros.
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil {
		return nil, fmt.Errorf("%w: mac_address %q is not a MAC address such as \"fa:16:3e:12:34:56\"", ErrInvalid, s)
	}
	if len(mac) != 6 {
		return nil, fmt.Errorf("%w: mac_address %q has %d octets: want 6", ErrInvalid, s, len(mac))
	}
	if mac[0]&1 != 0 {
		return nil, fmt.Errorf("%w: mac_address %q is multicast or broadcast: want a unicast address", ErrInvalid, s)
	}
	if string(mac) == "\x00\x00\x00\x00\x00\x00" {
		return nil, fmt.Errorf("%w: mac_address %q is all zeros", ErrInvalid, s)
	}
	return mac, nil
}
