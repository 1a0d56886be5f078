package ovn

import (
	"errors"
	"fmt"
)

// Kinds of failure callers branch on (the HTTP layer maps them to status
// codes).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid input")
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
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func newErr(kind error, typ, format string, args ...any) *Error {
	return &Error{Kind: kind, Type: typ, Message: fmt.Sprintf(format, args...)}
}

func networkNotFound(id string) *Error {
	return newErr(ErrNotFound, "NetworkNotFound", "Network %s could not be found.", id)
}

func subnetNotFound(id string) *Error {
	return newErr(ErrNotFound, "SubnetNotFound", "Subnet %s could not be found.", id)
}

func portNotFound(id string) *Error {
	return newErr(ErrNotFound, "PortNotFound", "Port %s could not be found.", id)
}
