package vswitch

import (
	"fmt"
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

const portPrefix = "ovdv"

// PortName is the name of the OVS port, its interface and the VM-side veth
// for a VLAN. The VLAN is unique in the VM, so names never collide, and a
// leftover after a crash tells what it was.
func PortName(vlan int) string { return portPrefix + strconv.Itoa(vlan) }

// VLANFromPortName is the inverse of PortName.
func VLANFromPortName(name string) (int, error) {
	s, ok := strings.CutPrefix(name, portPrefix)
	if !ok {
		return 0, fmt.Errorf("port name %q does not start with %q", name, portPrefix)
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < MinVLAN || v > MaxVLAN || PortName(v) != name {
		return 0, fmt.Errorf("port name %q does not end in a VLAN %d–%d", name, MinVLAN, MaxVLAN)
	}
	return v, nil
}
