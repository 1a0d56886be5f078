package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/dockerdriver"
)

type fakeBridge struct{ ids map[string]string }

func (b *fakeBridge) BridgeExternalIDs(context.Context, string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range b.ids {
		out[k] = v
	}
	return out, nil
}

func (b *fakeBridge) SetBridgeExternalIDs(_ context.Context, _ string, ids map[string]string) error {
	for k, v := range ids {
		if v == "" {
			delete(b.ids, k)
		} else {
			b.ids[k] = v
		}
	}
	return nil
}

type fakeCloud struct {
	nets    map[string]cloud.Network // by id
	ports   map[string][]cloud.Port  // by network id
	created []string
	deleted []string
}

func (c *fakeCloud) FindNetwork(_ context.Context, s string) (cloud.Network, error) {
	for _, n := range c.nets {
		if n.ID == s || n.Name == s {
			return n, nil
		}
	}
	return cloud.Network{}, fmt.Errorf("network %s: %w", s, cloud.ErrNotFound)
}

func (c *fakeCloud) CreateNetwork(_ context.Context, o cloud.CreateNetworkOpts) (cloud.Network, error) {
	id := fmt.Sprintf("net-%d", len(c.nets)+1)
	n := cloud.Network{ID: id, Name: o.Name, MTU: 1442, Subnets: []cloud.Subnet{{ID: "sub-" + id, CIDR: o.IPv4CIDR, Gateway: o.IPv4CIDR.Addr().Next()}}}
	created := o.Name + " " + o.IPv4CIDR.String()
	if o.IPv6CIDR.IsValid() {
		n.Subnets = append(n.Subnets, cloud.Subnet{ID: "sub6-" + id, CIDR: o.IPv6CIDR, Gateway: o.IPv6CIDR.Addr().Next()})
		created += " " + o.IPv6CIDR.String()
	}
	c.nets[id] = n
	c.created = append(c.created, created)
	return n, nil
}

func (c *fakeCloud) DeleteNetwork(_ context.Context, id string) error {
	delete(c.nets, id)
	c.deleted = append(c.deleted, id)
	return nil
}

func (c *fakeCloud) ListNetworks(context.Context) ([]cloud.Network, error) {
	var out []cloud.Network
	for _, n := range c.nets {
		out = append(out, n)
	}
	return out, nil
}

func (c *fakeCloud) ListPorts(_ context.Context, f cloud.PortFilter) ([]cloud.Port, error) {
	return c.ports[f.NetworkID], nil
}

// The project's security groups.
var fakeGroups = []cloud.SecurityGroup{{ID: "aaaaaaaa-0000-4000-8000-000000000001", Name: "web"}, {ID: "aaaaaaaa-0000-4000-8000-000000000002", Name: "db"}}

func (c *fakeCloud) ResolveSecurityGroups(_ context.Context, given []string) ([]string, error) {
	return cloud.MatchSecurityGroups(fakeGroups, given)
}

// fakeAttach keeps entries in memory, like the access ports would.
type fakeAttach struct {
	entries []attach.Entry
	calls   []string
	// reserveErr, if set, is what Reserve fails with.
	reserveErr error
	groups     [][]string // the groups of each Reserve
	// v6, if valid, is the IPv6 subnet of every network: a port made
	// without an address asked for has one there too, as Neutron gives.
	v6 netip.Prefix
}

