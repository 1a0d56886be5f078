package main

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// Per-step timing. internal/attach has no timing hook, so the benchmark
// wraps the three interfaces attach.Attacher calls (Switch, Links, Cloud)
// (and PoolSwitch) with decorators that time every call; the attach being measured is
// found through a value in ctx (attach passes ctx, or a child of it, to
// every call). The Attach code path itself is unchanged.

type stepsKey struct{}

// steps of one attach: total time and count of calls per step name, and
// the end of WaitInterfaceUp / of the last GetPort (to get the wall time
// of the wait-ACTIVE loop, poll sleeps included).
type steps struct {
	mu      sync.Mutex
	dur     map[string]time.Duration
	calls   map[string]int
	ifUpEnd time.Time
	getEnd  time.Time
}

func newSteps() *steps {
	return &steps{dur: map[string]time.Duration{}, calls: map[string]int{}}
}

func withSteps(ctx context.Context, s *steps) context.Context {
	return context.WithValue(ctx, stepsKey{}, s)
}

func record(ctx context.Context, name string, t0 time.Time) {
	s, _ := ctx.Value(stepsKey{}).(*steps)
	if s == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.dur[name] += now.Sub(t0)
	s.calls[name]++
	switch name {
	case "ovs: wait interface up":
		s.ifUpEnd = now
	case "neutron: get port (status)":
		s.getEnd = now
	}
	s.mu.Unlock()
}

type timedSwitch struct{ attach.Switch }

func (s timedSwitch) ClaimVLAN(ctx context.Context, bridge string, ids map[string]string, avoid map[int]bool) (attach.AccessPort, error) {
	defer record(ctx, "ovs: claim VLAN", time.Now())
	return s.Switch.ClaimVLAN(ctx, bridge, ids, avoid)
}

func (s timedSwitch) SetExternalIDs(ctx context.Context, port string, ids map[string]string) error {
	defer record(ctx, "ovs: set external_ids", time.Now())
	return s.Switch.SetExternalIDs(ctx, port, ids)
}

func (s timedSwitch) AccessPorts(ctx context.Context) ([]attach.AccessPort, error) {
	defer record(ctx, "ovs: list access ports", time.Now())
	return s.Switch.AccessPorts(ctx)
}

func (s timedSwitch) WaitInterfaceUp(ctx context.Context, port string) error {
	defer record(ctx, "ovs: wait interface up", time.Now())
	return s.Switch.WaitInterfaceUp(ctx, port)
}

func (s timedSwitch) Release(ctx context.Context, port string) error {
	defer record(ctx, "ovs: release VLAN", time.Now())
	return s.Switch.Release(ctx, port)
}

type timedPool struct{ attach.PoolSwitch }

func (p timedPool) UpdateExternalIDsIf(ctx context.Context, port string, expect, ids map[string]string) error {
	defer record(ctx, "ovs: take pool port (guarded)", time.Now())
	return p.PoolSwitch.UpdateExternalIDsIf(ctx, port, expect, ids)
}

func (p timedPool) RenewInterface(ctx context.Context, port string) error {
	defer record(ctx, "ovs: renew interface", time.Now())
	return p.PoolSwitch.RenewInterface(ctx, port)
}

type timedLinks struct{ attach.Links }

func (l timedLinks) CreateVeth(ctx context.Context, host, nsPath string, cfg attach.IfaceConfig) error {
	defer record(ctx, "kernel: veth + eth0 config", time.Now())
	return l.Links.CreateVeth(ctx, host, nsPath, cfg)
}

func (l timedLinks) DeleteLink(ctx context.Context, name string) error {
	defer record(ctx, "kernel: delete veth", time.Now())
	return l.Links.DeleteLink(ctx, name)
}

func (l timedLinks) LinkMTU(ctx context.Context, name string) (int, error) {
	return l.Links.LinkMTU(ctx, name)
}

func (l timedLinks) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	return l.Links.LinkMAC(ctx, name)
}

type timedCloud struct{ attach.Cloud }

func (c timedCloud) FindNetwork(ctx context.Context, n string) (cloud.Network, error) {
	defer record(ctx, "neutron: find network", time.Now())
	return c.Cloud.FindNetwork(ctx, n)
}

func (c timedCloud) CreateChildPort(ctx context.Context, o cloud.ChildPortOpts) (cloud.Port, error) {
	defer record(ctx, "neutron: create port", time.Now())
	return c.Cloud.CreateChildPort(ctx, o)
}

func (c timedCloud) CreatePort(ctx context.Context, o cloud.PortOpts) (cloud.Port, error) {
	defer record(ctx, "neutron: create port", time.Now())
	return c.Cloud.CreatePort(ctx, o)
}

type timedNamer struct{ attach.PortNamer }

func (n timedNamer) SetPortDNSName(ctx context.Context, portID, dnsName, deviceID string) error {
	defer record(ctx, "neutron: set dns_name", time.Now())
	return n.PortNamer.SetPortDNSName(ctx, portID, dnsName, deviceID)
}

func (c timedCloud) AddSubport(ctx context.Context, trunkID, portID string, vlan int) error {
	defer record(ctx, "neutron: add subport", time.Now())
	return c.Cloud.AddSubport(ctx, trunkID, portID, vlan)
}

func (c timedCloud) GetPort(ctx context.Context, id string) (cloud.Port, error) {
	defer record(ctx, "neutron: get port (status)", time.Now())
	return c.Cloud.GetPort(ctx, id)
}

func (c timedCloud) DeletePort(ctx context.Context, id string) error {
	defer record(ctx, "neutron: delete port", time.Now())
	return c.Cloud.DeletePort(ctx, id)
}
