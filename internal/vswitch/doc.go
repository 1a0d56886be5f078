// Package vswitch manages the VM's own Open vSwitch database: which VLAN
// each container's access port holds on the VM bridge. The database is the
// only record of those claims, so every claim is an OVSDB transaction that
// fails on conflict rather than a check-then-write, and every read comes
// from the client's monitored cache.
package vswitch
