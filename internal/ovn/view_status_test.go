package ovn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPresentStatus(t *testing.T) {
	type sv struct{ Status, VIF string }
	vm := func(host string, up bool) *Port { return &Port{ID: "vm", HostID: host, Up: up} }
	tests := []struct {
		name   string
		parent *Port // nil: none
		port   Port
		want   sv
	}{
		{"unbound port, LSP down", nil, Port{ID: "p"}, sv{"DOWN", "unbound"}},
		{"unbound port, LSP up", nil, Port{ID: "p", Up: true}, sv{"DOWN", "unbound"}},
		{"bound port, LSP down", nil, Port{ID: "p", HostID: "hv1"}, sv{"DOWN", "ovs"}},
		{"bound port, LSP up", nil, Port{ID: "p", HostID: "hv1", Up: true}, sv{"ACTIVE", "ovs"}},
		{"binding:profile child, LSP up", vm("hv1", true), Port{ID: "c", ParentName: "vm", Tag: 5, Up: true}, sv{"DOWN", "unbound"}},
		{"subport of a bound parent, LSP up", vm("hv1", false), Port{ID: "c", ParentName: "vm", Tag: 5, SubportOf: "t", Up: true}, sv{"ACTIVE", "ovs"}},
		{"subport of an up parent, LSP up", vm("", true), Port{ID: "c", ParentName: "vm", Tag: 5, SubportOf: "t", Up: true}, sv{"ACTIVE", "ovs"}},
		{"subport of a bound parent, LSP down", vm("hv1", true), Port{ID: "c", ParentName: "vm", Tag: 5, SubportOf: "t"}, sv{"DOWN", "ovs"}},
		{"subport of an unbound, down parent", vm("", false), Port{ID: "c", ParentName: "vm", Tag: 5, SubportOf: "t", Up: true}, sv{"DOWN", "unbound"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := newView()
			if tc.parent != nil {
				v.putPort(tc.parent)
			}
			p := tc.port
			v.putPort(&p)
			got := v.present(&p)
			if diff := cmp.Diff(tc.want, sv{got.Status, got.VIFType}); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}
}
