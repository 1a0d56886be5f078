package attach

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

type fakeSwitch struct {
	mu       sync.Mutex
	bridges  []Bridge
	brIDs    map[string]string
	ports    map[string]AccessPort
	upErr    error
	renewed  int
	renewErr error
}

func newFakeSwitch() *fakeSwitch {
	return &fakeSwitch{
		bridges: []Bridge{{Name: "br-vm", DatapathType: "netdev", Ports: []string{"br-vm", "eth1"}}},
		ports:   map[string]AccessPort{},
	}
}

func (f *fakeSwitch) Bridges(context.Context) ([]Bridge, error) { return f.bridges, nil }

func (f *fakeSwitch) ClaimVLAN(_ context.Context, bridge string, ids map[string]string, avoid map[int]bool) (AccessPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	used := maps.Clone(avoid)
	if used == nil {
		used = map[int]bool{}
	}
	for _, p := range f.ports {
		used[p.VLAN] = true
	}
	for v := 1; v < 4095; v++ {
		if !used[v] {
			ap := AccessPort{Name: fmt.Sprintf("ovdv%d", v), Bridge: bridge, VLAN: v, ExternalIDs: maps.Clone(ids)}
			f.ports[ap.Name] = ap
			return ap, nil
		}
	}
	return AccessPort{}, errors.New("no free VLAN")
}

func (f *fakeSwitch) SetExternalIDs(_ context.Context, name string, ids map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ap, ok := f.ports[name]
	if !ok {
		return errors.New("no such port")
	}
	for k, v := range ids {
		if v == "" {
			delete(ap.ExternalIDs, k)
		} else {
			ap.ExternalIDs[k] = v
		}
	}
	return nil
}

func (f *fakeSwitch) Release(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.ports, name)
	return nil
}

func (f *fakeSwitch) AccessPorts(context.Context) ([]AccessPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AccessPort
	for _, p := range f.ports {
		p.ExternalIDs = maps.Clone(p.ExternalIDs)
		out = append(out, p)
	}
	return out, nil
}

func (f *fakeSwitch) WaitInterfaceUp(context.Context, string) error { return f.upErr }

func setIDs(m, ids map[string]string) {
	for k, v := range ids {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

func (f *fakeSwitch) UpdateExternalIDsIf(_ context.Context, name string, expect, ids map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ap, ok := f.ports[name]
	if !ok {
		return fmt.Errorf("no port %s: %w", name, ErrPortTaken)
	}
	for k, v := range expect {
		if ap.ExternalIDs[k] != v {
			return fmt.Errorf("port %s: %w", name, ErrPortTaken)
		}
	}
	setIDs(ap.ExternalIDs, ids)
	return nil
}

func (f *fakeSwitch) RenewInterface(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ports[name]; !ok {
		return errors.New("no such port")
	}
	f.renewed++
	return f.renewErr
}

func (f *fakeSwitch) BridgeExternalIDs(context.Context, string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.brIDs), nil
}

func (f *fakeSwitch) SetBridgeExternalIDs(_ context.Context, _ string, ids map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.brIDs == nil {
		f.brIDs = map[string]string{}
	}
	setIDs(f.brIDs, ids)
	return nil
}

type fakeLinks struct {
	mu        sync.Mutex
	links     map[string]IfaceConfig
	createErr error
	announced []string // netns/ifname
	probes    []string // netns/ifname/mac/ip
	probeErr  error
	// probeFailures: the first that many probes get no reply until
	// their context ends.
	probeFailures int
	ensured       []string // EnsureUp calls
	deleted       []string // DeleteLink calls
}

func (f *fakeLinks) ProbeDHCP(ctx context.Context, netns, ifName string, mac net.HardwareAddr, ip netip.Addr) error {
	f.mu.Lock()
	f.probes = append(f.probes, netns+"/"+ifName+"/"+mac.String()+"/"+ip.String())
	n := len(f.probes)
	err := f.probeErr
	if f.probeFailures >= n {
		err = fmt.Errorf("no DHCP reply: %w", context.DeadlineExceeded)
	}
	f.mu.Unlock()
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		<-ctx.Done() // like the real probe: until the budget ends
		return err
	}
	return err
}

func (f *fakeLinks) EnsureUp(_ context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ensured = append(f.ensured, name)
	return f.probeFailures > 0, nil
}

func (f *fakeLinks) Announce(_ context.Context, netns, ifName string, mac net.HardwareAddr, addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announced = append(f.announced, fmt.Sprint(netns+"/"+ifName+"/"+mac.String(), addrs))
	return nil
}

func (f *fakeLinks) CreateVeth(_ context.Context, host, _ string, cfg IfaceConfig) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		return f.createErr
	}
	if f.links == nil {
		f.links = map[string]IfaceConfig{}
	}
	f.links[host] = cfg
	return nil
}

