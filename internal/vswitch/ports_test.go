package vswitch

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSetExternalIDsMerges(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"ovn-docker:container": "c1", "ovn-docker:state": "claimed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetExternalIDs(ctx, a.Name, map[string]string{"ovn-docker:state": "attached", "ovn-docker:port": "p-1"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		OwnerKey: OwnerValue, "ovn-docker:container": "c1", "ovn-docker:state": "attached", "ovn-docker:port": "p-1",
	}
	// Read-your-writes through this client's cache…
	aps, err := c.AccessPorts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(aps) != 1 {
		t.Fatalf("AccessPorts = %+v", aps)
	}
	if d := cmp.Diff(want, aps[0].ExternalIDs); d != "" {
		t.Errorf("Port external_ids (-want +got):\n%s", d)
	}
	// …and the Interface row, as another client sees it.
	if got := strings.TrimSpace(vsctl(t, ep, "get", "interface", a.Name, "external_ids:ovn-docker\\:state")); got != "attached" {
		t.Errorf("interface external_ids state = %q", got)
	}

	err = c.SetExternalIDs(ctx, "ovdv99", map[string]string{"k": "v"})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("SetExternalIDs on a missing port = %v, want ErrNotFound", err)
	}
}

func TestAccessPortsOnlyOwned(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	vsctl(t, ep, "add-port", "br-vm", "eth1", "tag=3")
	c := dial(t, ep)
	ctx := testCtx(t)
	var names []string
	for range 3 {
		a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"ovn-docker:container": "x"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, a.Name)
	}
	if err := c.Release(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	got, err := c.AccessPorts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{OwnerKey: OwnerValue, "ovn-docker:container": "x"}
	want := []AccessPort{
		{Name: names[1], Bridge: "br-vm", VLAN: 2, ExternalIDs: ids},
		{Name: names[2], Bridge: "br-vm", VLAN: 4, ExternalIDs: ids},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("AccessPorts (-want +got):\n%s", d)
	}
}

func TestDialUnreachable(t *testing.T) {
	start := time.Now()
	_, err := Dial(context.Background(), "unix:/nonexistent/vst-db.sock", nil)
	if err == nil {
		t.Fatal("Dial to a missing socket succeeded")
	}
	if !strings.Contains(err.Error(), "unix:/nonexistent/vst-db.sock") {
		t.Errorf("error %q does not name the endpoint", err)
	}
	// 192.0.2.0/24 is TEST-NET-1: nothing answers, so only the bound ends it.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, "tcp:192.0.2.1:6640", nil); err == nil {
		t.Fatal("Dial to an unroutable address succeeded")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Dial took %v to fail", d)
	}
	if _, err := Dial(context.Background(), "bogus", nil); err == nil {
		t.Error("Dial accepted a malformed endpoint")
	}
}

func TestWaitInterfaceUpMissing(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	if err := c.WaitInterfaceUp(testCtx(t), "ovdv9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	// Without ovs-vswitchd nothing ever opens the interface: the wait ends
	// with ctx and says so.
	a, err := c.ClaimVLAN(testCtx(t), "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.WaitInterfaceUp(ctx, a.Name)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ovs-vswitchd") {
		t.Errorf("err = %v, want a deadline error that mentions ovs-vswitchd", err)
	}
}
