// Package attach is the front-end independent core of the plugin: it
// connects a network namespace to a Neutron network through the VM's OVS
// (a VLAN access port whose tag tells the container apart on the VM's
// trunk NIC) and disconnects it again, undoing every step on failure.
//
// The Docker CLI front end, and later CNI, only decide which namespace to
// attach; everything else happens here. For an engine that makes the
// namespace and moves the interface itself (Docker's libnetwork, through
// `ovn-docker daemon`), the same steps come apart: Reserve, Plug with the
// free end of the veth handed over, Unplug, Free (see engine.go). The state of an
// attachment lives in the external_ids of its OVS port and in Neutron, so
// that Detach and GC can always find what an Attach made.
//
// With a PoolSwitch (Attacher.Pool), Neutron ports can be made ahead of
// need (FillPool): Attach then takes a ready one and asks Neutron nothing,
// and Detach gives it back while the network's pool is below its target
// (see pool.go).
package attach
