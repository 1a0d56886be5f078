package ipam

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkErr fails unless err wraps want and mentions every string in names
// (the bad value and what is allowed); with want == nil, err must be nil.
func checkErr(t *testing.T, err, want error, names ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not mention %q", err, n)
		}
	}
}

func TestParsePrefix(t *testing.T) {
	tests := []struct {
		cidr    string
		version int
		want    string
		wantErr error
		names   []string
	}{
		{cidr: "10.0.0.0/24", want: "10.0.0.0/24"},
		{cidr: "10.0.0.0/24", version: 4, want: "10.0.0.0/24"},
		{cidr: "10.0.0.0/8", version: 4, want: "10.0.0.0/8"},
		{cidr: "192.168.1.0/30", want: "192.168.1.0/30"},
		{cidr: "fd00::/64", version: 6, want: "fd00::/64"},
		{cidr: "FD00:1::/48", want: "fd00:1::/48"},
		{cidr: "fd00::/126", want: "fd00::/126"},
		{cidr: "10.0.0.5/24", wantErr: ErrInvalid, names: []string{"10.0.0.5/24", "10.0.0.0/24"}},
		{cidr: "fd00::5/64", wantErr: ErrInvalid, names: []string{"fd00::5/64", "fd00::/64"}},
		{cidr: "10.0.0.0/31", wantErr: ErrInvalid, names: []string{"10.0.0.0/31", "/30"}},
		{cidr: "10.0.0.1/32", wantErr: ErrInvalid, names: []string{"10.0.0.1/32"}},
		{cidr: "fd00::/127", wantErr: ErrInvalid, names: []string{"fd00::/127", "/126"}},
		{cidr: "10.0.0.0/24", version: 6, wantErr: ErrInvalid, names: []string{"10.0.0.0/24", "IPv4", "ip_version is 6"}},
		{cidr: "fd00::/64", version: 4, wantErr: ErrInvalid, names: []string{"fd00::/64", "IPv6", "ip_version is 4"}},
		{cidr: "10.0.0.0/24", version: 5, wantErr: ErrInvalid, names: []string{"ip_version 5", "4 and 6"}},
		{cidr: "10.0.0.0", wantErr: ErrInvalid, names: []string{`"10.0.0.0"`, "10.0.0.0/24"}},
		{cidr: "banana/24", wantErr: ErrInvalid, names: []string{"banana/24"}},
		{cidr: "", wantErr: ErrInvalid, names: []string{`""`}},
		{cidr: "10.0.0.0/33", wantErr: ErrInvalid, names: []string{"10.0.0.0/33"}},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			got, err := ParsePrefix(tt.cidr, tt.version)
			checkErr(t, err, tt.wantErr, tt.names...)
			if tt.wantErr != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got.String()); diff != "" {
				t.Errorf("ParsePrefix(%q) mismatch (-want +got):\n%s", tt.cidr, diff)
			}
		})
	}
}

func TestDefaultGateway(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"10.0.0.0/24", "10.0.0.1"},
		{"10.0.0.0/8", "10.0.0.1"},
		{"192.168.7.4/30", "192.168.7.5"},
		{"fd00::/64", "fd00::1"},
	}
	for _, tt := range tests {
		got := DefaultGateway(netip.MustParsePrefix(tt.prefix))
		if diff := cmp.Diff(tt.want, got.String()); diff != "" {
			t.Errorf("DefaultGateway(%s) mismatch (-want +got):\n%s", tt.prefix, diff)
		}
	}
}

func TestValidateGateway(t *testing.T) {
	tests := []struct {
		prefix, gateway string
		wantErr         error
		names           []string
	}{
		{prefix: "10.0.0.0/24", gateway: "10.0.0.1"},
		{prefix: "10.0.0.0/24", gateway: "10.0.0.254"},
		{prefix: "fd00::/64", gateway: "fd00::1"},
		{prefix: "fd00::/64", gateway: "fd00::ffff:ffff:ffff:ffff"}, // no broadcast in v6
		{prefix: "10.0.0.0/24", gateway: "10.0.0.0", wantErr: ErrInvalid, names: []string{"10.0.0.0 ", "network address", "10.0.0.1", "10.0.0.254"}},
		{prefix: "10.0.0.0/24", gateway: "10.0.0.255", wantErr: ErrInvalid, names: []string{"10.0.0.255", "broadcast", "10.0.0.254"}},
		{prefix: "10.0.0.0/24", gateway: "10.0.1.1"}, // outside: an upstream router, allowed as in Neutron
		{prefix: "10.0.0.0/24", gateway: "fd00::1", wantErr: ErrInvalid, names: []string{"fd00::1", "10.0.0.0/24"}},
		{prefix: "fd00::/64", gateway: "fd00::", wantErr: ErrInvalid, names: []string{"fd00:: ", "network address"}},
		{prefix: "10.0.0.0/24", gateway: "", wantErr: ErrInvalid, names: []string{"10.0.0.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"/"+tt.gateway, func(t *testing.T) {
			var gw netip.Addr
			if tt.gateway != "" {
				gw = netip.MustParseAddr(tt.gateway)
			}
			checkErr(t, ValidateGateway(netip.MustParsePrefix(tt.prefix), gw), tt.wantErr, tt.names...)
		})
	}
}
