package vswitch

import (
	"strings"
	"testing"
)

func TestPortNames(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range []int{MinVLAN, 42, 4000, MaxVLAN} {
		for range 100 {
			n := NewPortName(v)
			if len(n) != 15 || !strings.HasPrefix(n, AccessPortPrefix) {
				t.Fatalf("NewPortName(%d) = %q: want 15 characters starting with %s", v, n, AccessPortPrefix)
			}
			if seen[n] {
				t.Fatalf("NewPortName(%d) gave %q twice", v, n)
			}
			seen[n] = true
			if got, err := VLANFromPortName(n); err != nil || got != v {
				t.Fatalf("VLANFromPortName(%q) = %d, %v; want %d", n, got, err, v)
			}
		}
	}
	for _, tc := range []struct {
		name string
		vlan int // 0: not an access port's name
	}{
		{"ovdv1", 1}, {"ovdv4094", 4094}, // earlier versions
		{"ovdv0", 0}, {"ovdv4095", 0}, {"ovdv01", 0}, {"ovdvx", 0},
		{"ovd000123456789", 0}, {"ovdfff123456789", 0}, {"ovd001abcdefxyz", 0}, {"ovd001abc", 0},
		{"eth0", 0}, {"br-vm", 0},
	} {
		got, err := VLANFromPortName(tc.name)
		if tc.vlan == 0 && err == nil || tc.vlan != 0 && (err != nil || got != tc.vlan) {
			t.Errorf("VLANFromPortName(%q) = %d, %v; want %d", tc.name, got, err, tc.vlan)
		}
	}
}
