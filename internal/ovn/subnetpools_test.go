package ovn

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExcludePrefix(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		free []netip.Prefix
		used netip.Prefix
		want []string
	}{
		{[]netip.Prefix{pfx("10.0.0.0/22")}, pfx("10.0.0.0/24"), []string{"10.0.2.0/23", "10.0.1.0/24"}},
		{[]netip.Prefix{pfx("10.0.0.0/24")}, pfx("10.1.0.0/24"), []string{"10.0.0.0/24"}},
		{[]netip.Prefix{pfx("10.0.0.0/24")}, pfx("10.0.0.0/16"), nil},
		{[]netip.Prefix{pfx("10.0.0.0/24")}, pfx("10.0.0.64/26"), []string{"10.0.0.0/26", "10.0.0.128/25"}},
	}
	for _, tc := range tests {
		var got []string
		for _, p := range excludePrefix(tc.free, tc.used) {
			got = append(got, p.String())
		}
		if diff := cmp.Diff(tc.want, got, cmpSorted); diff != "" {
			t.Errorf("%v minus %v (-want +got):\n%s", tc.free, tc.used, diff)
		}
	}
}

var cmpSorted = cmp.Transformer("sorted", func(in []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range in {
		m[s] = true
	}
	return m
})
