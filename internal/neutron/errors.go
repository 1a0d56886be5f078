package neutron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// neutronError is Neutron's error body.
type neutronError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	Detail  string `json:"detail"`
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]neutronError{"NeutronError": {Type: typ, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// badRequest is a 400 with Neutron's "InvalidInput" wording.
type badRequest struct {
	typ string
	msg string
}

func (e *badRequest) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &badRequest{typ: "InvalidInput", msg: "Invalid input for operation: " + fmt.Sprintf(format, args...)}
}

func badReq(format string, args ...any) error {
	return &badRequest{typ: "BadRequest", msg: fmt.Sprintf(format, args...)}
}

// httpBadReq is the 400 Neutron's API layer gives before the request
// reaches a plugin (its type is webob's, HTTPBadRequest): a body that does
// not parse, an attribute unknown, missing, not allowed or refused by its
// validator, a project the caller may not name.
func httpBadReq(format string, args ...any) error {
	return &badRequest{typ: "HTTPBadRequest", msg: fmt.Sprintf(format, args...)}
}

// conflict is a 409 decided by the API layer.
type conflict struct{ typ, msg string }

func (e *conflict) Error() string { return e.msg }

// forbidden is a 403 for a policy refusal that does not reveal anything
// the caller cannot already see.
type forbidden struct{ msg string }

func (e *forbidden) Error() string { return e.msg }

// fail answers err with the right status and Neutron error type.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var fb *forbidden
	var cf *conflict
	var oe *ovn.Error
	switch {
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.typ, br.msg)
	case errors.As(err, &cf):
		writeError(w, http.StatusConflict, cf.typ, cf.msg)
	case errors.As(err, &fb):
		writeError(w, http.StatusForbidden, "PolicyNotAuthorized", fb.msg)
	case errors.As(err, &oe):
		status := http.StatusInternalServerError
		switch {
		case errors.Is(oe.Kind, ovn.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(oe.Kind, ovn.ErrConflict):
			status = http.StatusConflict
		case errors.Is(oe.Kind, ovn.ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(oe.Kind, ovn.ErrForbidden):
			status = http.StatusForbidden
		case errors.Is(oe.Kind, ovn.ErrPrecondition):
			status = http.StatusPreconditionFailed
		case errors.Is(oe.Kind, ovn.ErrUnavailable):
			// Neutron's ResourceExhausted (NoNetworkAvailable, …)
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, oe.Type, oe.Message)
	case errors.Is(err, ovn.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable",
			"The networking service cannot reach its database right now; try again.")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "InternalServerError",
			"Request failed: internal server error while processing your request.")
	}
}
