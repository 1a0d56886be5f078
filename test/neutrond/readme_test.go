package neutrond

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeExtensions are the aliases of the README's "What ovn-neutrond
// implements" table (rows "| extension | `alias` | … |").
func readmeExtensions(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| extension \\| `([^`]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatal("README.md has no extension rows (| extension | `alias` | … |)")
	}
	slices.Sort(out)
	return out
}

// testExtensionsInREADME keeps the README's table true: on ovn-neutrond
// it lists exactly the extensions GET /v2.0/extensions reports, and each
// of them is one real Neutron reports too.
func testExtensionsInREADME(t *testing.T, tg *target) {
	want := readmeExtensions(t)
	body := tg.mustCall(t, 200, "demo", "GET", "/v2.0/extensions", "", "")
	var got []string
	for _, e := range body["extensions"].([]any) {
		got = append(got, e.(map[string]any)["alias"].(string))
	}
	slices.Sort(got)
	if tg.neutron {
		var missing []string
		for _, a := range want {
			if !slices.Contains(got, a) {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			t.Fatalf("README lists extensions real Neutron does not have: %s", strings.Join(missing, ", "))
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("README table vs GET /v2.0/extensions (-README +server):\n%s", diff)
	}
	for _, a := range want {
		one := tg.mustCall(t, 200, "demo", "GET", "/v2.0/extensions/"+a, "", "extension")
		if one["alias"] != a {
			t.Fatalf("GET /v2.0/extensions/%s = %v", a, one)
		}
	}
	if code, body := tg.call(t, "demo", "GET", "/v2.0/extensions/no-such-thing", ""); code != 404 {
		t.Fatalf("unknown extension: %d %v", code, body)
	}
}
