package ovn

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
)

// view is the in-memory picture of the Neutron resources in NB, kept
// current by monitor events and rebuilt from the libovsdb cache after
// each (re)connect. Records in it are never mutated, only replaced, so a
// record handed out under the read lock stays consistent.
type view struct {
	mu       sync.RWMutex
	networks map[string]*Network
	subnets  map[string]*Subnet
	ports    map[string]*Port

	subnetsByNet map[string]map[string]*Subnet
	portsByNet   map[string]map[string]*Port
	// children: parent port id → tag → child port id
	children map[string]map[int]string
	// trunks: trunk id → parent port id
	trunks map[string]string
	// macs: network id → MAC → port id (Neutron: MACs are unique per network)
	macs map[string]map[string]string
	ipam map[string]*subnetIPAM
	// carrier: network id → generation g such that every row written by
	// the transactions up to g is in the view. Each transaction that bumps
	// a Logical_Switch's neutron:ipam_generation writes the new value on
	// the rows it creates (with neutron:ipam_batch = how many), and
	// libovsdb may deliver the switch's event before those rows'. Until
	// carrier catches up with the switch's generation the view lacks a
	// committed allocation, and allocating then could hand out a taken
	// address under a guard that would pass (see ready).
	carrier map[string]uint64
	// portDHCP: port id → IP version → the port's own DHCP_Options row
	portDHCP map[string]map[int]*portDHCPRow
	// dns: network id → the network's DNS row
	dns map[string]*dnsRow
	// partial: network id → generation → rows seen so far, for
	// generations above carrier.
	partial map[string]map[uint64]*partialGen

	// changed is closed (and replaced) whenever the view changes, so
	// writers can wait for their own commit to become visible.
	changed chan struct{}
}

// subnetIPAM is the allocation state of one subnet. owners is the truth
// as committed in NB (address → port id); alloc also holds this process's
// in-flight reservations.
type subnetIPAM struct {
	alloc  *ipam.Allocator
	owners map[netip.Addr]string
	shape  string // CIDR, gateway and pools the allocator was built for
}

func newView() *view {
	v := &view{changed: make(chan struct{})}
	v.reset()
	return v
}

func (v *view) reset() {
	v.networks = map[string]*Network{}
	v.subnets = map[string]*Subnet{}
	v.ports = map[string]*Port{}
	v.subnetsByNet = map[string]map[string]*Subnet{}
	v.portsByNet = map[string]map[string]*Port{}
	v.children = map[string]map[int]string{}
	v.trunks = map[string]string{}
	v.macs = map[string]map[string]string{}
	v.ipam = map[string]*subnetIPAM{}
	v.carrier = map[string]uint64{}
	v.portDHCP = map[string]map[int]*portDHCPRow{}
	v.dns = map[string]*dnsRow{}
	v.partial = map[string]map[uint64]*partialGen{}
}

type partialGen struct {
	gen        uint64
	seen, want int
}

// noteCarrier counts a port or subnet row towards its generation.
// Generations go up by one per allocating transaction, and monitor
// updates arrive in commit order (several transactions may share one
// update, their rows in any order), so carrier advances only across
// complete, consecutive generations. A generation whose rows were created
// and deleted within one update is never seen complete; the store then
// rebuilds the view from the cache (see Store.lagging).
func (v *view) noteCarrier(networkID string, ext map[string]string) {
	g, err := strconv.ParseUint(ext[keyIPAMGeneration], 10, 64)
	if err != nil || g <= v.carrier[networkID] {
		return
	}
	want, err := strconv.Atoi(ext[keyIPAMBatch])
	if err != nil || want < 1 {
		want = 1
	}
	gens := v.partial[networkID]
	if gens == nil {
		gens = map[uint64]*partialGen{}
		v.partial[networkID] = gens
	}
	pg := gens[g]
	if pg == nil {
		pg = &partialGen{gen: g, want: want}
		gens[g] = pg
	}
	pg.seen++
	for {
		next := gens[v.carrier[networkID]+1]
		if next == nil || next.seen < next.want {
			break
		}
		v.carrier[networkID] = next.gen
		delete(gens, next.gen)
	}
	if len(gens) == 0 {
		delete(v.partial, networkID)
	}
}

