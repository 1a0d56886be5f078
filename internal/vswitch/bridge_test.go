package vswitch

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultBridge(t *testing.T) {
	tests := []struct {
		name    string
		bridges []string
		want    Bridge
		wantErr error
		errHas  []string
	}{
		{name: "none", wantErr: ErrNoBridge, errHas: []string{"create the VM bridge"}},
		{name: "one", bridges: []string{"br-vm"}, want: Bridge{Name: "br-vm", DatapathType: "netdev", Ports: []string{"br-vm"}}},
		{name: "two", bridges: []string{"br-vm", "br-a"}, wantErr: ErrManyBridges, errHas: []string{"br-a, br-vm", "--bridge"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := testDB(t)
			for _, b := range tt.bridges {
				addBridge(t, ep, b)
			}
			got, err := dial(t, ep).DefaultBridge(testCtx(t))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("DefaultBridge (-want +got):\n%s", d)
			}
		})
	}
}

func TestBridgesListsPorts(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	vsctl(t, ep, "add-br", "br-k") // kernel datapath type: empty
	vsctl(t, ep, "add-port", "br-vm", "eth1")
	c := dial(t, ep)
	a, err := c.ClaimVLAN(testCtx(t), "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Bridges(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []Bridge{
		{Name: "br-k", Ports: []string{"br-k"}},
		{Name: "br-vm", DatapathType: "netdev", Ports: []string{"br-vm", "eth1", a.Name}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Bridges (-want +got):\n%s", d)
	}
}
