package vmproxy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIdentifyRemembersForTTL(t *testing.T) {
	f := newFake()
	now := time.Unix(0, 0)
	id := &Identifier{Up: f, TTL: time.Minute, Now: func() time.Time { return now }}
	ip := netip.MustParseAddr("10.0.0.11")
	c, err := id.Identify(t.Context(), net1, ip)
	if err != nil {
		t.Fatal(err)
	}
	want := Caller{VIFID: vm1, ProjectID: proj, NetworkID: net1, IP: "10.0.0.11"}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("caller (-want +got):\n%s", diff)
	}
	// Gone from Neutron: still known until the TTL ends.
	delete(f.gets, "ports")
	if _, err := id.Identify(t.Context(), net1, ip); err != nil {
		t.Errorf("within the TTL: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := id.Identify(t.Context(), net1, ip); err == nil {
		t.Errorf("after the TTL, a port Neutron no longer has is still a caller")
	}
	// The same address on another network is another question.
	f2 := newFake()
	id2 := &Identifier{Up: f2, TTL: time.Minute, Now: time.Now}
	if _, err := id2.Identify(t.Context(), other, ip); err == nil {
		t.Errorf("vm1's address on another network was taken for vm1")
	}
}