// settleCarriers is for a view rebuilt from the cache: libovsdb applies
// each transaction's rows to its cache at once and switches were listed
// first, so every generation up to the highest one seen is complete.
func (v *view) settleCarriers() {
	v.partial = map[string]map[uint64]*partialGen{}
	high := func(net string, ext map[string]string) {
		if g, err := strconv.ParseUint(ext[keyIPAMGeneration], 10, 64); err == nil && g > v.carrier[net] {
			v.carrier[net] = g
		}
	}
	for _, n := range v.networks {
		high(n.ID, n.ext)
	}
	for _, p := range v.ports {
		high(p.NetworkID, p.ext)
	}
	for _, sn := range v.subnets {
		high(sn.NetworkID, sn.ext)
	}
}

// ready reports whether every allocation up to the network's current
// generation is in the view. Caller holds v.mu.
func (v *view) ready(n *Network) bool {
	g, _ := strconv.ParseUint(n.ext[keyIPAMGeneration], 10, 64)
	return g <= v.carrier[n.ID]
}

// notify wakes everyone waiting for a change. Caller holds v.mu.
func (v *view) notify() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// waitFor blocks until cond (evaluated under the read lock) holds or ctx
// ends.
func (v *view) waitFor(ctx context.Context, cond func() bool) error {
	for {
		v.mu.RLock()
		ok := cond()
		ch := v.changed
		v.mu.RUnlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (v *view) putNetwork(n *Network) {
	v.networks[n.ID] = n
	v.notify()
}

func (v *view) delNetwork(id string) {
	delete(v.networks, id)
	v.notify()
}

func shapeOf(s *Subnet) string {
	return fmt.Sprint(s.CIDR, s.Gateway, s.Pools)
}

func (v *view) putSubnet(s *Subnet) {
	if old := v.subnets[s.ID]; old != nil && old.NetworkID != s.NetworkID {
		delete(v.subnetsByNet[old.NetworkID], s.ID)
	}
	v.subnets[s.ID] = s
	v.noteCarrier(s.NetworkID, s.ext)
	m := v.subnetsByNet[s.NetworkID]
	if m == nil {
		m = map[string]*Subnet{}
		v.subnetsByNet[s.NetworkID] = m
	}
	m[s.ID] = s
	if st := v.ipam[s.ID]; st == nil || st.shape != shapeOf(s) {
		v.ipam[s.ID] = v.buildIPAM(s)
	}
	v.notify()
}

// buildIPAM makes a fresh allocator for s and marks every address NB
// already has on it. O(ports of the network), only when a subnet appears
// or changes shape.
func (v *view) buildIPAM(s *Subnet) *subnetIPAM {
	st := &subnetIPAM{owners: map[netip.Addr]string{}, shape: shapeOf(s)}
	// Pools were validated when the subnet was written; a row another
	// tool wrote badly just gets no automatic allocation (alloc stays nil).
	st.alloc, _ = ipam.NewAllocator(s.CIDR, s.Pools)
	for _, p := range v.portsByNet[s.NetworkID] {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == s.ID {
				st.owners[ip.IPAddress] = p.ID
				if st.alloc != nil {
					st.alloc.MarkUsed(ip.IPAddress)
				}
			}
		}
	}
	return st
}

func (v *view) delSubnet(id string) {
	if old := v.subnets[id]; old != nil {
		delete(v.subnetsByNet[old.NetworkID], id)
		if len(v.subnetsByNet[old.NetworkID]) == 0 {
			delete(v.subnetsByNet, old.NetworkID)
		}
	}
	delete(v.subnets, id)
	delete(v.ipam, id)
	v.notify()
}

func (v *view) putPort(p *Port) {
	v.unindexPort(p.ID, p)
	v.ports[p.ID] = p
	v.noteCarrier(p.NetworkID, p.ext)
	m := v.portsByNet[p.NetworkID]
	if m == nil {
		m = map[string]*Port{}
		v.portsByNet[p.NetworkID] = m
	}
	m[p.ID] = p
	for _, ip := range p.FixedIPs {
		if st := v.ipam[ip.SubnetID]; st != nil {
			st.owners[ip.IPAddress] = p.ID
			if st.alloc != nil {
				st.alloc.MarkUsed(ip.IPAddress)
			}
		}
	}
	if p.MAC != "" {
		mm := v.macs[p.NetworkID]
		if mm == nil {
			mm = map[string]string{}
			v.macs[p.NetworkID] = mm
		}
		mm[p.MAC] = p.ID
	}
	if p.ParentName != "" {
		c := v.children[p.ParentName]
		if c == nil {
			c = map[int]string{}
			v.children[p.ParentName] = c
		}
		c[p.Tag] = p.ID
	}
	if p.Trunk != nil {
		v.trunks[p.Trunk.ID] = p.ID
	}
	v.notify()
}

// unindexPort removes what the previous version of port id contributed
// to the indexes, except what next (the new version, may be nil) keeps.
func (v *view) unindexPort(id string, next *Port) {
	old := v.ports[id]
	if old == nil {
		return
	}
	delete(v.portsByNet[old.NetworkID], id)
	if len(v.portsByNet[old.NetworkID]) == 0 {
		delete(v.portsByNet, old.NetworkID)
	}
	for _, ip := range old.FixedIPs {
		if next != nil && next.NetworkID == old.NetworkID && slices.Contains(next.FixedIPs, ip) {
			continue
		}
		if st := v.ipam[ip.SubnetID]; st != nil && st.owners[ip.IPAddress] == id {
			delete(st.owners, ip.IPAddress)
			if st.alloc != nil {
				st.alloc.Release(ip.IPAddress)
			}
		}
	}
	if mm := v.macs[old.NetworkID]; mm != nil && mm[old.MAC] == id {
		delete(mm, old.MAC)
	}
	if old.Trunk != nil && v.trunks[old.Trunk.ID] == id {
		delete(v.trunks, old.Trunk.ID)
	}
	if c := v.children[old.ParentName]; c != nil && c[old.Tag] == id {
		delete(c, old.Tag)
		if len(c) == 0 {
			delete(v.children, old.ParentName)
		}
	}
}

func (v *view) delPort(id string) {
	v.unindexPort(id, nil)
	delete(v.ports, id)
	v.notify()
}

// release gives back an in-flight reservation that did not commit,
// unless NB meanwhile says the address is taken.
func (v *view) release(subnetID string, addr netip.Addr) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.ipam[subnetID]
	if st == nil || st.alloc == nil {
		return
	}
	if _, taken := st.owners[addr]; !taken {
		st.alloc.Release(addr)
	}
}

