package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"sort"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/cniapi"
)

// fakeCNIVM is a VM's attach core, OVS and Neutron for the CNI endpoint.
type fakeCNIVM struct {
	ports    map[string]map[string]string // access port -> external_ids
	next     int
	network  cloud.Network
	attachFn func(attach.Request) error
}

func newFakeCNIVM() *fakeCNIVM {
	return &fakeCNIVM{ports: map[string]map[string]string{}, network: cloud.Network{
		ID: "net-1", Name: "LS1", MTU: 1442,
		Subnets: []cloud.Subnet{{ID: "sub-1", CIDR: netip.MustParsePrefix("10.1.0.0/24"), Gateway: netip.MustParseAddr("10.1.0.1"), DNSNameservers: []netip.Addr{netip.MustParseAddr("10.1.0.53")}}},
	}}
}

func (f *fakeCNIVM) Attach(_ context.Context, req attach.Request) (attach.Attachment, error) {
	if f.attachFn != nil {
		if err := f.attachFn(req); err != nil {
			return attach.Attachment{}, err
		}
	}
	if req.Network != f.network.Name && req.Network != f.network.ID {
		return attach.Attachment{}, fmt.Errorf("network %s: %w", req.Network, cloud.ErrNotFound)
	}
	f.next++
	name := fmt.Sprintf("ovd%d", f.next)
	f.ports[name] = map[string]string{attach.KeyNetns: req.NetnsPath, attach.KeyIfName: req.IfName, attach.KeyPort: "port-" + name, attach.KeyState: "ready", attach.KeyVIF: "vif"}
	maps.Copy(f.ports[name], req.Tags)
	return attach.Attachment{
		PortName: name, VLAN: f.next, NetnsPath: req.NetnsPath, IfName: req.IfName, NetworkID: f.network.ID, PortID: "port-" + name,
		MAC: "fa:16:3e:00:00:01", Addresses: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.1.0.%d/24", 10+f.next))},
		Gateways: []netip.Addr{netip.MustParseAddr("10.1.0.1")}, MTU: 1442, DNS: f.network.Subnets[0].DNSNameservers,
	}, nil
}

func (f *fakeCNIVM) Detach(_ context.Context, sel attach.Selector) (int, error) {
	n := 0
	for name, ids := range f.ports {
		if ids[attach.KeyNetns] == sel.NetnsPath && ids[attach.KeyIfName] == sel.IfName {
			delete(f.ports, name)
			n++
		}
	}
	return n, nil
}

func (f *fakeCNIVM) AccessPorts(context.Context) ([]attach.AccessPort, error) {
	var out []attach.AccessPort
	for name, ids := range f.ports {
		out = append(out, attach.AccessPort{Name: name, ExternalIDs: ids})
	}
	return out, nil
}

func (f *fakeCNIVM) FindNetwork(_ context.Context, n string) (cloud.Network, error) {
	if n == f.network.Name || n == f.network.ID {
		return f.network, nil
	}
	return cloud.Network{}, cloud.ErrNotFound
}
func (f *fakeCNIVM) GetNetwork(ctx context.Context, id string) (cloud.Network, error) {
	return f.FindNetwork(ctx, id)
}
func (f *fakeCNIVM) GetPort(_ context.Context, id string) (cloud.Port, error) {
	for name := range f.ports {
		if "port-"+name == id {
			mac, _ := net.ParseMAC("fa:16:3e:00:00:01")
			var n int
			fmt.Sscanf(name, "ovd%d", &n)
			return cloud.Port{ID: id, MAC: mac, FixedIPs: []cloud.FixedIP{{IP: netip.MustParseAddr(fmt.Sprintf("10.1.0.%d", 10+n))}}}, nil
		}
	}
	return cloud.Port{}, cloud.ErrNotFound
}

