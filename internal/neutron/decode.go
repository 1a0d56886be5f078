package neutron

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// readOnlyAttrs are attributes clients read but never set (neutron-lib's
// allow_post/allow_put False).
var readOnlyAttrs = []string{"status", "revision_number", "created_at", "updated_at", "binding:vif_type", "binding:vif_details", "trunk_details"}

// attrs is one resource's attributes from a request body.
type attrs map[string]json.RawMessage

// readBody decodes {"<resource>": {...}} and rejects attributes not in
// allowed (Neutron answers "Unrecognized attribute(s)" with 400).
func readBody(r *http.Request, resource string, allowed []string) (attrs, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, badReq("Request body is larger than %d bytes.", mbe.Limit)
		}
		return nil, badReq("Cannot read request body: %v", err)
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(data, &outer); err != nil || outer == nil {
		if !utf8.Valid(data) {
			return nil, httpBadReq("Malformed request body: it is not valid UTF-8; %s.", textRule)
		}
		return nil, httpBadReq("Malformed request body: want a JSON object {\"%s\": {...}}.", resource)
	}
	raw, ok := outer[resource]
	if !ok {
		return nil, httpBadReq("Resource body required: the request body has no \"%s\" object.", resource)
	}
	var a attrs
	if err := json.Unmarshal(raw, &a); err != nil || a == nil {
		return nil, httpBadReq("Malformed request body: \"%s\" must be a JSON object.", resource)
	}
	var unknown []string
	for k := range a {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	// What the server alone sets: Neutron names the attribute.
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if slices.Contains(readOnlyAttrs, k) {
			if r.Method == http.MethodPost {
				return nil, httpBadReq("Attribute '%s' not allowed in POST", k)
			}
			return nil, httpBadReq("Cannot update read-only attribute %s", k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, httpBadReq("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if err := checkText(k, a[k]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func (a attrs) has(k string) bool { _, ok := a[k]; return ok }

func (a attrs) isNull(k string) bool { return bytes.Equal(bytes.TrimSpace(a[k]), []byte("null")) }

// str returns a string attribute (nil when absent).
func (a attrs) str(k string) (*string, error) {
	raw, ok := a[k]
	if !ok {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, invalid("Invalid input for %s. Reason: '%s' is not a valid string.", k, clip(raw))
	}
	if err := checkText(k, raw); err != nil {
		return nil, err
	}
	if err := checkLength(k, s); err != nil {
		return nil, err
	}
	return &s, nil
}

// boolean returns a boolean attribute; like Neutron it also takes the
// strings "true"/"false" (any case).
func (a attrs) boolean(k string) (*bool, error) {
	raw, ok := a[k]
	if !ok {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return &b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "true", "1":
			b = true
			return &b, nil
		case "false", "0":
			return &b, nil
		}
	}
	return nil, invalid("Invalid input for %s. Reason: '%s' is not a valid boolean value.", k, clip(raw))
}

// integer returns an integral JSON number attribute in [lo, hi].
func integer(field string, raw json.RawMessage, lo, hi int) (int, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil || f != math.Trunc(f) {
		return 0, invalid("Invalid input for %s. Reason: '%s' is not an integer.", field, clip(raw))
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, invalid("Invalid input for %s. Reason: '%s' is out of range (%d to %d).", field, clip(raw), lo, hi)
	}
	return int(f), nil
}

func parseAddr(field, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, httpBadReq("Invalid input for %s. Reason: '%s' is not a valid IP address.", field, clip(s))
	}
	return a.Unmap(), nil
}

// projectFor resolves project_id/tenant_id of a create request: a member
// may name only its own project.
func projectFor(a attrs, c Caller) (string, error) {
	var got string
	for _, k := range []string{"project_id", "tenant_id"} {
		v, err := a.str(k)
		if err != nil {
			return "", err
		}
		if v == nil {
			continue
		}
		if got != "" && *v != got {
			return "", httpBadReq("project_id and tenant_id do not match (%q, %q).", got, *v)
		}
		got = *v
	}
	if got == "" {
		return c.ProjectID, nil
	}
	if got != c.ProjectID && !c.Admin {
		return "", httpBadReq("Specifying 'project_id' or 'tenant_id' other than the authenticated project in request requires admin privileges")
	}
	return got, nil
}
