package ovn

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// SubnetSpec is a validated subnet to create (the HTTP layer resolves
// defaults for gateway and pools).
type SubnetSpec struct {
	Name        string
	Description string
	ProjectID   string
	NetworkID   string
	IPVersion   int
	CIDR        netip.Prefix
	Gateway     netip.Addr // invalid: no gateway
	Pools       []ipam.Pool
	EnableDHCP  bool
	DNS         []string
	HostRoutes  []HostRoute
	// ServiceTypes: the device owners whose ports get addresses here.
	ServiceTypes []string
	// SubnetPoolID: allocate the CIDR from this pool (PrefixLen long, 0:
	// the pool's default) unless CIDR is set, which must then be free in
	// the pool. Gateway and pools default as for a given CIDR.
	SubnetPoolID string
	PrefixLen    int
}

// SubnetUpdate lists the attributes that may change; nil leaves as is.
type SubnetUpdate struct {
	Name        *string
	Description *string
	EnableDHCP  *bool
	DNS         *[]string
	HostRoutes  *[]HostRoute
	// Pools, when set, replace the allocation pools (the ports keep the
	// addresses they have, in the pools or not, as in Neutron).
	Pools *[]ipam.Pool
	// Gateway, when set, is the new gateway_ip (the zero Addr removes it).
	Gateway      *netip.Addr
	ServiceTypes *[]string
}

// dhcpLeaseTime is OVN's and Neutron's default lease (12 h).
const dhcpLeaseTime = "43200"

func (v *view) visibleSubnet(sc Scope, id string) (*Subnet, error) {
	sn := v.subnets[id]
	if sn == nil {
		return nil, subnetNotFound(id)
	}
	if sc.owns(sn.ProjectID) {
		return sn, nil
	}
	if n := v.networks[sn.NetworkID]; n != nil && n.Shared {
		return sn, nil
	}
	return nil, subnetNotFound(id)
}

