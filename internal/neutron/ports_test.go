package neutron

import (
	"encoding/json"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

func TestParseProfile(t *testing.T) {
	tests := []struct {
		in      string
		want    *ovn.Profile
		wantErr bool
	}{
		{in: `{"parent_name": "p1", "tag": 42}`, want: &ovn.Profile{Raw: json.RawMessage(`{"parent_name":"p1","tag":42}`), ParentName: "p1", Tag: 42}},
		{in: `{"parent_name": "p1", "tag": 1}`, want: &ovn.Profile{Raw: json.RawMessage(`{"parent_name":"p1","tag":1}`), ParentName: "p1", Tag: 1}},
		{in: `{"parent_name": "p1", "tag": 4094}`, want: &ovn.Profile{Raw: json.RawMessage(`{"parent_name":"p1","tag":4094}`), ParentName: "p1", Tag: 4094}},
		{in: `{"vif_plug": "x"}`, want: &ovn.Profile{Raw: json.RawMessage(`{"vif_plug":"x"}`)}},
		{in: `{}`, want: &ovn.Profile{}},
		{in: `null`, want: &ovn.Profile{}},
		{in: `{"parent_name": "p1", "tag": 0}`, wantErr: true},
		{in: `{"parent_name": "p1", "tag": 4095}`, wantErr: true},
		{in: `{"parent_name": "p1", "tag": -1}`, wantErr: true},
		{in: `{"parent_name": "p1", "tag": "x"}`, wantErr: true},
		{in: `{"parent_name": "p1", "tag": "7"}`, wantErr: true},
		{in: `{"parent_name": "p1", "tag": 1.5}`, wantErr: true},
		{in: `{"parent_name": "p1"}`, wantErr: true},
		{in: `{"tag": 3}`, wantErr: true},
		{in: `{"parent_name": "", "tag": 3}`, wantErr: true},
		{in: `{"parent_name": 5, "tag": 3}`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: `"x"`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseProfile(json.RawMessage(tc.in))
			if tc.wantErr {
				var br *badRequest
				if !errors.As(err, &br) {
					t.Fatalf("parseProfile(%s) = %v, %v; want a 400 error", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("parseProfile(%s) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestFixedIPs(t *testing.T) {
	tests := []struct {
		in      string
		want    []ovn.IPRequest
		wantErr bool
	}{
		{in: `[]`, want: []ovn.IPRequest{}},
		{in: `[{"subnet_id": "s1"}]`, want: []ovn.IPRequest{{SubnetID: "s1"}}},
		{in: `[{"ip_address": "10.0.0.5"}]`, want: []ovn.IPRequest{{IPAddress: netip.MustParseAddr("10.0.0.5")}}},
		{in: `[{"subnet_id": "s1", "ip_address": "fd00::5"}]`, want: []ovn.IPRequest{{SubnetID: "s1", IPAddress: netip.MustParseAddr("fd00::5")}}},
		{in: `[{}]`, wantErr: true},
		{in: `[{"ip_address": "10.0.0.300"}]`, wantErr: true},
		{in: `[{"colour": "red"}]`, wantErr: true},
		{in: `{"subnet_id": "s1"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := fixedIPs(json.RawMessage(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("fixedIPs(%s) = %v; want an error", tc.in, *got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
