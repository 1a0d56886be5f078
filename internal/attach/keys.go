package attach

import (
	"maps"
	"slices"
	"strings"
)

// external_ids keys on the OVS port of an attachment. They are everything
// Detach and GC need, so no local state file exists.
const (
	KeyContainer = "ovn-docker:container" // owner of the netns (container id), may be empty
	KeyNetns     = "ovn-docker:netns"     // netns path at attach time
	KeyIfName    = "ovn-docker:ifname"    // interface name inside the netns
	KeyNetwork   = "ovn-docker:network"   // Neutron network id
	KeyPort      = "ovn-docker:port"      // Neutron port id, once created
	KeyVIF       = "ovn-docker:vif"       // the VM's port (parent)
	KeyVIFMAC    = "ovn-docker:vif-mac"   // its MAC, found equal to the VM NIC's (see DiscoverVM)
	KeyTrunk     = "ovn-docker:trunk"     // trunk mode: the trunk the port is a subport of
	KeyState     = "ovn-docker:state"     // "attaching" until done, then "ready"
	KeyPID       = "ovn-docker:pid"       // pid of the process attaching (for GC)
	// KeyClaimed is when the VLAN was claimed (Unix milliseconds), just
	// before the Neutron port is created: GC waits for a create that a
	// killed process may have left in flight (see createSettle).
	KeyClaimed = "ovn-docker:claimed"
	// KeyTags names, comma-separated, the keys of the caller's tags
	// (Request.Tags) recorded with the claim: they are the attachment's,
	// so a port going back to the pool loses them with it.
	KeyTags = "ovn-docker:tags"

	// What an attach needs besides Neutron's port id, recorded when the
	// port is made, so that a pooled port is attached without asking
	// Neutron anything.
	KeyNetworkName = "ovn-docker:network-name" // the network's name when the port was made
	KeyProject     = "ovn-docker:project"      // the project that owns the Neutron port
	KeyMAC         = "ovn-docker:mac"
	KeyAddresses   = "ovn-docker:addresses" // fixed IPs with their subnets' prefix lengths, comma-separated
	KeyGateways    = "ovn-docker:gateways"  // the subnets' gateways, comma-separated
	KeyMTU         = "ovn-docker:mtu"
	// KeyDHCPProbe is the IPv4 address whose subnet has DHCP enabled, the
	// one attach probes the data path with (see probeDataPath); "none":
	// no such subnet, no probe. Entries made before the key existed do
	// not have it and are not probed: they were bound long before they
	// are taken, so their flows are in place.
	KeyDHCPProbe = "ovn-docker:dhcp-probe"
	// KeyDNS: the dns_nameservers of the port's subnets, comma-separated
	// (empty: none); the container's resolvers.
	KeyDNS = "ovn-docker:dns"
	// KeyPooled = "true": the Neutron port is a pool port (named
	// PoolPortName, no device_id), which may go back to the pool when its
	// attachment ends.
	KeyPooled = "ovn-docker:pooled"
	// KeyParked: the name of a pool entry's veth end parked in the VM
	// (PeerName of the access port; the other end is the access port's
	// interface, opened by OVS, the data path proven from the parked
	// end), set while the entry has one: taking the entry moves that end
	// into the container instead of making a veth.
	KeyParked = "ovn-docker:parked"

	// KeyPoolTargetPrefix + network id (+ "/" + security group ids for a
	// set other than the default, see poolKey), on the VM bridge: how many
	// ready pool ports that pool should have.
	KeyPoolTargetPrefix = "ovn-docker:pool-target:"
	// KeyVIFMACPrefix + vif-id, on the VM bridge: the VM port's MAC,
	// found equal to the VM NIC's (DiscoverVM need not ask Neutron again).
	KeyVIFMACPrefix = "ovn-docker:vif-mac:"
	// KeyTrunkPrefix + vif-id, on the VM bridge: the trunk whose parent is
	// the VM's port (an attach need not look for it).
	KeyTrunkPrefix = "ovn-docker:trunk:"
)

// States (KeyState). An attachment is "attaching", then "ready". A pool
// entry (an access port with a Neutron port but no namespace) is
// "pool-filling" while `pool fill` makes it, "pool" when it can be taken,
// "pool-returning" while a detach gives it back and "pool-draining" while
// it is deleted. Transitional states carry KeyPID, so GC leaves them alone
// while that process lives.
const (
	stateAttaching = "attaching"
	stateReady     = "ready"
	stateFilling   = "pool-filling"
	statePool      = "pool"
	stateReturning = "pool-returning"
	stateDraining  = "pool-draining"
)

// withTags adds tags, and the list of their keys (KeyTags), to ids.
func withTags(ids, tags map[string]string) map[string]string {
	if len(tags) == 0 {
		return ids
	}
	keys := slices.Sorted(maps.Keys(tags))
	for _, k := range keys {
		ids[k] = tags[k]
	}
	ids[KeyTags] = strings.Join(keys, ",")
	return ids
}

// withoutTags adds to update the removal of the tags recorded in have
// (see withTags).
func withoutTags(update, have map[string]string) map[string]string {
	if have[KeyTags] == "" {
		return update
	}
	for k := range strings.SplitSeq(have[KeyTags], ",") {
		update[k] = ""
	}
	update[KeyTags] = ""
	return update
}