// present returns a copy of p with what a client sees derived from the
// rest of the view: status, binding:vif_type and trunk_details. Caller
// holds the view's read lock.
//
// As ML2/OVN: a port is ACTIVE only when it is bound and OVN reports its
// LSP up. A port is bound when an admin set binding:host_id (Nova does
// that for a VM's port); an unbound port is binding:vif_type "unbound"
// and DOWN even when ovn-controller claimed it. A binding:profile child
// is therefore DOWN (nothing binds it; members may not set
// binding:host_id). A trunk's subport takes the binding of its parent:
// bound when the parent is bound or up, ACTIVE once its own LSP is up.
func (v *view) present(p *Port) *Port {
	c := *p
	bound := p.HostID != ""
	if p.SubportOf != "" {
		parent := v.ports[p.ParentName]
		bound = parent != nil && (parent.HostID != "" || parent.Up)
	}
	c.VIFType, c.Status = vifUnbound, portDown
	if bound {
		c.VIFType = vifOVS
		if p.Up {
			c.Status = portActive
		}
	}
	c.TrunkDetails = v.trunkDetails(p)
	return &c
}

// Neutron's port statuses and binding:vif_type values.
const (
	portActive = "ACTIVE"
	portDown   = "DOWN"
	vifOVS     = "ovs"
	vifUnbound = "unbound"
)