func (f *fakeLinks) DeleteLink(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.links, name)
	f.deleted = append(f.deleted, name)
	return nil
}

func (f *fakeLinks) LinkMTU(context.Context, string) (int, error) { return 1500, nil }

func (f *fakeLinks) LinkMAC(_ context.Context, name string) (net.HardwareAddr, error) {
	if name == "br-vm" {
		return net.ParseMAC("fa:16:3e:00:00:01")
	}
	return net.ParseMAC("02:00:00:00:00:02")
}

type fakeCloud struct {
	calls     int // Neutron requests
	mu        sync.Mutex
	networks  []cloud.Network
	ports     map[string]cloud.Port
	status    string // status new ports get
	createErr error
	next      int
	// Trunks by id; a subport's port has ParentName/Tag set as ML2/OVN
	// does in NB (but Neutron does not show them to members: tests use
	// the trunk).
	trunks    map[string]*cloud.Trunk
	addErr    error    // AddSubport fails with it (after the VLAN check)
	requests  []string // trunk and port writes, in order
	trunkMade int      // trunks created
	// groups are the project's security groups (ResolveSecurityGroups).
	groups []cloud.SecurityGroup
	// dnsNames: port id → dns_name (create or SetPortDNSName)
	dnsNames map[string]string
	// onCreate, if set, runs after each port create, outside the lock.
	onCreate func()
}

func (f *fakeCloud) SetPortDNSName(_ context.Context, id, dnsName, deviceID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	p, ok := f.ports[id]
	if !ok {
		return fmt.Errorf("port %s: %w", id, cloud.ErrNotFound)
	}
	p.DeviceID = deviceID
	f.ports[id] = p
	f.setDNSName(id, dnsName)
	f.log("name port %s %q device %q", id, dnsName, deviceID)
	return nil
}

func (f *fakeCloud) setDNSName(id, name string) {
	if f.dnsNames == nil {
		f.dnsNames = map[string]string{}
	}
	if name == "" {
		delete(f.dnsNames, id)
		return
	}
	f.dnsNames[id] = name
}

func (f *fakeCloud) ResolveSecurityGroups(_ context.Context, given []string) ([]string, error) {
	if len(given) == 0 {
		return nil, nil
	}
	f.count()
	return cloud.MatchSecurityGroups(f.groups, given)
}

func (f *fakeCloud) log(s string, args ...any) {
	f.requests = append(f.requests, fmt.Sprintf(s, args...))
}