func (a *fakeAttach) Reserve(_ context.Context, r attach.ReserveRequest) (attach.Entry, error) {
	a.calls = append(a.calls, "Reserve "+r.NetworkID)
	if a.reserveErr != nil {
		return attach.Entry{}, a.reserveErr
	}
	a.groups = append(a.groups, r.SecurityGroups)
	ip := r.IP
	if !ip.IsValid() {
		ip = netip.MustParseAddr(fmt.Sprintf("10.1.0.%d", 10+len(a.entries)))
	}
	e := attach.Entry{
		PortName: fmt.Sprintf("ovd%03d", len(a.entries)+1), NetworkID: r.NetworkID, PortID: "port-" + ip.String(), Ref: r.Ref, State: "reserved",
		Config: attach.IfaceConfig{
			MAC: net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, byte(len(a.entries) + 1)}, Addresses: []netip.Prefix{netip.PrefixFrom(ip, 24)},
			Gateways: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, MTU: 1442,
		},
	}
	if a.v6.IsValid() && !r.IP.IsValid() {
		e.Config.Addresses = append(e.Config.Addresses, a.nextV6())
		e.Config.Gateways = append(e.Config.Gateways, a.v6.Addr().Next())
	}
	a.entries = append(a.entries, e)
	return e, nil
}

// nextV6 is an address of a.v6 no entry has.
func (a *fakeAttach) nextV6() netip.Prefix {
	ip := a.v6.Addr().Next()
	for a.find(func(e attach.Entry) bool {
		return slices.Contains(e.Config.Addresses, netip.PrefixFrom(ip, a.v6.Bits()))
	}) != nil || ip == a.v6.Addr().Next() {
		ip = ip.Next()
	}
	return netip.PrefixFrom(ip, a.v6.Bits())
}

// SetAddresses takes a fixed IP without address for one in a.v6.
func (a *fakeAttach) SetAddresses(_ context.Context, ref string, ips []cloud.FixedIP) (attach.Entry, error) {
	a.calls = append(a.calls, fmt.Sprintf("SetAddresses %v", ips))
	e := a.find(func(e attach.Entry) bool { return e.Ref == ref })
	if e == nil {
		return attach.Entry{}, attach.ErrNoEntry
	}
	var addrs []netip.Prefix
	for _, ip := range ips {
		switch {
		case !ip.IP.IsValid():
			addrs = append(addrs, a.nextV6())
		case ip.IP.Is4():
			addrs = append(addrs, netip.PrefixFrom(ip.IP, 24))
		default:
			addrs = append(addrs, netip.PrefixFrom(ip.IP, a.v6.Bits()))
		}
	}
	e.Config.Addresses = addrs
	e.Config.Gateways = []netip.Addr{netip.MustParseAddr("10.1.0.1"), a.v6.Addr().Next()}
	return *e, nil
}

func (a *fakeAttach) find(f func(attach.Entry) bool) *attach.Entry {
	for i := range a.entries {
		if f(a.entries[i]) {
			return &a.entries[i]
		}
	}
	return nil
}

func (a *fakeAttach) SetEndpoint(_ context.Context, ref, ep string) (attach.Entry, error) {
	a.calls = append(a.calls, "SetEndpoint "+ep)
	e := a.find(func(e attach.Entry) bool { return e.Ref == ref })
	if e == nil {
		return attach.Entry{}, attach.ErrNoEntry
	}
	e.Endpoint = ep
	return *e, nil
}

func (a *fakeAttach) EntryByEndpoint(_ context.Context, ep string) (attach.Entry, error) {
	e := a.find(func(e attach.Entry) bool { return e.Endpoint == ep })
	if e == nil {
		return attach.Entry{}, attach.ErrNoEntry
	}
	return *e, nil
}

func (a *fakeAttach) Plug(_ context.Context, ep string) (attach.Entry, error) {
	a.calls = append(a.calls, "Plug "+ep)
	e := a.find(func(e attach.Entry) bool { return e.Endpoint == ep })
	if e == nil {
		return attach.Entry{}, attach.ErrNoEntry
	}
	e.Peer, e.State = attach.PeerName(e.PortName), "ready"
	return *e, nil
}

func (a *fakeAttach) Unplug(_ context.Context, ep string) error {
	a.calls = append(a.calls, "Unplug "+ep)
	if e := a.find(func(e attach.Entry) bool { return e.Endpoint == ep }); e != nil {
		e.Endpoint, e.Peer, e.State = "", "", "reserved"
	}
	return nil
}

