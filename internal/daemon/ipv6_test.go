package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/dockerdriver"
)

func TestRequestPoolIPv6(t *testing.T) {
	ctx := context.Background()
	d, c, _, b := newDriver()
	c.nets["taken"] = cloud.Network{ID: "taken", Name: "other", Subnets: []cloud.Subnet{{CIDR: netip.MustParsePrefix("fd00:0:0:1::/64")}}}
	got, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{V6: true})
	if err != nil {
		t.Fatal(err)
	}
	want := dockerdriver.RequestPoolResponse{PoolID: "fd00:0:0:2::/64", Pool: "fd00:0:0:2::/64", Data: map[string]string{dockerdriver.GatewayAddressType: "fd00:0:0:2::1/64"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("free IPv6 pool (-want +got):\n%s", diff)
	}
	if got, err = d.RequestPool(ctx, dockerdriver.RequestPoolRequest{V6: true, Pool: "2001:db8:5::7/64"}); err != nil || got.PoolID != "2001:db8:5::/64" {
		t.Errorf("IPv6 --subnet: %+v, %v", got, err)
	}
	for _, c := range []struct {
		pool string
		want error
	}{
		{"2001:db8:5::/48", ErrPoolInUse},     // overlaps the pool above
		{"fd00:0:0:2::/64", ErrPoolInUse},     // the free one, taken now
		{"10.1.2.0/24", ErrBadOption},         // not IPv6
		{"::ffff:10.1.2.0/120", ErrBadOption}, // IPv4 in IPv6 clothes
	} {
		if _, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{V6: true, Pool: c.pool}); !errors.Is(err, c.want) {
			t.Errorf("IPv6 --subnet %s: %v, want %v", c.pool, err, c.want)
		}
	}
	if diff := cmp.Diff(map[string]string{keyPoolPrefix + "fd00:0:0:2::/64": poolPending, keyPoolPrefix + "2001:db8:5::/64": poolPending}, b.ids); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// dualStack is a driver with a Docker network d1 bound to a Neutron
