package ovn

import (
	"errors"
	"fmt"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Kinds of failure callers branch on (the HTTP layer maps them to status
// codes).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid input")
	// ErrForbidden: the caller sees the resource but may not do this
	// with it.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: NB could not be reached or kept refusing the
	// transaction (retries exhausted).
	ErrUnavailable = errors.New("northbound database unavailable")
)

// Error is a failure with a Neutron error type ("NetworkNotFound",
// "IpAddressAlreadyAllocated", …) and a message for the client.
type Error struct {
	Kind    error
	Type    string
	Message string
	// table and id name what was not found (for catching up, see catchUp).
	table, id string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, typ, format string, args ...any) *Error {
	return &Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func notFound(table, typ, what, id string) *Error {
	e := newErr(ErrNotFound, typ, "%s %s could not be found.", what, id)
	e.table, e.id = table, id
	return e
}

func networkNotFound(id string) *Error {
	return notFound(nbdb.LogicalSwitchTable, "NetworkNotFound", "Network", id)
}

func subnetNotFound(id string) *Error {
	return notFound(nbdb.DHCPOptionsTable, "SubnetNotFound", "Subnet", id)
}

func portNotFound(id string) *Error {
	return notFound(nbdb.LogicalSwitchPortTable, "PortNotFound", "Port", id)
}

// PoolError is Neutron's answer to allocation pools ipam.ValidatePools
// refused: OutOfBoundsAllocationPool (400) and OverlappingAllocationPools
// (409) by their own types, as Neutron answers them, anything else
// InvalidInput.
func PoolError(err error) *Error {
	switch {
	case errors.Is(err, ipam.ErrPoolOutOfBounds):
		return newErr(ErrInvalid, "OutOfBoundsAllocationPool", "The allocation pool spans beyond the subnet cidr: %v.", err)
	case errors.Is(err, ipam.ErrPoolsOverlap):
		return newErr(ErrConflict, "OverlappingAllocationPools", "Found overlapping allocation pools: %v.", err)
	}
	return newErr(ErrInvalid, "InvalidInput", "Invalid input for allocation_pools. Reason: %v", err)
}
