package neutron

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

const (
	uuidA = "5e8a1f62-7d4b-4c1e-9b0a-2f3c4d5e6f70"
	uuidB = "6f9b2a73-8e5c-4d2f-8c1b-3a4d5e6f7081"
)

func TestParseSubports(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		withSeg bool
		want    []ovn.SubPort
		wantErr bool
	}{
		{name: "one vlan", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 42}]`, withSeg: true,
			want: []ovn.SubPort{{PortID: uuidA, SegmentationType: "vlan", SegmentationID: 42}}},
		{name: "string id converts", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": "7"}]`, withSeg: true,
			want: []ovn.SubPort{{PortID: uuidA, SegmentationType: "vlan", SegmentationID: 7}}},
		{name: "bounds", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 1}, {"port_id": "` + uuidB + `", "segmentation_type": "vlan", "segmentation_id": 4094}]`, withSeg: true,
			want: []ovn.SubPort{{PortID: uuidA, SegmentationType: "vlan", SegmentationID: 1}, {PortID: uuidB, SegmentationType: "vlan", SegmentationID: 4094}}},
		{name: "empty list", in: `[]`, withSeg: true, want: []ovn.SubPort{}},
		{name: "remove needs only port ids", in: `[{"port_id": "` + uuidA + `"}]`, want: []ovn.SubPort{{PortID: uuidA}}},
		{name: "not a list", in: `{"port_id": "` + uuidA + `"}`, withSeg: true, wantErr: true},
		{name: "null", in: `null`, withSeg: true, wantErr: true},
		{name: "item not a dict", in: `["x"]`, withSeg: true, wantErr: true},
		{name: "no port_id", in: `[{"segmentation_type": "vlan", "segmentation_id": 3}]`, withSeg: true, wantErr: true},
		{name: "bad uuid", in: `[{"port_id": "p1", "segmentation_type": "vlan", "segmentation_id": 3}]`, withSeg: true, wantErr: true},
		{name: "same port twice", in: `[{"port_id": "` + uuidA + `"}, {"port_id": "` + uuidA + `"}]`, wantErr: true},
		{name: "vlan 0", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 0}]`, withSeg: true, wantErr: true},
		{name: "vlan 4095", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 4095}]`, withSeg: true, wantErr: true},
		{name: "fraction", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 1.5}]`, withSeg: true, wantErr: true},
		{name: "not a number", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": "x"}]`, withSeg: true, wantErr: true},
		{name: "vxlan", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vxlan", "segmentation_id": 3}]`, withSeg: true, wantErr: true},
		{name: "inherit", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "inherit"}]`, withSeg: true, wantErr: true},
		{name: "type without id", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan"}]`, withSeg: true, wantErr: true},
		{name: "id without type", in: `[{"port_id": "` + uuidA + `", "segmentation_id": 3}]`, withSeg: true, wantErr: true},
		{name: "port only on add", in: `[{"port_id": "` + uuidA + `"}]`, withSeg: true, wantErr: true},
		{name: "vlan twice", in: `[{"port_id": "` + uuidA + `", "segmentation_type": "vlan", "segmentation_id": 3}, {"port_id": "` + uuidB + `", "segmentation_type": "vlan", "segmentation_id": 3}]`, withSeg: true, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSubports(json.RawMessage(tc.in), tc.withSeg)
			if tc.wantErr {
				var br *badRequest
				if !errors.As(err, &br) {
					t.Fatalf("parseSubports(%s) = %v, %v; want a 400 error", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestHostIDPolicy(t *testing.T) {
	host, empty := "hv1", ""
	member := Caller{ProjectID: "p1"}
	admin := Caller{ProjectID: "admin", Admin: true}
	tests := []struct {
		name   string
		action string
		host   *string
		caller Caller
		want   string // "" = allowed
	}{
		{"member create without host", "create", nil, member, ""},
		{"member create with default host", "create", &empty, member, ""},
		{"member create with host", "create", &host, member, "(rule:create_port and rule:create_port:binding:host_id) is disallowed by policy"},
		{"member update with host", "update", &host, member, "(rule:update_port and rule:update_port:binding:host_id) is disallowed by policy"},
		{"member update clearing host", "update", &empty, member, "(rule:update_port and rule:update_port:binding:host_id) is disallowed by policy"},
		{"admin create with host", "create", &host, admin, ""},
		{"admin update with host", "update", &host, admin, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := hostIDPolicy(tc.action, ovn.PortSpec{HostID: tc.host}, tc.caller)
			got := ""
			var fb *forbidden
			if errors.As(err, &fb) {
				got = fb.msg
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Fatalf("hostIDPolicy = %q, want %q", got, tc.want)
			}
		})
	}
}
