package ipam

import "errors"

// Sentinel errors callers branch on (for example to choose an HTTP status).
// Returned errors wrap one of these with details naming the bad value.
var (
	// ErrExhausted: no free address is left in the allocation pools.
	ErrExhausted = errors.New("no free address")
	// ErrInUse: the requested address is already allocated.
	ErrInUse = errors.New("address in use")
	// ErrOutOfRange: the requested address is not a usable address of the subnet.
	ErrOutOfRange = errors.New("address out of range")
	// ErrInvalid: malformed or inconsistent input (CIDR, pool, gateway, MAC).
	ErrInvalid = errors.New("invalid value")
	// ErrPoolOutOfBounds (with ErrInvalid): an allocation pool reaches
	// beyond the subnet's usable addresses (Neutron's
	// OutOfBoundsAllocationPool).
	ErrPoolOutOfBounds = errors.New("allocation pool out of bounds")
	// ErrPoolsOverlap (with ErrInvalid): two allocation pools overlap
	// (Neutron's OverlappingAllocationPools, a conflict).
	ErrPoolsOverlap = errors.New("allocation pools overlap")
)