func (a *fakeAttach) Free(_ context.Context, ref string) error {
	a.calls = append(a.calls, "Free")
	for i, e := range a.entries {
		if e.Ref == ref {
			a.entries = append(a.entries[:i], a.entries[i+1:]...)
			return nil
		}
	}
	return nil
}

func (a *fakeAttach) EngineEntries(context.Context) ([]attach.Entry, error) { return a.entries, nil }

func (a *fakeAttach) FreeIf(context.Context, func(attach.Entry) bool) (attach.Freed, error) {
	return attach.Freed{}, nil
}

func (a *fakeAttach) FreeOrphans(context.Context, []string) ([]string, error) { return nil, nil }

func newDriver() (*Driver, *fakeCloud, *fakeAttach, *fakeBridge) {
	c := &fakeCloud{nets: map[string]cloud.Network{}, ports: map[string][]cloud.Port{}}
	a := &fakeAttach{}
	b := &fakeBridge{ids: map[string]string{}}
	return &Driver{Attach: a, Cloud: c, Bridge: b, BridgeName: "br-vm"}, c, a, b
}

func generic(opts map[string]any) map[string]any {
	return map[string]any{dockerdriver.OptionGeneric: opts}
}

func ipv4(pool string) []dockerdriver.IPAMData {
	return []dockerdriver.IPAMData{{AddressSpace: dockerdriver.AddressSpace, Pool: pool}}
}

func TestRequestPool(t *testing.T) {
	ctx := context.Background()
	d, c, _, b := newDriver()
	c.nets["taken"] = cloud.Network{ID: "taken", Name: "other", Subnets: []cloud.Subnet{{CIDR: netip.MustParsePrefix("10.1.0.0/24")}}}

	got, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{Pool: "10.7.0.5/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := dockerdriver.RequestPoolResponse{PoolID: "10.7.0.0/24", Pool: "10.7.0.0/24", Data: map[string]string{dockerdriver.GatewayAddressType: "10.7.0.1/24"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("--subnet (-want +got):\n%s", diff)
	}
	if _, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{Pool: "10.7.0.0/24"}); !errors.Is(err, ErrPoolInUse) {
		t.Errorf("the same --subnet again: %v, want ErrPoolInUse", err)
	}
	for _, overlapping := range []string{"10.7.0.0/16", "10.7.0.128/25"} {
		if _, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{Pool: overlapping}); !errors.Is(err, ErrPoolInUse) || !strings.Contains(err.Error(), "overlaps 10.7.0.0/24") {
			t.Errorf("--subnet %s overlapping 10.7.0.0/24: %v, want ErrPoolInUse naming it", overlapping, err)
		}
	}
	// Without --subnet: the first /24 no subnet of the tenant uses.
	got, err = d.RequestPool(ctx, dockerdriver.RequestPoolRequest{})
	if err != nil || got.PoolID != "10.1.1.0/24" {
		t.Errorf("free pool: %+v, %v; want 10.1.1.0/24", got, err)
	}
	for _, c := range []struct {
		req  dockerdriver.RequestPoolRequest
		want error
	}{
		{dockerdriver.RequestPoolRequest{V6: true, Pool: "10.9.0.0/24"}, ErrBadOption},
		{dockerdriver.RequestPoolRequest{Options: map[string]string{"x": "y"}}, ErrBadOption},
		{dockerdriver.RequestPoolRequest{Pool: "fd00::/64"}, ErrBadOption},
		{dockerdriver.RequestPoolRequest{Pool: "10.9.0.0/24", SubPool: "10.9.0.0/25"}, ErrUnsupported},
	} {
		if _, err := d.RequestPool(ctx, c.req); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.req, err, c.want)
		}
	}
	if diff := cmp.Diff(map[string]string{keyPoolPrefix + "10.7.0.0/24": poolPending, keyPoolPrefix + "10.1.1.0/24": poolPending}, b.ids); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if err := d.ReleasePool(ctx, dockerdriver.ReleasePoolRequest{PoolID: "10.7.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.ids[keyPoolPrefix+"10.7.0.0/24"]; ok {
		t.Error("ReleasePool kept the pool's record")
	}
}

