package vswitch

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// VLAN range usable for access ports (0 and 4095 are reserved by 802.1Q).
const (
	MinVLAN = 1
	MaxVLAN = 4094
)

// Ownership marker in external_ids of every Port and Interface this package
// creates: AccessPorts lists only those, and Release refuses the others.
const (
	OwnerKey   = "ovn-docker:owner"
	OwnerValue = "ovn-docker"
)

// AccessPortPrefix starts the name of every access port (and its VM-side
// veth) this package makes, so that they are never taken for the VM's
// uplink.
const AccessPortPrefix = "ovd"

// legacyPrefix: names of earlier versions, "ovdv<VLAN>", still recognised.
const legacyPrefix = AccessPortPrefix + "v"

// nameSuffixHex: hex digits of random suffix in a name (36 bits).
const nameSuffixHex = 9

// NewPortName names the OVS port, its interface and the VM-side veth of an
// access port for vlan: "ovd", the VLAN in three hex digits, nine random
// hex digits (15 characters, the kernel's limit). A name is never used
// twice: reusing the name of a port just deleted let ovs-vswitchd, still
// closing the old device, miss the new veth of that name (it never opened
// it). The VLAN in the name tells what a leftover was.
func NewPortName(vlan int) string {
	return fmt.Sprintf("%s%03x%0*x", AccessPortPrefix, vlan, nameSuffixHex, rand.Uint64()&(1<<(4*nameSuffixHex)-1))
}

// VLANFromPortName is the VLAN a name of NewPortName (or of earlier
// versions, "ovdv<VLAN>") was made for.
func VLANFromPortName(name string) (int, error) {
	if s, ok := strings.CutPrefix(name, legacyPrefix); ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < MinVLAN || v > MaxVLAN || legacyPrefix+strconv.Itoa(v) != name {
			return 0, fmt.Errorf("port name %q does not end in a VLAN %d–%d", name, MinVLAN, MaxVLAN)
		}
		return v, nil
	}
	s, ok := strings.CutPrefix(name, AccessPortPrefix)
	if !ok || len(s) != 3+nameSuffixHex {
		return 0, fmt.Errorf("port name %q is not an access port's (%s + 3 hex digits of VLAN + %d hex digits)", name, AccessPortPrefix, nameSuffixHex)
	}
	if _, err := strconv.ParseUint(s[3:], 16, 64); err != nil {
		return 0, fmt.Errorf("port name %q is not an access port's: %w", name, err)
	}
	v, err := strconv.ParseUint(s[:3], 16, 16)
	if err != nil || v < MinVLAN || v > MaxVLAN {
		return 0, fmt.Errorf("port name %q does not carry a VLAN %d–%d", name, MinVLAN, MaxVLAN)
	}
	return int(v), nil
}