// Interface: what the namespace holds, per the fake's ports.
func (f *fakeCNIVM) Interface(_ context.Context, netns, ifName string) (net.HardwareAddr, []netip.Prefix, error) {
	for name, ids := range f.ports {
		if ids[attach.KeyNetns] == netns && ids[attach.KeyIfName] == ifName {
			mac, _ := net.ParseMAC("fa:16:3e:00:00:01")
			var n int
			fmt.Sscanf(name, "ovd%d", &n)
			return mac, []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.1.0.%d/24", 10+n))}, nil
		}
	}
	return nil, nil, fmt.Errorf("no %s", ifName)
}

func newTestCNI() (*CNI, *fakeCNIVM) {
	f := newFakeCNIVM()
	return &CNI{Attach: f, Switch: f, Cloud: f, Netns: f, VIF: "vif"}, f
}

func conf(extra string) json.RawMessage {
	return json.RawMessage(`{"cniVersion":"1.1.0","name":"ovn-net","type":"ovn-cni","network":"LS1"` + extra + `}`)
}

func TestCNIAddResult(t *testing.T) {
	c, f := newTestCNI()
	out, err := c.Handle(context.Background(), cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf("")})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"cniVersion": "1.1.0",
		"interfaces": []any{map[string]any{"name": "eth0", "mac": "fa:16:3e:00:00:01", "mtu": float64(1442), "sandbox": "/run/netns/a"}},
		"ips":        []any{map[string]any{"interface": float64(0), "address": "10.1.0.11/24", "gateway": "10.1.0.1"}},
		"routes":     []any{map[string]any{"dst": "0.0.0.0/0", "gw": "10.1.0.1"}},
		"dns":        map[string]any{"nameservers": []any{"10.1.0.53"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if ids := f.ports["ovd1"]; ids[KeyCNIContainer] != "c1" || ids[KeyCNINetwork] != "ovn-net" {
		t.Errorf("attachment not recorded on the access port: %v", ids)
	}
	// The result in an older cniVersion.
	out, err = c.Handle(context.Background(), cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c2", Netns: "/run/netns/b", IfName: "eth0",
		Config: json.RawMessage(`{"cniVersion":"0.4.0","name":"ovn-net","type":"ovn-cni","network":"LS1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		CNIVersion string `json:"cniVersion"`
		IPs        []struct {
			Version string `json:"version"`
		} `json:"ips"`
	}
	if err := json.Unmarshal(out, &old); err != nil || old.CNIVersion != "0.4.0" || len(old.IPs) != 1 || old.IPs[0].Version != "4" {
		t.Errorf("0.4.0 result: %s (%v)", out, err)
	}
}

func TestCNIAddErrorsLeaveNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  cniapi.Request
		code uint
	}{
		{"unknown network", cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c", Netns: "/n", IfName: "eth0", Config: json.RawMessage(`{"cniVersion":"1.1.0","name":"x","type":"ovn-cni","network":"nope"}`)}, types.ErrInvalidNetworkConfig},
		{"mtu mismatch", cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c", Netns: "/n", IfName: "eth0", Config: conf(`,"mtu":1500`)}, types.ErrInvalidNetworkConfig},
		{"no netns", cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c", IfName: "eth0", Config: conf("")}, types.ErrInvalidEnvironmentVariables},
		{"malformed", cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c", Netns: "/n", IfName: "eth0", Config: json.RawMessage(`{`)}, types.ErrDecodingFailure},
		{"unknown command", cniapi.Request{Command: "FOO", Config: conf("")}, types.ErrInvalidEnvironmentVariables},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f := newTestCNI()
			_, err := c.Handle(context.Background(), tc.req)
			if err == nil || err.Code != tc.code {
				t.Fatalf("got %v, want code %d", err, tc.code)
			}
			if len(f.ports) != 0 {
				t.Errorf("left behind: %v", f.ports)
			}
		})
	}
}

func TestCNIDelIdempotent(t *testing.T) {
	c, f := newTestCNI()
	ctx := context.Background()
	add := cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf("")}
	if _, err := c.Handle(ctx, add); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Handle(ctx, add); err == nil {
		t.Error("a second ADD of the same attachment succeeded")
	}
	del := cniapi.Request{Command: cniapi.CmdDel, ContainerID: "c1", IfName: "eth0", Config: conf("")} // netns gone
	for i := range 2 {
		if _, err := c.Handle(ctx, del); err != nil {
			t.Fatalf("DEL %d: %v", i+1, err)
		}
		if len(f.ports) != 0 {
			t.Fatalf("DEL %d left %v", i+1, f.ports)
		}
	}
}

func TestCNICheck(t *testing.T) {
	c, f := newTestCNI()
	ctx := context.Background()
	res, err := c.Handle(ctx, cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf("")})
	if err != nil {
		t.Fatal(err)
	}
	check := cniapi.Request{Command: cniapi.CmdCheck, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf(`,"prevResult":` + string(res))}
	if _, err := c.Handle(ctx, check); err != nil {
		t.Fatalf("CHECK of a good attachment: %v", err)
	}
	var prev types100.Result
	_ = json.Unmarshal(res, &prev)
	prev.IPs[0].Address.IP = net.ParseIP("10.1.0.99").To4()
	bad, _ := json.Marshal(prev)
	if _, err := c.Handle(ctx, cniapi.Request{Command: cniapi.CmdCheck, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf(`,"prevResult":` + string(bad))}); err == nil {
		t.Error("CHECK with another address passed")
	}
	f.ports["ovd1"][attach.KeyPort] = "port-gone"
	if _, err := c.Handle(ctx, check); err == nil {
		t.Error("CHECK with the Neutron port gone passed")
	}
	if _, err := c.Handle(ctx, cniapi.Request{Command: cniapi.CmdCheck, ContainerID: "c1", Netns: "/run/netns/a", IfName: "eth0", Config: conf("")}); err == nil {
		t.Error("CHECK without prevResult passed")
	}
}

func TestCNIGC(t *testing.T) {
	c, f := newTestCNI()
	ctx := context.Background()
	for _, id := range []string{"keep", "drop1", "drop2"} {
		if _, err := c.Handle(ctx, cniapi.Request{Command: cniapi.CmdAdd, ContainerID: id, Netns: "/run/netns/" + id, IfName: "eth0", Config: conf("")}); err != nil {
			t.Fatal(err)
		}
	}
	// Another network configuration's attachment is not this GC's.
	other := json.RawMessage(`{"cniVersion":"1.1.0","name":"other","type":"ovn-cni","network":"LS1"}`)
	if _, err := c.Handle(ctx, cniapi.Request{Command: cniapi.CmdAdd, ContainerID: "o", Netns: "/run/netns/o", IfName: "eth0", Config: other}); err != nil {
		t.Fatal(err)
	}
	// A CLI attachment (no CNI keys) is not either.
	f.ports["cli"] = map[string]string{attach.KeyNetns: "/run/netns/cli", attach.KeyIfName: "eth0", attach.KeyVIF: "vif"}
	gc := cniapi.Request{Command: cniapi.CmdGC, Config: conf(`,"cni.dev/valid-attachments":[{"containerID":"keep","ifname":"eth0"}]`)}
	if _, err := c.Handle(ctx, gc); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, ids := range f.ports {
		left = append(left, ids[attach.KeyNetns])
	}
	sort.Strings(left)
	if diff := cmp.Diff([]string{"/run/netns/cli", "/run/netns/keep", "/run/netns/o"}, left); diff != "" {
		t.Errorf("after GC (-want +got):\n%s", diff)
	}
}

func TestCNIStatus(t *testing.T) {
	c, _ := newTestCNI()
	if _, err := c.Handle(context.Background(), cniapi.Request{Command: cniapi.CmdStatus, Config: conf("")}); err != nil {
		t.Errorf("STATUS: %v", err)
	}
	_, err := c.Handle(context.Background(), cniapi.Request{Command: cniapi.CmdStatus, Config: json.RawMessage(`{"cniVersion":"1.1.0","name":"x","type":"ovn-cni","network":"nope"}`)})
	if err == nil || err.Code != types.ErrPluginNotAvailable {
		t.Errorf("STATUS of an unknown network: %v", err)
	}
}
