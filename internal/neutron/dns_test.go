package neutron

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDNSName(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		raw     string
		domain  string
		want    *string // nil: ignored (stays "")
		wantTyp string
		wantMsg string
	}{
		{"label lower-cased", `"Web-1"`, "example.org.", ptr("web-1"), "", ""},
		{"empty clears", `""`, "example.org.", ptr(""), "", ""},
		{"null clears", `null`, "example.org.", ptr(""), "", ""},
		{"FQDN in the domain", `"web.example.org."`, "example.org", ptr("web.example.org."), "", ""},
		{"63-character label", `"` + long + `"`, "example.org.", ptr(long), "", ""},
		{"ignored under the default domain", `"web"`, "openstacklocal.", nil, "", ""},
		{"underscore", `"my_app"`, "example.org.", nil, "HTTPBadRequest",
			"Invalid input for dns_name. Reason: 'my_app' not a valid PQDN or FQDN. Reason: Name 'my_app' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen."},
		{"validated under the default domain too", `"a_b"`, "openstacklocal.", nil, "HTTPBadRequest",
			"Invalid input for dns_name. Reason: 'a_b' not a valid PQDN or FQDN. Reason: Name 'a_b' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen."},
		{"64-character label", `"` + long + `a"`, "example.org.", nil, "HTTPBadRequest", "Name '" + long + "a' must be 1-63 characters long"},
		{"leading hyphen", `"-web"`, "example.org.", nil, "HTTPBadRequest",
			"Invalid input for dns_name. Reason: '-web' not a valid PQDN or FQDN. Reason: Name '-web' must not start or end with a hyphen."},
		{"empty label", `"a..b"`, "example.org.", nil, "HTTPBadRequest", "Reason: Encountered an empty component."},
		{"numeric TLD", `"a.123"`, "example.org.", nil, "HTTPBadRequest", "Reason: TLD '123' must not be all numeric."},
		{"FQDN outside the domain", `"web.other.org."`, "example.org.", nil, "HTTPBadRequest",
			"Invalid input for dns_name. Reason: The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf, that has been set to 'example.org.'. It must also include one or more valid DNS labels to the left of 'example.org.'."},
		{"PQDN too long with the domain", `"` + strings.Repeat(long+".", 3) + long + `"`, "example.org.", nil, "HTTPBadRequest",
			"The dns_name passed is a PQDN and its size is '255'."},
		{"not a string", `5`, "example.org.", nil, "InvalidInput", "Invalid input for operation: Input value 5 must be string type."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dnsName(json.RawMessage(tc.raw), tc.domain)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Fatalf("dns_name (-want +got):\n%s", diff)
				}
				return
			}
			var br *badRequest
			if !errors.As(err, &br) || br.typ != tc.wantTyp || !strings.Contains(br.msg, tc.wantMsg) {
				t.Fatalf("err = %#v, want %s containing %q", err, tc.wantTyp, tc.wantMsg)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