// ListSubnets returns the subnets the caller may see.
func (s *Store) ListSubnets(ctx context.Context, sc Scope) []*Subnet {
	s.syncSubnets(ctx)
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	out := make([]*Subnet, 0, len(s.view.subnets))
	for id := range s.view.subnets {
		if sn, err := s.view.visibleSubnet(sc, id); err == nil {
			out = append(out, sn)
		}
	}
	slices.SortFunc(out, func(a, b *Subnet) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

// GetSubnet returns one subnet the caller may see.
func (s *Store) GetSubnet(ctx context.Context, sc Scope, id string) (*Subnet, error) {
	sn, err := s.getSubnet(sc, id)
	if err != nil && s.catchUp(ctx, err) {
		sn, err = s.getSubnet(sc, id)
	}
	return sn, err
}

func (s *Store) getSubnet(sc Scope, id string) (*Subnet, error) {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	return s.view.visibleSubnet(sc, id)
}

// dhcpOptions computes the options OVN's native DHCP serves for a subnet.
// Like ML2/OVN without a metadata port, an IPv4 subnet without a gateway
// has no DHCP server address, hence no options.
func (s *Store) dhcpOptions(sn *SubnetSpec, serverMAC string, mtu int) map[string]string {
	o := map[string]string{}
	if sn.IPVersion == 4 {
		if !sn.Gateway.IsValid() {
			return o
		}
		o["server_id"] = sn.Gateway.String()
		o["router"] = sn.Gateway.String()
		o["server_mac"] = serverMAC
		o["lease_time"] = dhcpLeaseTime
		o["mtu"] = strconv.Itoa(mtu)
	} else {
		o["server_id"] = serverMAC
	}
	if len(sn.DNS) > 0 {
		o["dns_server"] = "{" + strings.Join(sn.DNS, ", ") + "}"
	}
	// Host routes, as ML2/OVN writes them: option 121 with the default
	// route last, since a client that gets option 121 ignores "router"
	// (RFC 3442).
	if sn.IPVersion == 4 && len(sn.HostRoutes) > 0 {
		var b strings.Builder
		b.WriteString("{")
		for _, r := range sn.HostRoutes {
			b.WriteString(r.Destination + "," + r.NextHop + ", ")
		}
		b.WriteString("0.0.0.0/0," + sn.Gateway.String() + "}")
		o["classless_static_route"] = b.String()
	}
	return o
}

// CreateSubnet adds a subnet to a network the caller owns.
func (s *Store) CreateSubnet(ctx context.Context, sc Scope, spec SubnetSpec) (*Subnet, error) {
	defer s.lockNetwork(spec.NetworkID)()
	id := uuid.NewString()
	serverMAC := s.macs.Next().String()
	given := spec
	err := s.retry(ctx, "create subnet", func() error {
		spec := given
		var poolOps []ovsdb.Operation
		if spec.SubnetPoolID != "" {
			cidr, ops, err := s.poolAllocation(ctx, sc, spec.SubnetPoolID, id, spec.IPVersion, spec.CIDR, spec.PrefixLen)
			if err != nil {
				return err
			}
			if !spec.CIDR.IsValid() {
				spec.CIDR = cidr
				spec.Gateway = ipam.DefaultGateway(cidr)
				spec.Pools = ipam.DefaultPools(cidr, spec.Gateway)
			}
			poolOps = ops
		}
		s.view.mu.RLock()
		n, err := s.view.subnetNetwork(sc, spec.NetworkID)
		var overlap, otherPool *Subnet
		ready := false
		if err == nil {
			ready = s.view.ready(n)
			for _, o := range s.view.subnetsByNet[n.ID] {
				if o.CIDR.Overlaps(spec.CIDR) {
					overlap = o
				}
				if o.IPVersion == spec.IPVersion && o.SubnetPoolID != spec.SubnetPoolID {
					otherPool = o
				}
			}
		}
		s.view.mu.RUnlock()
		if err != nil {
			return err
		}
		if !ready {
			s.lagging(spec.NetworkID, true)
			return errLagging // retry once the view caught up
		}
		s.lagging(spec.NetworkID, false)
		if otherPool != nil {
			// Neutron's rule: the subnets of one IP version on a network
			// come from one subnet pool, or none.
			return newErr(ErrInvalid, "NetworkSubnetPoolAffinityError",
				"Subnets hosted on the same network must be allocated from the same subnet pool.")
		}
		if overlap != nil {
			return newErr(ErrInvalid, "InvalidInput",
				"Invalid input for operation: Requested subnet with cidr: %s for network: %s overlaps with another subnet (%s, %s).",
				spec.CIDR, n.ID, overlap.ID, overlap.CIDR)
		}
		ops, lsExt, err := s.reviseForSubnet(n, true)
		if err != nil {
			return err
		}
		pools, _ := json.Marshal(spec.Pools)
		dns, _ := json.Marshal(spec.DNS)
		gw := ""
		if spec.Gateway.IsValid() {
			gw = spec.Gateway.String()
		}
		now := fmtTime(time.Now())
		row := &nbdb.DHCPOptions{
			UUID: "dhcp",
			Cidr: spec.CIDR.String(),
			ExternalIDs: map[string]string{
				keySubnetID:       id,
				keySubnetName:     spec.Name,
				keyDescription:    spec.Description,
				keyProjectID:      spec.ProjectID,
				keyNetworkID:      n.ID,
				keyGateway:        gw,
				keyPools:          string(pools),
				keyEnableDHCP:     strconv.FormatBool(spec.EnableDHCP),
				keyDNS:            string(dns),
				keyHostRoutes:     jsonString(nonNil(spec.HostRoutes)),
				keyServiceTypes:   jsonString(nonNil(spec.ServiceTypes)),
				keyPoolID:         spec.SubnetPoolID,
				keyIPVersion:      strconv.Itoa(spec.IPVersion),
				keyServerMAC:      serverMAC,
				keyIPAMGeneration: lsExt[keyIPAMGeneration],
				keyRevision:       "1",
				keyCreatedAt:      now,
				keyUpdatedAt:      now,
			},
			Options: s.dhcpOptions(&spec, serverMAC, n.MTU),
		}
		create, err := s.nb.Create(row)
		if err != nil {
			return err
		}
		ops = append(ops, poolOps...)
		if err := s.transact(ctx, append(ops, create...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool {
			m := s.view.networks[n.ID]
			return s.view.subnets[id] != nil && m != nil && m.Revision > n.Revision
		})
	})
	if err != nil {
		return nil, err
	}
	return s.getSubnet(Scope{Admin: true}, id)
}

// UpdateSubnet changes name, description, enable_dhcp or DNS servers.
func (s *Store) UpdateSubnet(ctx context.Context, sc Scope, id string, upd SubnetUpdate) (*Subnet, error) {
	sn, err := s.GetSubnet(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if !sc.owns(sn.ProjectID) {
		return nil, subnetNotFound(id)
	}
	defer s.lockNetwork(sn.NetworkID)()
	var out *Subnet
	err = s.retry(ctx, "update subnet "+id, func() error {
		s.view.mu.RLock()
		sn := s.view.subnets[id]
		var n *Network
		var ports []*Port
		if sn != nil {
			n = s.view.networks[sn.NetworkID]
			if upd.EnableDHCP != nil {
				for _, p := range s.view.portsByNet[sn.NetworkID] {
					ports = append(ports, p)
				}
			}
		}
		s.view.mu.RUnlock()
		if sn == nil || n == nil {
			return subnetNotFound(id)
		}
		if err := checkRevision(ctx, sn.Revision); err != nil {
			return err
		}
		spec := SubnetSpec{IPVersion: sn.IPVersion, Gateway: sn.Gateway, DNS: sn.DNS, HostRoutes: sn.HostRoutes, EnableDHCP: sn.EnableDHCP}
		ext := copyMap(sn.ext)
		setIf(ext, keySubnetName, upd.Name)
		setIf(ext, keyDescription, upd.Description)
		if upd.DNS != nil {
			spec.DNS = *upd.DNS
			dns, _ := json.Marshal(spec.DNS)
			ext[keyDNS] = string(dns)
		}
		if upd.HostRoutes != nil {
			spec.HostRoutes = *upd.HostRoutes
			ext[keyHostRoutes] = jsonString(nonNil(spec.HostRoutes))
		}
		if upd.EnableDHCP != nil {
			spec.EnableDHCP = *upd.EnableDHCP
			ext[keyEnableDHCP] = strconv.FormatBool(spec.EnableDHCP)
		}
		if upd.ServiceTypes != nil {
			ext[keyServiceTypes] = jsonString(nonNil(*upd.ServiceTypes))
		}
		if upd.Gateway != nil {
			if err := checkGateway(sn, *upd.Gateway); err != nil {
				return err
			}
			spec.Gateway = *upd.Gateway
			ext[keyGateway] = ""
			if spec.Gateway.IsValid() {
				ext[keyGateway] = spec.Gateway.String()
			}
		}
		if upd.Pools != nil {
			if err := ipam.ValidatePools(sn.CIDR, spec.Gateway, *upd.Pools); err != nil {
				return PoolError(err)
			}
			pools, _ := json.Marshal(*upd.Pools)
			ext[keyPools] = string(pools)
		}
		rev := sn.Revision + 1
		ext[keyRevision] = strconv.FormatInt(rev, 10)
		ext[keyUpdatedAt] = fmtTime(time.Now())
		ops, err := s.guard(nbdb.DHCPOptionsTable, sn.uuid, sn.ext)
		if err != nil {
			return err
		}
		revise, _, err := s.reviseForSubnet(n, false)
		if err != nil {
			return err
		}
		ops = append(ops, revise...)
		row := &nbdb.DHCPOptions{UUID: sn.uuid, ExternalIDs: ext, Options: s.dhcpOptions(&spec, ext[keyServerMAC], n.MTU)}
		u, err := s.nb.Where(row).Update(row, &row.ExternalIDs, &row.Options)
		if err != nil {
			return err
		}
		ops = append(ops, u...)
		// Ports with their own DHCP options start from the subnet's.
		s.view.mu.RLock()
		more, err := s.subnetPortDHCPOps(id, row.Options)
		own := map[string]string{}
		for pid, rows := range s.view.portDHCP {
			if r := rows[sn.IPVersion]; r != nil && r.subnetID == id {
				own[pid] = r.uuid
			}
		}
		s.view.mu.RUnlock()
		if err != nil {
			return err
		}
		ops = append(ops, more...)
		// Turning DHCP on or off re-points the ports' DHCP options.
		if upd.EnableDHCP != nil && *upd.EnableDHCP != sn.EnableDHCP {
			for _, p := range ports {
				if !slices.ContainsFunc(p.FixedIPs, func(f FixedIP) bool { return f.SubnetID == id }) {
					continue
				}
				var ref []string
				if spec.EnableDHCP {
					ref = []string{sn.uuid}
					if u, ok := own[p.ID]; ok {
						ref = []string{u}
					}
				}
				more, err := s.setPortDHCP(p, sn.IPVersion, ref)
				if err != nil {
					return err
				}
				ops = append(ops, more...)
			}
		}
		if err := s.transact(ctx, ops); err != nil {
			return err
		}
		return s.settle(ctx, func() bool {
			if x := s.view.subnets[id]; x != nil && x.Revision >= rev {
				out = x
				return true
			}
			return false
		})
	})
	return out, err
}

// setPortDHCP points a port's DHCPv4/v6 options at ref (empty: none).
func (s *Store) setPortDHCP(p *Port, ipVersion int, ref []string) ([]ovsdb.Operation, error) {
	lsp := &nbdb.LogicalSwitchPort{UUID: p.uuid}
	var val *string
	if len(ref) > 0 {
		val = &ref[0]
	}
	field := any(&lsp.Dhcpv4Options)
	if ipVersion == 6 {
		lsp.Dhcpv6Options = val
		field = &lsp.Dhcpv6Options
	} else {
		lsp.Dhcpv4Options = val
	}
	return s.nb.Where(lsp).Update(lsp, field)
}

// DeleteSubnet removes a subnet no port has an address on.
func (s *Store) DeleteSubnet(ctx context.Context, sc Scope, id string) error {
	sn, err := s.GetSubnet(ctx, sc, id)
	if err != nil {
		return err
	}
	if !sc.owns(sn.ProjectID) {
		return subnetNotFound(id)
	}
	defer s.lockNetwork(sn.NetworkID)()
	return s.retry(ctx, "delete subnet "+id, func() error {
		s.view.mu.RLock()
		sn := s.view.subnets[id]
		var n *Network
		used := 0
		if sn != nil {
			n = s.view.networks[sn.NetworkID]
			if st := s.view.ipam[id]; st != nil {
				used = len(st.owners)
			}
		}
		s.view.mu.RUnlock()
		if sn == nil {
			return subnetNotFound(id)
		}
		if err := checkRevision(ctx, sn.Revision); err != nil {
			return err
		}
		if used > 0 {
			return newErr(ErrConflict, "SubnetInUse",
				"Unable to complete operation on subnet %s: One or more ports have an IP allocation from this subnet (%d).", id, used)
		}
		// Guarded: a port allocated meanwhile by another process bumps
		// the switch and aborts this delete; a port create racing with
		// it requires this DHCP_Options row to exist. The network's
		// revision moves, as in Neutron.
		var ops []ovsdb.Operation
		if n != nil {
			ops, _, err = s.reviseForSubnet(n, false)
			if err != nil {
				return err
			}
		}
		release, err := s.poolRelease(ctx, sn)
		if err != nil {
			return err
		}
		ops = append(ops, release...)
		del, err := s.nb.Where(&nbdb.DHCPOptions{UUID: sn.uuid}).Delete()
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, del...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool { return s.view.subnets[id] == nil })
	})
}

// subnetMTUOps updates the DHCP mtu option of a network's IPv4 subnets.
func (s *Store) subnetMTUOps(networkID string, mtu int) ([]ovsdb.Operation, error) {
	s.view.mu.RLock()
	var subnets []*Subnet
	for _, sn := range s.view.subnetsByNet[networkID] {
		subnets = append(subnets, sn)
	}
	s.view.mu.RUnlock()
	var ops []ovsdb.Operation
	for _, sn := range subnets {
		if sn.IPVersion != 4 {
			continue
		}
		row := &nbdb.DHCPOptions{UUID: sn.uuid}
		op, err := s.nb.Where(row).Mutate(row,
			mutation(&row.Options, ovsdb.MutateOperationDelete, []string{"mtu"}),
			mutation(&row.Options, ovsdb.MutateOperationInsert, map[string]string{"mtu": strconv.Itoa(mtu)}))
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	return ops, nil
}

// checkGateway validates a new gateway_ip of sn (the zero Addr: none) as
// Neutron does on update: inside the subnet, not its network or
// broadcast address (400), not inside an allocation pool (409).
func checkGateway(sn *Subnet, gw netip.Addr) error {
	if !gw.IsValid() {
		return nil
	}
	if err := ipam.ValidateGateway(sn.CIDR, gw); err != nil {
		return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: Gateway is not valid on subnet: %v", err)
	}
	for _, p := range sn.Pools {
		if p.Start.Compare(gw) <= 0 && gw.Compare(p.End) <= 0 {
			return newErr(ErrConflict, "GatewayConflictWithAllocationPools",
				"Gateway ip %s conflicts with allocation pool %s-%s.", gw, p.Start, p.End)
		}
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
