package vswitch

import (
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/netdev"
)

func TestUpdateExternalIDsIf(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"state": "pool", "keep": "1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		expect map[string]string
		ids    map[string]string
		want   error
		after  map[string]string
	}{
		{"guard holds", map[string]string{"state": "pool"}, map[string]string{"state": "taken", "pid": "7"}, nil,
			map[string]string{"state": "taken", "pid": "7", "keep": "1", OwnerKey: OwnerValue}},
		{"guard fails", map[string]string{"state": "pool"}, map[string]string{"state": "x"}, ErrChanged,
			map[string]string{"state": "taken", "pid": "7", "keep": "1", OwnerKey: OwnerValue}},
		{"empty value removes", map[string]string{"state": "taken", "pid": "7"}, map[string]string{"state": "pool", "pid": ""}, nil,
			map[string]string{"state": "pool", "keep": "1", OwnerKey: OwnerValue}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.UpdateExternalIDsIf(ctx, a.Name, tc.expect, tc.ids)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			aps, _ := c.AccessPorts(ctx)
			if d := cmp.Diff(tc.after, aps[0].ExternalIDs); d != "" {
				t.Errorf("external_ids (-want +got):\n%s", d)
			}
		})
	}
	if err := c.UpdateExternalIDsIf(ctx, "ovdv999", nil, map[string]string{"a": "b"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing port: %v, want ErrNotFound", err)
	}

	// Many clients race for one transition: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan int, 8)
	for i := range 8 {
		cl := dial(t, ep)
		wg.Go(func() {
			err := cl.UpdateExternalIDsIf(ctx, a.Name, map[string]string{"state": "pool"}, map[string]string{"state": "taken"})
			switch {
			case err == nil:
				wins <- i
			case !errors.Is(err, ErrChanged):
				t.Errorf("client %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d clients took the port, want 1", n)
	}
}

func TestSetBridgeExternalIDs(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	c := dial(t, ep)
	ctx := testCtx(t)
	if err := c.SetBridgeExternalIDs(ctx, "br-vm", map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetBridgeExternalIDs(ctx, "br-vm", map[string]string{"a": "", "b": "3"}); err != nil {
		t.Fatal(err)
	}
	brs, _ := c.Bridges(ctx)
	if d := cmp.Diff(map[string]string{"b": "3"}, brs[0].ExternalIDs); d != "" {
		t.Errorf("bridge external_ids (-want +got):\n%s", d)
	}
	if err := c.SetBridgeExternalIDs(ctx, "br-x", map[string]string{"a": "1"}); !errors.Is(err, ErrNoBridge) {
		t.Errorf("unknown bridge: %v, want ErrNoBridge", err)
	}
}

// After RenewInterface the access port has no ofport until its next veth
// exists (the old row would keep the old device's), and a veth created
// again under the same name carries traffic as soon as WaitInterfaceUp
// returns.
func TestRenewInterfaceReusesName(t *testing.T) {
	ep := testDB(t)
	const vm = "vst-vm2"
	addBridge(t, ep, "br-vm")
	startVSwitchd(t, ep, vm)
	ctx := testCtx(t)
	c := dial(t, ep)
	a, err := c.ClaimVLAN(ctx, "br-vm", map[string]string{"k": "v"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The peer: an internal port on the same VLAN.
	vsctl(t, ep, "add-port", "br-vm", "vstpeer", "tag=1", "--", "set", "interface", "vstpeer", "type=internal")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// --no-wait: the row may not be in the cache yet.
		if err := c.WaitInterfaceUp(ctx, "vstpeer"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	run(t, "ip", "-n", vm, "addr", "add", "10.51.0.1/24", "dev", "vstpeer")
	run(t, "ip", "-n", vm, "link", "set", "vstpeer", "up")
	run(t, "ip", "netns", "exec", vm, "ethtool", "-K", "vstpeer", "tx", "off")
	const ctr = "vst-rn"
	run(t, "ip", "netns", "add", ctr)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ctr).Run() })
	nd := netdev.New(testLogger(t))
	veth := func() {
		t.Helper()
		inNetns(t, "/var/run/netns/"+vm, func() error {
			return nd.CreateVeth(ctx, a.Name, "/var/run/netns/"+ctr, netdev.IfaceConfig{
				// The same MAC each time, as a pooled Neutron port's: a
				// new one would meet the peer's ARP entry (locktime 1 s).
				Name: "eth0", MAC: net.HardwareAddr{0x02, 0, 0, 0x51, 0, 5}, Addresses: []netip.Prefix{netip.MustParsePrefix("10.51.0.5/24")}, MTU: 1500, DisableTxChecksum: true,
			})
		})
		waitUp(t, c, a.Name)
	}
	ping := func() error {
		return exec.Command("ip", "netns", "exec", ctr, "ping", "-c1", "-W1", "10.51.0.1").Run()
	}
	veth()
	// The peer's own port may take a moment; after that, every ping must
	// succeed at once.
	deadline := time.Now().Add(5 * time.Second)
	for err := ping(); err != nil; err = ping() {
		if time.Now().After(deadline) {
			t.Fatalf("first veth: %v", err)
		}
	}
	inNetns(t, "/var/run/netns/"+vm, func() error { return nd.DeleteLink(ctx, a.Name) })
	if err := c.RenewInterface(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	aps, _ := c.AccessPorts(ctx)
	if len(aps) != 1 || aps[0].OFPort > 0 || aps[0].VLAN != a.VLAN || aps[0].ExternalIDs["k"] != "v" {
		t.Fatalf("after renew: %+v (want the same claim, no ofport yet)", aps)
	}
	veth()
	if err := ping(); err != nil {
		t.Errorf("veth created again after RenewInterface: ping: %v", err)
	}
	if err := c.RenewInterface(ctx, "ovdv999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing port: %v, want ErrNotFound", err)
	}
}