// network with an IPv4 and an IPv6 subnet.
func dualStack(t *testing.T) (*Driver, *fakeAttach) {
	t.Helper()
	ctx := context.Background()
	d, _, a, _ := newDriver()
	a.v6 = netip.MustParsePrefix("fd00:0:0:1::/64")
	for _, r := range []dockerdriver.RequestPoolRequest{{Pool: "10.1.0.0/24"}, {V6: true, Pool: "fd00:0:0:1::/64"}} {
		if _, err := d.RequestPool(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.CreateNetwork(ctx, dockerdriver.CreateNetworkRequest{
		NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS1"}},
		IPv4Data: ipv4("10.1.0.0/24"), IPv6Data: ipv4("fd00:0:0:1::/64"),
	}); err != nil {
		t.Fatal(err)
	}
	return d, a
}

func TestDualStackEndpoint(t *testing.T) {
	ctx := context.Background()
	d, a := dualStack(t)
	gw, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "fd00:0:0:1::/64", Options: map[string]string{dockerdriver.OptionRequestAddressType: dockerdriver.GatewayAddressType}})
	if err != nil || gw.Address != "fd00:0:0:1::1/64" {
		t.Fatalf("IPv6 gateway: %+v, %v", gw, err)
	}
	// An IPv6 request without the IPv4 one first has no port to take.
	if _, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "fd00:0:0:1::/64"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("IPv6 request alone: %v, want ErrUnsupported", err)
	}
	v4, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.1.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	v6, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "fd00:0:0:1::/64"})
	if err != nil {
		t.Fatal(err)
	}
	if v4.Address != "10.1.0.10/24" || v6.Address != "fd00:0:0:1::2/64" {
		t.Errorf("addresses %s %s, want 10.1.0.10/24 fd00:0:0:1::2/64 (one port's)", v4.Address, v6.Address)
	}
	ep, err := d.CreateEndpoint(ctx, dockerdriver.CreateEndpointRequest{NetworkID: "d1", EndpointID: "e1", Interface: &dockerdriver.EndpointInterface{Address: v4.Address, AddressIPv6: v6.Address}})
	if err != nil || ep.Interface == nil || ep.Interface.MacAddress == "" {
		t.Fatalf("CreateEndpoint: %+v, %v", ep, err)
	}
	if _, err := d.CreateEndpoint(ctx, dockerdriver.CreateEndpointRequest{NetworkID: "d1", EndpointID: "e1", Interface: &dockerdriver.EndpointInterface{Address: v4.Address, AddressIPv6: "fd00:0:0:1::99/64"}}); !errors.Is(err, ErrForeignAddr) {
		t.Errorf("an IPv6 address not the port's: %v, want ErrForeignAddr", err)
	}
	join, err := d.Join(ctx, dockerdriver.JoinRequest{NetworkID: "d1", EndpointID: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	if join.Gateway != "10.1.0.1" || join.GatewayIPv6 != "fd00:0:0:1::1" {
		t.Errorf("Join gateways %q %q, want 10.1.0.1 fd00:0:0:1::1", join.Gateway, join.GatewayIPv6)
	}
	// Docker releases both addresses; the first frees the port.
	for _, r := range []dockerdriver.ReleaseAddressRequest{{PoolID: "10.1.0.0/24", Address: "10.1.0.10"}, {PoolID: "fd00:0:0:1::/64", Address: "fd00:0:0:1::2"}} {
		if err := d.ReleaseAddress(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.entries) != 0 {
		t.Errorf("entries left: %+v", a.entries)
	}
}

func TestDualStackAddressesAskedFor(t *testing.T) {
	for _, c := range []struct {
		name     string
		ip, ip6  string
		want6    string
		wantErr  error
		setCalls int
	}{
		{"--ip6", "", "fd00:0:0:1::a", "fd00:0:0:1::a/64", nil, 1},
		{"--ip6 the port has", "", "fd00:0:0:1::2", "fd00:0:0:1::2/64", nil, 0},
		{"--ip: the port gets an IPv6 address", "10.1.0.7", "", "fd00:0:0:1::2/64", nil, 1},
		{"--ip and --ip6", "10.1.0.7", "fd00:0:0:1::b", "fd00:0:0:1::b/64", nil, 1},
		{"--ip6 outside the subnet", "", "fd00:0:0:9::1", "", ErrBadOption, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			d, a := dualStack(t)
			v4, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.1.0.0/24", Address: c.ip})
			if err != nil {
				t.Fatal(err)
			}
			v6, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "fd00:0:0:1::/64", Address: c.ip6})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("IPv6 request: %v, want %v", err, c.wantErr)
			}
			sets := 0
			for _, call := range a.calls {
				if len(call) > 12 && call[:12] == "SetAddresses" {
					sets++
				}
			}
			if sets != c.setCalls {
				t.Errorf("%d SetAddresses, want %d (calls %v)", sets, c.setCalls, a.calls)
			}
			if err != nil {
				// Docker does not release the IPv4 address when the IPv6
				// request fails: the driver frees it.
				if len(a.entries) != 0 {
					t.Errorf("a refused IPv6 request left %+v", a.entries)
				}
				return
			}
			if v6.Address != c.want6 {
				t.Errorf("IPv6 address %s, want %s", v6.Address, c.want6)
			}
			if len(a.entries) != 1 || fmt.Sprint(a.entries[0].Config.Addresses) != fmt.Sprint([]string{v4.Address, v6.Address}) {
				t.Errorf("entries %+v, want one port with %s and %s", a.entries, v4.Address, v6.Address)
			}
		})
	}
}

// The IPv4 reservation of the next endpoint waits until the previous one
// is paired; one never paired is freed after pairTimeout.
func TestPairing(t *testing.T) {
	ctx := context.Background()
	var p pairing
	freed := make(chan string, 2)
	abandoned := func(pv pendingV4) { freed <- pv.Ref }
	if err := p.publish(ctx, "n1", pendingV4{Ref: "a"}, abandoned); err != nil {
		t.Fatal(err)
	}
	// Another network's slot is its own.
	if err := p.publish(ctx, "n2", pendingV4{Ref: "x"}, abandoned); err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() { published <- p.publish(ctx, "n1", pendingV4{Ref: "b"}, abandoned) }()
	select {
	case err := <-published:
		t.Fatalf("second publish did not wait: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if pv, ok := p.take("n1", ""); !ok || pv.Ref != "a" {
		t.Fatalf("take: %+v %v, want a", pv, ok)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if pv, ok := p.take("n1", ""); !ok || pv.Ref != "b" {
		t.Fatalf("take: %+v %v, want b", pv, ok)
	}
	if _, ok := p.take("n1", ""); ok {
		t.Fatal("take of an empty slot succeeded")
	}
	// n2's x is never taken.
	select {
	case ref := <-freed:
		if ref != "x" {
			t.Errorf("abandoned %s, want x", ref)
		}
	case <-time.After(2 * pairTimeout):
		t.Fatal("an unpaired reservation was not abandoned")
	}
	cctx, cancel := context.WithCancel(ctx)
	if err := p.publish(ctx, "n3", pendingV4{Ref: "c"}, abandoned); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.publish(cctx, "n3", pendingV4{Ref: "d"}, abandoned); !errors.Is(err, context.Canceled) {
		t.Errorf("publish with the request gone: %v", err)
	}
}
