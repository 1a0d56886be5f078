package neutron

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// decode runs readBody on body as a request would.
func decode(body, resource string, allowed []string) (attrs, error) {
	r := httptest.NewRequest("POST", "/v2.0/x", strings.NewReader(body))
	return readBody(r, resource, allowed)
}

func TestStringAttributesValidated(t *testing.T) {
	long := strings.Repeat("é", 256)
	tests := []struct {
		name     string
		resource string
		body     string
		wantMsg  string // substring of the error; "" means accepted
	}{
		{"plain name", "network", `{"network": {"name": "net-1"}}`, ""},
		{"255 characters", "network", `{"network": {"name": "` + strings.Repeat("é", 255) + `"}}`, ""},
		{"256 characters", "network", `{"network": {"name": "` + long + `"}}`, "Invalid input for name. Reason: the value is 256 characters long, more than the maximum of 255."},
		{"long description", "network", `{"network": {"description": "` + long + `"}}`, "Invalid input for description."},
		{"NUL in name", "network", `{"network": {"name": "a\u0000b"}}`, "Invalid input for name. Reason: the value contains a NUL character; strings must be valid UTF-8 without NUL characters."},
		{"escaped backslash-u is no NUL", "network", `{"network": {"name": "a\\u0000b"}}`, ""},
		{"invalid UTF-8 in name", "network", "{\"network\": {\"name\": \"a\xffb\"}}", "Invalid input for name. Reason: the value is not valid UTF-8"},
		{"NUL in description", "network", `{"network": {"description": "\u0000"}}`, "Invalid input for description."},
		{"NUL in device_owner", "port", `{"port": {"network_id": "n", "device_owner": "compute:\u0000"}}`, "Invalid input for device_owner."},
		{"NUL in device_id", "port", `{"port": {"network_id": "n", "device_id": "\u0000"}}`, "Invalid input for device_id."},
		{"long device_id", "port", `{"port": {"network_id": "n", "device_id": "` + long + `"}}`, "Invalid input for device_id."},
		{"NUL in a binding:profile value", "port", `{"port": {"network_id": "n", "binding:profile": {"parent_name": "p\u0000", "tag": 3}}}`, "Invalid input for binding:profile."},
		{"NUL in a binding:profile key", "port", `{"port": {"network_id": "n", "binding:profile": {"k\u0000": 1}}}`, "Invalid input for binding:profile."},
		{"huge binding:profile", "port", `{"port": {"network_id": "n", "binding:profile": {"k": "` + strings.Repeat("x", 4100) + `"}}}`, "Invalid input for binding:profile. Reason: it is 4108 characters long as JSON, more than the maximum of 4095."},
		{"NUL in fixed_ips", "port", `{"port": {"network_id": "n", "fixed_ips": [{"subnet_id": "\u0000"}]}}`, "Invalid input for fixed_ips."},
		{"NUL in network_id", "port", `{"port": {"network_id": "\u0000"}}`, "Invalid input for network_id."},
		{"NUL in subnet name", "subnet", `{"subnet": {"network_id": "n", "ip_version": 4, "cidr": "10.0.0.0/24", "name": "\u0000"}}`, "Invalid input for name."},
		{"invalid UTF-8 outside attributes", "network", "{\"network\": {\"name\": \"x\"}, \"\xff\": 1", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			a, err := decode(tt.body, tt.resource, map[string][]string{"network": networkAttrs, "port": portCreateAttrs, "subnet": subnetCreateAttrs}[tt.resource])
			if err == nil {
				switch tt.resource {
				case "network":
					_, err = networkSpec(a, Caller{ProjectID: "p"}, "create")
				case "port":
					_, err = portSpec(a, "")
					if err == nil {
						_, err = a.str("network_id")
					}
				case "subnet":
					_, err = subnetSpec(a, Caller{ProjectID: "p"})
				}
			}
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("err = %v, want a 400", err)
			}
			if !strings.Contains(br.msg, tt.wantMsg) {
				t.Fatalf("message %q lacks %q", br.msg, tt.wantMsg)
			}
			if len(br.msg) > 400 {
				t.Errorf("message is %d bytes long; it should not echo the input", len(br.msg))
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		method, ct string
		ok         bool
	}{
		{"POST", "application/json", true},
		{"POST", "application/json; charset=UTF-8", true},
		{"POST", "", true},
		{"PUT", "APPLICATION/JSON", true},
		{"POST", "text/plain", false},
		{"PUT", "application/x-www-form-urlencoded", false},
		{"POST", "application/json-patch+json", false},
		{"POST", ";;;", false},
		{"GET", "text/plain", true},
		{"DELETE", "text/plain", true},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/v2.0/networks", strings.NewReader("{}"))
		if tt.ct != "" {
			r.Header.Set("Content-Type", tt.ct)
		}
		if got := checkContentType(r) == ""; got != tt.ok {
			t.Errorf("%s with %q: accepted=%v, want %v", tt.method, tt.ct, got, tt.ok)
		}
	}
}
