package cloud

import "errors"

// Sentinel errors callers branch on (wrapped with the details).
var (
	// ErrAuth: the credentials were refused by the identity service.
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: a cloud endpoint could not be reached at all.
	ErrUnreachable = errors.New("cloud endpoint unreachable")
	// ErrNotFound: the named resource does not exist (or is not visible to
	// the caller's project).
	ErrNotFound = errors.New("not found")
	// ErrAmbiguous: a name matches more than one resource.
	ErrAmbiguous = errors.New("ambiguous name")
	// ErrNoCredentials: nothing to authenticate with was given.
	ErrNoCredentials = errors.New("no credentials")
	// ErrConflict: Neutron refused the request as conflicting (409), e.g. a
	// VLAN tag already used under the same parent port.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: Neutron refused the request for the caller's project
	// (403), e.g. a parent port that belongs to another tenant.
	ErrForbidden = errors.New("forbidden")
)