func (f *fakeCloud) CreatePort(_ context.Context, o cloud.PortOpts) (cloud.Port, error) {
	p, err := f.CreateChildPort(context.Background(), cloud.ChildPortOpts{NetworkID: o.NetworkID, Name: o.Name, SecurityGroups: o.SecurityGroups, DNSName: o.DNSName})
	if err != nil {
		return p, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p.Description, p.DeviceOwner, p.Status = o.Description, "", "DOWN"
	f.ports[p.ID] = p
	f.requests[len(f.requests)-1] = "create port " + p.ID
	return p, nil
}

func (f *fakeCloud) trunkOf(portID string) *cloud.Trunk {
	for _, t := range f.trunks {
		if t.PortID == portID {
			return t
		}
	}
	return nil
}

func (f *fakeCloud) FindTrunk(_ context.Context, portID string) (cloud.Trunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if t := f.trunkOf(portID); t != nil {
		return *t, nil
	}
	return cloud.Trunk{}, fmt.Errorf("trunk of %s: %w", portID, cloud.ErrNotFound)
}

func (f *fakeCloud) EnsureTrunk(ctx context.Context, portID, name string) (cloud.Trunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if t := f.trunkOf(portID); t != nil {
		return *t, nil
	}
	if f.trunks == nil {
		f.trunks = map[string]*cloud.Trunk{}
	}
	f.trunkMade++
	t := &cloud.Trunk{ID: fmt.Sprintf("trunk-%d", f.trunkMade), PortID: portID, ProjectID: "proj-1"}
	f.trunks[t.ID] = t
	f.log("create trunk %s", t.ID)
	return *t, nil
}

func (f *fakeCloud) GetTrunk(_ context.Context, id string) (cloud.Trunk, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	t, ok := f.trunks[id]
	if !ok {
		return cloud.Trunk{}, fmt.Errorf("trunk %s: %w", id, cloud.ErrNotFound)
	}
	return *t, nil
}

func (f *fakeCloud) AddSubport(_ context.Context, trunkID, portID string, vlan int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	t, ok := f.trunks[trunkID]
	if !ok {
		return fmt.Errorf("trunk %s: %w", trunkID, cloud.ErrNotFound)
	}
	p, ok := f.ports[portID]
	if !ok {
		return fmt.Errorf("port %s: %w", portID, cloud.ErrNotFound)
	}
	if t.VLANHolder(vlan) != "" {
		return fmt.Errorf("segmentation id %d in use on trunk %s: %w", vlan, trunkID, cloud.ErrConflict)
	}
	if f.addErr != nil {
		return f.addErr
	}
	t.Subports = append(t.Subports, cloud.Subport{PortID: portID, VLAN: vlan})
	p.DeviceOwner, p.ParentName, p.Tag, p.Status = "trunk:subport", t.PortID, vlan, f.status
	f.ports[portID] = p
	f.log("add subport %s vlan %d", portID, vlan)
	return nil
}

func (f *fakeCloud) RemoveSubport(_ context.Context, trunkID, portID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	t, ok := f.trunks[trunkID]
	if !ok {
		return nil
	}
	t.Subports = slices.DeleteFunc(t.Subports, func(s cloud.Subport) bool { return s.PortID == portID })
	if p, ok := f.ports[portID]; ok {
		p.DeviceOwner, p.ParentName, p.Tag = "", "", 0
		f.ports[portID] = p
	}
	f.log("remove subport %s", portID)
	return nil
}

func (f *fakeCloud) ProjectID() string { return "proj-1" }

func (f *fakeCloud) count() {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
}

func (f *fakeCloud) FindNetwork(_ context.Context, n string) (cloud.Network, error) {
	f.count()
	return f.find(n)
}

func (f *fakeCloud) find(n string) (cloud.Network, error) {
	for _, nw := range f.networks {
		if nw.ID == n || nw.Name == n {
			return nw, nil
		}
	}
	return cloud.Network{}, fmt.Errorf("network %q: %w", n, cloud.ErrNotFound)
}

func (f *fakeCloud) GetNetwork(ctx context.Context, id string) (cloud.Network, error) {
	return f.FindNetwork(ctx, id)
}

func (f *fakeCloud) CreateChildPort(_ context.Context, o cloud.ChildPortOpts) (cloud.Port, error) {
	if f.onCreate != nil {
		defer f.onCreate() // runs after the unlock below
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.createErr != nil {
		return cloud.Port{}, f.createErr
	}
	if f.ports == nil {
		f.ports = map[string]cloud.Port{}
	}
	if o.ParentID != "" {
		// As ovn-neutrond: a tag is unique under its parent.
		for _, p := range f.ports {
			if p.ParentName == o.ParentID && p.Tag == o.Tag {
				return cloud.Port{}, fmt.Errorf("VLAN tag %d is already used: %w", o.Tag, cloud.ErrConflict)
			}
		}
	}
	f.next++
	nw, _ := f.find(o.NetworkID)
	p := cloud.Port{
		ID: fmt.Sprintf("port-%d", f.next), NetworkID: o.NetworkID, Name: o.Name,
		MAC: net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 1, byte(f.next)}, Status: f.status,
		DeviceID: o.DeviceID, DeviceOwner: cloud.DeviceOwner, ParentName: o.ParentID, Tag: o.Tag,
		SecurityGroups: o.SecurityGroups,
	}
	for _, s := range nw.Subnets {
		a := s.CIDR.Addr().Next()
		for i := 0; i <= f.next; i++ {
			a = a.Next()
		}
		p.FixedIPs = append(p.FixedIPs, cloud.FixedIP{SubnetID: s.ID, IP: a})
	}
	f.ports[p.ID] = p
	f.setDNSName(p.ID, o.DNSName)
	f.log("create child port %s tag %d", p.ID, o.Tag)
	return p, nil
}

func (f *fakeCloud) GetPort(_ context.Context, id string) (cloud.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	p, ok := f.ports[id]
	if !ok {
		return cloud.Port{}, fmt.Errorf("port %s: %w", id, cloud.ErrNotFound)
	}
	return p, nil
}

func (f *fakeCloud) DeletePort(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, t := range f.trunks {
		if t.VLANHolder(f.ports[id].Tag) == id {
			return fmt.Errorf("port %s is a subport of trunk %s: %w", id, t.ID, cloud.ErrConflict)
		}
	}
	if _, ok := f.ports[id]; ok {
		f.log("delete port %s", id)
	}
	delete(f.ports, id)
	return nil
}

func (f *fakeCloud) ListPorts(_ context.Context, flt cloud.PortFilter) ([]cloud.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var out []cloud.Port
	for _, p := range f.ports {
		if (flt.DeviceID == "" || p.DeviceID == flt.DeviceID) && (flt.DeviceOwner == "" || p.DeviceOwner == flt.DeviceOwner) &&
			(flt.MAC == "" || p.MAC.String() == flt.MAC) && (flt.Description == "" || p.Description == flt.Description) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeCloud) setCreated(id string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.ports[id]
	p.CreatedAt = t
	f.ports[id] = p
}

// addrsOf: the addresses of ps, as an announcement lists them.
func addrsOf(ps []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, len(ps))
	for i, p := range ps {
		out[i] = p.Addr()
	}
	return out
}
