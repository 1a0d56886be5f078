package cloud

import (
	"errors"
	"net/netip"
	"testing"
)

func TestFreeV4Subnet(t *testing.T) {
	pp := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		used []netip.Prefix
		want string
	}{
		{"empty", nil, "10.1.0.0/24"},
		{"first taken", pp("10.1.0.0/24"), "10.1.1.0/24"},
		{"bigger overlap", pp("10.1.0.0/23", "fd00::/64"), "10.1.2.0/24"},
		{"whole 10.1", pp("10.1.0.0/16"), "10.2.0.0/24"},
		{"unrelated", pp("192.168.0.0/16"), "10.1.0.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FreeV4Subnet(tc.used)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := FreeV4Subnet(pp("10.0.0.0/8")); err == nil {
		t.Error("want ErrNoFreeSubnet when 10/8 is used")
	}
}

func TestFreeV6Subnet(t *testing.T) {
	for _, c := range []struct {
		used []string
		want string
	}{
		{nil, "fd00:0:0:1::/64"},
		{[]string{"fd00:0:0:1::/64", "fd00:0:0:2::/63"}, "fd00:0:0:4::/64"},
		{[]string{"fd00::/16"}, ""},
		{[]string{"10.1.0.0/24", "2001:db8::/32"}, "fd00:0:0:1::/64"},
	} {
		var used []netip.Prefix
		for _, u := range c.used {
			used = append(used, netip.MustParsePrefix(u))
		}
		got, err := FreeV6Subnet(used)
		if c.want == "" {
			if !errors.Is(err, ErrNoFreeSubnet) {
				t.Errorf("%v: %v, %v; want ErrNoFreeSubnet", c.used, got, err)
			}
			continue
		}
		if err != nil || got.String() != c.want {
			t.Errorf("%v: %v, %v; want %s", c.used, got, err, c.want)
		}
	}
}
