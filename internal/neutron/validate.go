package neutron

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Limits on string attributes, as Neutron's API definitions and database
// columns have them. Every string attribute not listed here is bounded by
// maxOtherLen; the body as a whole by maxBody.
const (
	// maxNameLen is Neutron's limit on name and description (db.NAME_FIELD_SIZE,
	// DESCRIPTION_FIELD_SIZE).
	maxNameLen = 255
	// maxProfileLen bounds binding:profile as stored JSON (Neutron's
	// ml2_port_bindings.profile is a String(4095)).
	maxProfileLen = 4095
	// maxOtherLen bounds the remaining strings (ids, addresses, modes).
	maxOtherLen = 255
)

// stringLimits is the maximum length in characters of each string
// attribute that Neutron bounds explicitly.
var stringLimits = map[string]int{
	"name":            maxNameLen,
	"description":     maxNameLen,
	"device_id":       255,
	"device_owner":    255,
	"binding:host_id": 255,
	"project_id":      255,
	"tenant_id":       255,
}

// textRule says, in every refusal, what a string attribute may hold.
const textRule = "strings must be valid UTF-8 without NUL characters"

// checkText refuses an attribute whose value holds, anywhere inside it
// (nested lists and objects included, keys too), a string that OVSDB
// cannot store: invalid UTF-8, or a NUL character (ovsdb-server drops the
// connection of a client that sends one, which would interrupt every
// other tenant's requests on it).
func checkText(attr string, raw json.RawMessage) error {
	if !utf8.Valid(raw) {
		return invalid("Invalid input for %s. Reason: the value is not valid UTF-8; %s.", attr, textRule)
	}
	if !strings.Contains(string(raw), `\u0000`) {
		// The JSON text has no escaped NUL and (being valid JSON) no raw
		// one, so no decoded string can hold one.
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return invalid("Invalid input for %s. Reason: the value is not valid JSON.", attr)
	}
	if hasNUL(v) {
		return invalid("Invalid input for %s. Reason: the value contains a NUL character; %s.", attr, textRule)
	}
	return nil
}

func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, 0)
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// checkLength refuses a string attribute longer than its limit.
func checkLength(attr, s string) error {
	limit, ok := stringLimits[attr]
	if !ok {
		limit = maxOtherLen
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return httpBadReq("Invalid input for %s. Reason: the value is %d characters long, more than the maximum of %d.", attr, n, limit)
	}
	return nil
}

// maxQuoted bounds how much of a refused value an error message quotes.
const maxQuoted = 64

// clip returns a refused value for an error message, shortened so that a
// megabyte of input does not come back in the answer.
func clip[T ~string | ~[]byte](v T) string {
	s := string(v)
	if utf8.RuneCountInString(s) <= maxQuoted {
		return s
	}
	r := []rune(s)
	return string(r[:maxQuoted]) + "…"
}
