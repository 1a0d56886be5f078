package ovn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func strp(s string) *string { return &s }

func TestLSPAddresses(t *testing.T) {
	const mac, vmac = "fa:16:3e:00:00:01", "fa:16:3e:00:00:99"
	tests := []struct {
		name          string
		port          Port
		wantAddresses []string
		wantSecurity  []string
	}{
		{"plain", Port{MAC: mac, PortSecurity: true}, []string{mac + " 10.0.0.5"}, []string{mac + " 10.0.0.5"}},
		{"no port security", Port{MAC: mac}, []string{mac + " 10.0.0.5", "unknown"}, nil},
		{"pair with the port's MAC", Port{MAC: mac, PortSecurity: true, AllowedAddressPairs: []AddressPair{{"10.0.0.200", mac}}},
			[]string{mac + " 10.0.0.5"}, []string{mac + " 10.0.0.5 10.0.0.200"}},
		{"pairs with another MAC", Port{MAC: mac, PortSecurity: true, AllowedAddressPairs: []AddressPair{{"10.0.0.8/29", vmac}, {"10.0.0.20", vmac}}},
			[]string{mac + " 10.0.0.5", vmac}, []string{mac + " 10.0.0.5", vmac + " 10.0.0.8/29", vmac + " 10.0.0.20"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addrs, sec := lspAddresses(&tc.port, []string{"10.0.0.5"})
			if diff := cmp.Diff(tc.wantAddresses, addrs); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSecurity, sec); diff != "" {
				t.Errorf("port_security (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortDHCPOpts(t *testing.T) {
	p := &Port{ExtraDHCPOpts: []DHCPOpt{
		{Name: "domain-name", Value: strp("example.org"), IPVersion: 4},
		{Name: "42", Value: strp("10.0.0.1"), IPVersion: 4},
		{Name: "not-in-ovn", Value: strp("x"), IPVersion: 4},
		{Name: "dns-server", Value: strp("fd00::53"), IPVersion: 6},
	}}
	disabled, opts := portDHCPOpts(p, 4)
	if diff := cmp.Diff(map[string]string{"domain_name": `"example.org"`, "ntp_server": "10.0.0.1"}, opts); disabled || diff != "" {
		t.Fatalf("v4 options (-want +got):\n%s (disabled %v)", diff, disabled)
	}
	p.ExtraDHCPOpts = append(p.ExtraDHCPOpts, DHCPOpt{Name: "dhcp_disabled", Value: strp("True"), IPVersion: 4})
	if disabled, opts := portDHCPOpts(p, 4); !disabled || opts != nil {
		t.Fatalf("dhcp_disabled: %v %v", disabled, opts)
	}
	if _, opts := portDHCPOpts(p, 6); cmp.Diff(map[string]string{"dns_server": "fd00::53"}, opts) != "" {
		t.Fatalf("v6 options = %v", opts)
	}
}

func TestMergeDHCPOpts(t *testing.T) {
	cur := []DHCPOpt{{Name: "mtu", Value: strp("1400"), IPVersion: 4}, {Name: "ntp-server", Value: strp("10.0.0.1"), IPVersion: 4}}
	got := mergeDHCPOpts(cur, []DHCPOpt{
		{Name: "mtu", Value: nil, IPVersion: 4},                     // removed
		{Name: "ntp-server", Value: strp("10.0.0.2"), IPVersion: 4}, // replaced
		{Name: "ntp-server", Value: strp("fd00::1"), IPVersion: 6},  // another IP version: added
		{Name: "tftp-server", Value: strp(""), IPVersion: 4},        // empty: ignored
		{Name: "router", Value: strp(""), IPVersion: 4},             // may be empty
	})
	want := []DHCPOpt{{Name: "ntp-server", Value: strp("10.0.0.2"), IPVersion: 4}, {Name: "ntp-server", Value: strp("fd00::1"), IPVersion: 6}, {Name: "router", Value: strp(""), IPVersion: 4}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("merged (-want +got):\n%s", diff)
	}
}

func TestServiceSubnets(t *testing.T) {
	plain := &Subnet{ID: "plain"}
	compute := &Subnet{ID: "compute", ServiceTypes: []string{"compute:nova"}}
	dhcpOnly := &Subnet{ID: "router", ServiceTypes: []string{"network:router_interface"}, EnableDHCP: true}
	ids := func(s []*Subnet) []string {
		var out []string
		for _, x := range s {
			out = append(out, x.ID)
		}
		return out
	}
	tests := []struct {
		owner   string
		subnets []*Subnet
		want    []string
		wantErr bool
	}{
		{"compute:nova", []*Subnet{plain, compute}, []string{"compute", "plain"}, false},
		{"", []*Subnet{plain, compute}, []string{"plain"}, false},
		{"", []*Subnet{compute}, nil, true},
		{"network:dhcp", []*Subnet{dhcpOnly}, []string{"router"}, false},
		{"", nil, nil, false},
	}
	for _, tc := range tests {
		got, err := serviceSubnets("n1", tc.subnets, tc.owner)
		if (err != nil) != tc.wantErr {
			t.Errorf("owner %q: err %v, want error %v", tc.owner, err, tc.wantErr)
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("owner %q (-want +got):\n%s", tc.owner, diff)
		}
	}
}
