package attach

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDNSLabel(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"web", "web", true},
		{"/Web-1", "web-1", true},
		{"my_app.v2", "my-app-v2", true},
		{"_x_", "x", true},
		{"héllo", "hllo", true},
		{strings.Repeat("a", 62) + "_b", strings.Repeat("a", 62), true},
		{"___", "", false},
		{"ÄÖ", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := DNSLabel(tc.name)
			if got != tc.want || ok != tc.ok {
				t.Errorf("DNSLabel(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// With binding:profile children the dns_name goes with the create (the
// port has its container as device_id); a name that cannot be a label
// attaches without one; an Attacher without DNS names nothing.
func TestDNSNameOnCreate(t *testing.T) {
	r := newRig(t)
	r.a.DNS = r.cl
	ctx := context.Background()
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1", Name: "Web_1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.cl.dnsNames[at.PortID]; got != "web-1" {
		t.Errorf("dns_name %q, want web-1", got)
	}
	for _, w := range r.cl.requests {
		if strings.HasPrefix(w, "name port") {
			t.Errorf("a port named at create was named again: %q", w)
		}
	}
	bad, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "b"), Network: "LS1", ContainerID: "c2", Name: "___"})
	if err != nil {
		t.Fatalf("a name that is no DNS label must still attach: %v", err)
	}
	if got, ok := r.cl.dnsNames[bad.PortID]; ok {
		t.Errorf("dns_name %q for a name that cannot be a label", got)
	}
	r.a.DNS = nil
	off, err := r.a.Attach(ctx, Request{NetnsPath: r.newNetns(t, "c"), Network: "LS1", ContainerID: "c3", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := r.cl.dnsNames[off.PortID]; ok {
		t.Errorf("dns_name %q without dns-integration", got)
	}
}

// A subport cannot have a device_id when it joins the trunk: it is named,
// with its container as device_id, once attached (in the background).
func TestDNSNameOnSubport(t *testing.T) {
	r := newTrunkRig(t)
	r.a.DNS = r.cl
	at, err := r.a.Attach(context.Background(), Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	r.a.WaitNamed()
	want := []string{"create port " + at.PortID, "create trunk trunk-1", fmt.Sprintf("add subport %s vlan %d", at.PortID, at.VLAN),
		fmt.Sprintf("name port %s %q device %q", at.PortID, "web", "c1")}
	if d := cmp.Diff(want, r.requestsSince(0)); d != "" {
		t.Errorf("Neutron writes (-want +got):\n%s", d)
	}
}

// A pool port is named when taken (in the background: WaitNamed waits for
// it) and loses the name (and device_id) before it is ready in the pool
// again.
func TestDNSNameOnPoolPort(t *testing.T) {
	r := newPoolRig(t)
	r.a.DNS = r.cl
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	r.a.WaitNamed() // nothing runs in the background after it
	if p := r.cl.ports[at.PortID]; r.cl.dnsNames[at.PortID] != "web" || p.DeviceID != "c1" || p.Name != PoolPortName {
		t.Errorf("taken pool port %+v, dns_name %q", p, r.cl.dnsNames[at.PortID])
	}
	if _, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	if p, ok := r.cl.ports[at.PortID]; !ok || p.DeviceID != "" || r.cl.dnsNames[at.PortID] != "" {
		t.Errorf("pool port after its return %+v (kept: %v), dns_name %q", p, ok, r.cl.dnsNames[at.PortID])
	}
	if d := cmp.Diff([]PoolStatus{{NetworkID: "net-1", Network: "LS1", Ready: 1, Target: 1}}, r.status(t)); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	if ids := r.sw.ports[at.PortName].ExternalIDs; ids[KeyDNSName] != "" {
		t.Errorf("pool entry still records dns name %q", ids[KeyDNSName])
	}
}

// A detach right after a pool attach waits for the port's naming before
// clearing it: the pool port never keeps the name.
func TestDNSNamePoolReturnWaitsForNaming(t *testing.T) {
	r := newPoolRig(t)
	r.a.DNS = r.cl
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 1); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1", Name: "web"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil {
			t.Fatal(err)
		}
		r.cl.mu.Lock()
		name, dev := r.cl.dnsNames[at.PortID], r.cl.ports[at.PortID].DeviceID
		r.cl.mu.Unlock()
		if name != "" || dev != "" {
			t.Fatalf("round %d: pool port back in the pool with dns_name %q, device_id %q", i, name, dev)
		}
	}
}