func TestCreateNetwork(t *testing.T) {
	existing := cloud.Network{ID: "11111111-2222-3333-4444-555555555555", Name: "LS1", Subnets: []cloud.Subnet{{ID: "s1", CIDR: netip.MustParsePrefix("10.1.0.0/24")}}}
	dual := cloud.Network{ID: "22222222-2222-3333-4444-555555555555", Name: "LS2", Subnets: []cloud.Subnet{{ID: "s2", CIDR: netip.MustParsePrefix("10.2.0.0/24")}, {ID: "s2v6", CIDR: netip.MustParsePrefix("fd00:0:0:2::/64")}}}
	for _, c := range []struct {
		name    string
		req     dockerdriver.CreateNetworkRequest
		wantErr error
		created []string
		record  string
	}{
		{"found by name", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS1"}), IPv4Data: ipv4("10.1.0.0/24")}, nil, nil, existing.ID + " s1 10.1.0.0/24 found"},
		{"IPv4 only on a dual-stack network", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS2"}), IPv4Data: ipv4("10.2.0.0/24")}, nil, nil, dual.ID + " s2 10.2.0.0/24 found"},
		{"found by id", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": existing.ID}), IPv4Data: ipv4("10.1.0.0/24")}, nil, nil, existing.ID + " s1 10.1.0.0/24 found"},
		{"created", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS9"}), IPv4Data: ipv4("10.9.0.0/24")}, nil, []string{"LS9 10.9.0.0/24"}, "net-3 sub-net-3 10.9.0.0/24 created"},
		{"other subnet", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS1"}), IPv4Data: ipv4("10.2.0.0/24")}, ErrBadOption, nil, ""},
		{"unknown option", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS9", "colour": "blue"}), IPv4Data: ipv4("10.9.0.0/24")}, ErrBadOption, nil, ""},
		{"no network named", dockerdriver.CreateNetworkRequest{NetworkID: "d1", IPv4Data: ipv4("10.9.0.0/24")}, ErrBadOption, nil, ""},
		{"unknown id", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "99999999-2222-3333-4444-555555555555"}), IPv4Data: ipv4("10.9.0.0/24")}, cloud.ErrNotFound, nil, ""},
		{"Docker's IPAM", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS9"}), IPv4Data: []dockerdriver.IPAMData{{AddressSpace: "LocalDefault", Pool: "172.18.0.0/16"}}}, ErrBadOption, nil, ""},
		{"IPv6 without pool", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS9"}}, IPv4Data: ipv4("10.9.0.0/24")}, ErrBadOption, nil, ""},
		{"IPv6 created", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS9"}}, IPv4Data: ipv4("10.9.0.0/24"), IPv6Data: ipv4("fd00:0:0:9::/64")}, nil, []string{"LS9 10.9.0.0/24 fd00:0:0:9::/64"}, "net-3 sub-net-3 10.9.0.0/24 created"},
		{"IPv6 found", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS2"}}, IPv4Data: ipv4("10.2.0.0/24"), IPv6Data: ipv4("fd00:0:0:2::/64")}, nil, nil, dual.ID + " s2 10.2.0.0/24 found"},
		{"IPv6 found, other IPv6 subnet", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS2"}}, IPv4Data: ipv4("10.2.0.0/24"), IPv6Data: ipv4("fd00:0:0:2::/48")}, ErrBadOption, nil, ""},
		{"IPv6 found without IPv6 subnet", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS1"}}, IPv4Data: ipv4("10.1.0.0/24"), IPv6Data: ipv4("fd00:0:0:1::/64")}, ErrBadOption, nil, ""},
		{"two IPv6 pools", dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: map[string]any{dockerdriver.OptionEnableIPv6: true, dockerdriver.OptionGeneric: map[string]any{"network": "LS9"}}, IPv4Data: ipv4("10.9.0.0/24"), IPv6Data: append(ipv4("fd00:0:0:9::/64"), ipv4("fd00:0:0:8::/64")...)}, ErrBadOption, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, cl, _, b := newDriver()
			cl.nets[existing.ID] = existing
			cl.nets[dual.ID] = dual
			err := d.CreateNetwork(context.Background(), c.req)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if diff := cmp.Diff(c.created, cl.created); diff != "" {
				t.Errorf("Neutron networks created (-want +got):\n%s", diff)
			}
			if got := b.ids[keyNetworkPrefix+"d1"]; got != c.record {
				t.Errorf("record %q, want %q", got, c.record)
			}
			if err != nil && len(b.ids) != 0 {
				t.Errorf("a refused create left records: %v", b.ids)
			}
		})
	}
}

func TestEndpointLifecycle(t *testing.T) {
	ctx := context.Background()
	d, _, a, _ := newDriver()
	if _, err := d.RequestPool(ctx, dockerdriver.RequestPoolRequest{Pool: "10.1.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateNetwork(ctx, dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS1"}), IPv4Data: ipv4("10.1.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	// The gateway is only echoed: Neutron owns it.
	gw, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.1.0.0/24", Options: map[string]string{dockerdriver.OptionRequestAddressType: dockerdriver.GatewayAddressType}})
	if err != nil || gw.Address != "10.1.0.1/24" || len(a.calls) != 0 {
		t.Fatalf("gateway: %+v, %v, attach calls %v", gw, err, a.calls)
	}
	addr, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.1.0.0/24"})
	if err != nil || addr.Address != "10.1.0.10/24" {
		t.Fatalf("RequestAddress: %+v, %v", addr, err)
	}
	if _, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.5.0.0/24"}); !errors.Is(err, ErrUnknownPool) {
		t.Errorf("a pool never requested: %v, want ErrUnknownPool", err)
	}
	ep, err := d.CreateEndpoint(ctx, dockerdriver.CreateEndpointRequest{NetworkID: "d1", EndpointID: "e1", Interface: &dockerdriver.EndpointInterface{Address: addr.Address}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&dockerdriver.EndpointInterface{MacAddress: "fa:16:3e:00:00:01"}, ep.Interface); diff != "" {
		t.Errorf("CreateEndpoint (-want +got):\n%s", diff)
	}
	if _, err := d.CreateEndpoint(ctx, dockerdriver.CreateEndpointRequest{NetworkID: "d1", EndpointID: "e2", Interface: &dockerdriver.EndpointInterface{Address: "10.1.0.99/24"}}); !errors.Is(err, ErrForeignAddr) {
		t.Errorf("an address the driver did not give: %v, want ErrForeignAddr", err)
	}
	if _, err := d.CreateEndpoint(ctx, dockerdriver.CreateEndpointRequest{NetworkID: "d1", EndpointID: "e3", Interface: &dockerdriver.EndpointInterface{Address: addr.Address, MacAddress: "02:00:00:00:00:01"}}); err == nil {
		t.Error("a --mac-address other than Neutron's was accepted")
	}
	join, err := d.Join(ctx, dockerdriver.JoinRequest{NetworkID: "d1", EndpointID: "e1", SandboxKey: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(dockerdriver.JoinResponse{InterfaceName: dockerdriver.InterfaceName{SrcName: "ovc001", DstPrefix: "eth"}, Gateway: "10.1.0.1"}, join); diff != "" {
		t.Errorf("Join (-want +got):\n%s", diff)
	}
	if err := d.Leave(ctx, dockerdriver.LeaveRequest{NetworkID: "d1", EndpointID: "e1"}); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteEndpoint(ctx, dockerdriver.DeleteEndpointRequest{NetworkID: "d1", EndpointID: "e1"}); err != nil {
		t.Fatal(err)
	}
	if err := d.ReleaseAddress(ctx, dockerdriver.ReleaseAddressRequest{PoolID: "10.1.0.0/24", Address: "10.1.0.10"}); err != nil {
		t.Fatal(err)
	}
	// Released twice (Docker retries): nothing more to do.
	if err := d.ReleaseAddress(ctx, dockerdriver.ReleaseAddressRequest{PoolID: "10.1.0.0/24", Address: "10.1.0.10"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"Reserve net-1", "SetEndpoint e1", "Plug e1", "Unplug e1", "Free"}
	if diff := cmp.Diff(want, a.calls); diff != "" {
		t.Errorf("attach calls (-want +got):\n%s", diff)
	}
	if len(a.entries) != 0 {
		t.Errorf("entries left: %+v", a.entries)
	}
}

func TestDeleteNetwork(t *testing.T) {
	for _, c := range []struct {
		name    string
		record  string
		ports   []cloud.Port
		deleted []string
	}{
		{"created, no port left", "n1 s1 10.1.0.0/24 created", nil, []string{"n1"}},
		{"created, another VM's port on it", "n1 s1 10.1.0.0/24 created", []cloud.Port{{ID: "p"}}, nil},
		{"found", "n1 s1 10.1.0.0/24 found", nil, nil},
		{"never created", "", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, cl, _, b := newDriver()
			cl.nets["n1"] = cloud.Network{ID: "n1", Name: "LS1"}
			cl.ports["n1"] = c.ports
			if c.record != "" {
				b.ids[keyNetworkPrefix+"d1"] = c.record
			}
			if err := d.DeleteNetwork(context.Background(), dockerdriver.DeleteNetworkRequest{NetworkID: "d1"}); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.deleted, cl.deleted); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			if len(b.ids) != 0 {
				t.Errorf("records left: %v", b.ids)
			}
		})
	}
}

func TestRequestAddressNeutronDown(t *testing.T) {
	ctx := context.Background()
	d, _, a, b := newDriver()
	b.ids[keyPoolPrefix+"10.1.0.0/24"] = "net1 sub1"
	a.reserveErr = fmt.Errorf("creating a port: %w: cannot reach Neutron at http://x/", cloud.ErrUnreachable)
	_, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.1.0.0/24"})
	if !errors.Is(err, cloud.ErrUnreachable) || !strings.Contains(err.Error(), "no ready port left in this VM's pool") {
		t.Errorf("pool empty and Neutron down: %v; want ErrUnreachable saying the pool is empty", err)
	}
	if len(a.entries) != 0 {
		t.Errorf("entries left: %+v", a.entries)
	}
}

// -o security_groups names the groups of the network's ports: resolved
// (names or ids) when the network is created, recorded with its pool, and
// given to every reservation; a bad one creates nothing.
func TestCreateNetworkSecurityGroups(t *testing.T) {
	ctx := context.Background()
	d, cl, a, b := newDriver()
	err := d.CreateNetwork(ctx, dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS9", "security_groups": "web,nosuch"}), IPv4Data: ipv4("10.9.0.0/24")})
	if !errors.Is(err, ErrBadOption) || !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("unknown group: %v, want a bad option naming it", err)
	}
	if len(cl.created) != 0 || len(b.ids) != 0 {
		t.Fatalf("a refused create made networks %v, records %v", cl.created, b.ids)
	}
	if err := d.CreateNetwork(ctx, dockerdriver.CreateNetworkRequest{NetworkID: "d1", Options: generic(map[string]any{"network": "LS9", "security_groups": "web,db"}), IPv4Data: ipv4("10.9.0.0/24")}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.ids[keyPoolPrefix+"10.9.0.0/24"], "net-1 sub-net-1 "+fakeGroups[0].ID+","+fakeGroups[1].ID; got != want {
		t.Errorf("pool record %q, want %q", got, want)
	}
	if _, err := d.RequestAddress(ctx, dockerdriver.RequestAddressRequest{PoolID: "10.9.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{fakeGroups[0].ID, fakeGroups[1].ID}}, a.groups); diff != "" {
		t.Errorf("groups of the reservations (-want +got):\n%s", diff)
	}
}
