package vswitch

import "errors"

// Sentinel errors callers branch on. Returned errors wrap them with the
// values involved and what to do.
var (
	// ErrNoFreeVLAN: all VLANs 1–4094 are in use on this VM.
	ErrNoFreeVLAN = errors.New("no free VLAN")
	// ErrNotFound: the named port or interface does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNoBridge: the VM's OVSDB has no (such) bridge.
	ErrNoBridge = errors.New("no bridge")
	// ErrManyBridges: DefaultBridge cannot choose among several bridges.
	ErrManyBridges = errors.New("more than one bridge")
	// ErrNotOwned: the port exists but was not created by ovn-docker, so it
	// is left alone.
	ErrNotOwned = errors.New("port not owned by ovn-docker")
	// ErrChanged: a guarded update found the port's external_ids not as
	// expected (another process changed them first); nothing was changed.
	ErrChanged = errors.New("port changed meanwhile")
)
