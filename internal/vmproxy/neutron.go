package vmproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Upstream is the real Neutron API, called with the proxy's own credential.
type Upstream interface {
	// Forward sends a request below /v2.0/ and returns Neutron's status
	// and body whatever the status.
	Forward(ctx context.Context, method, path string, body []byte) (int, []byte, error)
}

// port is what the proxy reads of a Neutron port (the body it passes on
// is Neutron's own).
type port struct {
	ID          string `json:"id"`
	NetworkID   string `json:"network_id"`
	ProjectID   string `json:"project_id"`
	MAC         string `json:"mac_address"`
	Description string `json:"description"`
	DeviceOwner string `json:"device_owner"`
	FixedIPs    []struct {
		IP string `json:"ip_address"`
	} `json:"fixed_ips"`
	Profile map[string]any `json:"binding:profile"`
}

func (p port) parent() string {
	s, _ := p.Profile["parent_name"].(string)
	return s
}

type network struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Shared    bool   `json:"shared"`
	External  bool   `json:"router:external"`
}

type trunk struct {
	ID        string `json:"id"`
	PortID    string `json:"port_id"`
	ProjectID string `json:"project_id"`
	SubPorts  []struct {
		PortID string `json:"port_id"`
	} `json:"sub_ports"`
}

// ChildMarker is the description ovn-docker gives the ports it makes in
// trunk mode (attach.ChildMarker): "ovn-docker child of <vif-id>",
// optionally followed by " via <access port>". It is how a port that is not
// a subport yet is known to be meant for a VM.
func ChildMarker(vifID string) string { return "ovn-docker child of " + vifID }

func isChildDescription(desc, vifID string) bool {
	m := ChildMarker(vifID)
	return desc == m || strings.HasPrefix(desc, m+" via ")
}

// upstreamError: Neutron could not be asked, or answered something the
// proxy cannot read.
type upstreamError struct{ err error }

func (e upstreamError) Error() string { return e.err.Error() }
func (e upstreamError) Unwrap() error { return e.err }

// get fetches one resource into v; found is false on 404.
func get(ctx context.Context, up Upstream, path, key string, v any) (found bool, err error) {
	st, b, err := up.Forward(ctx, http.MethodGet, path, nil)
	if err != nil {
		return false, upstreamError{err}
	}
	if st == http.StatusNotFound {
		return false, nil
	}
	if st != http.StatusOK {
		return false, upstreamError{fmt.Errorf("GET %s: Neutron answered %d", strings.SplitN(path, "?", 2)[0], st)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return false, upstreamError{fmt.Errorf("GET %s: %w", path, err)}
	}
	if err := json.Unmarshal(m[key], v); err != nil {
		return false, upstreamError{fmt.Errorf("GET %s: %w", path, err)}
	}
	return true, nil
}

// list fetches a collection: each item raw and decoded.
func list[T any](ctx context.Context, up Upstream, path, key string) ([]json.RawMessage, []T, error) {
	st, b, err := up.Forward(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, upstreamError{err}
	}
	if st != http.StatusOK {
		return nil, nil, upstreamError{fmt.Errorf("GET %s: Neutron answered %d", strings.SplitN(path, "?", 2)[0], st)}
	}
	var m map[string][]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, upstreamError{fmt.Errorf("GET %s: %w", path, err)}
	}
	raws := m[key]
	out := make([]T, len(raws))
	for i, r := range raws {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, nil, upstreamError{fmt.Errorf("GET %s: %w", path, err)}
		}
	}
	return raws, out, nil
}

// query builds a query string from the allowed keys of q plus fixed ones.
func query(q url.Values, allowed []string, fixed map[string]string) string {
	out := url.Values{}
	for _, k := range allowed {
		if vs, ok := q[k]; ok {
			out[k] = vs
		}
	}
	for k, v := range fixed {
		out.Set(k, v)
	}
	if len(out) == 0 {
		return ""
	}
	return "?" + out.Encode()
}
