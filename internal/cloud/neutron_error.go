package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// apiError turns a Neutron failure into an error that names what was being
// done, where, and Neutron's own explanation, wrapping a sentinel the caller
// can branch on.
func (c *Client) apiError(what string, err error) error {
	// A 401 answered by authenticating again: what that said, or what the
	// retried request got.
	var reauth *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &reauth) {
		return fmt.Errorf("%s: %w", what, reauth.ErrReauth)
	}
	var after *gophercloud.ErrErrorAfterReauthentication
	if errors.As(err, &after) && after.ErrOriginal != nil {
		err = after.ErrOriginal
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) {
		if isUnreachable(err) {
			return fmt.Errorf("%s: %w: cannot reach Neutron at %s: %v (check that this host has a route to it and that Neutron runs there, then try again)", what, ErrUnreachable, c.net.Endpoint, rootCause(err))
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	msg := neutronMessage(code.Body)
	var sentinel error
	switch code.Actual {
	case http.StatusNotFound:
		sentinel = ErrNotFound
	case http.StatusConflict:
		sentinel = ErrConflict
	case http.StatusForbidden:
		sentinel = ErrForbidden
	case http.StatusUnauthorized:
		return fmt.Errorf("%s: %w: Neutron at %s refused the credentials (expired token? get a new one with `openstack token issue`)", what, ErrAuth, c.net.Endpoint)
	default:
		return fmt.Errorf("%s: Neutron at %s answered %d: %s", what, c.net.Endpoint, code.Actual, msg)
	}
	return fmt.Errorf("%s: %w: %s", what, sentinel, msg)
}

// neutronMessage extracts NeutronError.message from an error body.
func neutronMessage(body []byte) string {
	var e struct {
		NeutronError struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"NeutronError"`
	}
	if json.Unmarshal(body, &e) == nil && e.NeutronError.Message != "" {
		return e.NeutronError.Message
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return string(body)
}
