package ovn

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// A floating IP is stored as ML2/OVN stores it: a Neutron port on the
// external network (device_owner network:floatingip, device_id the
// floating IP's id) holds its address, and while it is associated a
// dnat_and_snat NAT row on the router that connects the port's subnet
// to that network maps it to the fixed address (external_ids
// neutron:fip_id, neutron:fip_port_id, neutron:router_name).

// FloatingIP is a Neutron floating IP.
type FloatingIP struct {
	ID          string
	ProjectID   string
	Description string
	NetworkID   string
	Address     netip.Addr
	// Association; zero when the floating IP is not associated.
	PortID   string
	FixedIP  netip.Addr
	RouterID string
	// holder is the port holding the address.
	holder *Port
	nat    *nbdb.NAT
}

// FloatingIPSpec is a create or an update. PortID: nil leaves the
// association, a pointer to "" removes it.
type FloatingIPSpec struct {
	NetworkID   string // create only
	ProjectID   string // create only
	Address     netip.Addr
	Description *string
	PortID      *string
	FixedIP     netip.Addr
}

func fipNotFound(id string) *Error {
	return newErr(ErrNotFound, "FloatingIPNotFound", "Floating IP %s could not be found", id)
}

func badFIP(format string, args ...any) *Error {
	return newErr(ErrInvalid, "BadRequest", "Bad floatingip request: "+format, args...)
}

// floatingIPs reads the floating IPs from the view and the cache.
func (s *Store) floatingIPs(ctx context.Context) (map[string]*FloatingIP, error) {
	var nats []nbdb.NAT
	if err := s.nb.List(ctx, &nats); err != nil {
		return nil, err
	}
	byFIP := map[string]*nbdb.NAT{}
	for i := range nats {
		if id := nats[i].ExternalIDs[keyFIPID]; id != "" {
			byFIP[id] = &nats[i]
		}
	}
	out := map[string]*FloatingIP{}
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	for _, p := range s.view.ports {
		if p.DeviceOwner != OwnerFloatingIP || p.DeviceID == "" || len(p.FixedIPs) == 0 {
			continue
		}
		f := &FloatingIP{ID: p.DeviceID, ProjectID: p.ProjectID, Description: p.Description, NetworkID: p.NetworkID,
			Address: p.FixedIPs[0].IPAddress, holder: p}
		if n := byFIP[f.ID]; n != nil {
			f.nat = n
			f.PortID = n.ExternalIDs[keyFIPPortID]
			f.FixedIP, _ = netip.ParseAddr(n.LogicalIP)
			f.RouterID = trimLS(n.ExternalIDs[keyRouterName])
		}
		out[f.ID] = f
	}
	return out, nil
}

func trimLS(name string) string {
	if len(name) > len(lsPrefix) {
		return name[len(lsPrefix):]
	}
	return ""
}

// ListFloatingIPs returns the floating IPs the caller may see.
func (s *Store) ListFloatingIPs(ctx context.Context, sc Scope) ([]*FloatingIP, error) {
	all, err := s.floatingIPs(ctx)
	if err != nil {
		return nil, err
	}
	var out []*FloatingIP
	for _, f := range all {
		if sc.owns(f.ProjectID) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b *FloatingIP) int { return cmpCreated(a.holder.CreatedAt, b.holder.CreatedAt, a.ID, b.ID) })
	return out, nil
}

// GetFloatingIP returns one floating IP the caller may see.
func (s *Store) GetFloatingIP(ctx context.Context, sc Scope, id string) (*FloatingIP, error) {
	all, err := s.floatingIPs(ctx)
	if err != nil {
		return nil, err
	}
	if f := all[id]; f != nil && sc.owns(f.ProjectID) {
		return f, nil
	}
	return nil, fipNotFound(id)
}

// CreateFloatingIP takes an address on an external network and, when a
// port is given, associates it.
func (s *Store) CreateFloatingIP(ctx context.Context, sc Scope, spec FloatingIPSpec) (*FloatingIP, error) {
	s.view.mu.RLock()
	n, err := s.view.visibleNetwork(sc, spec.NetworkID)
	s.view.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if !n.External {
		return nil, badFIP("Network %s is not a valid external network", spec.NetworkID)
	}
	id := uuid.NewString()
	owner := OwnerFloatingIP
	ps := PortSpec{NetworkID: n.ID, ProjectID: spec.ProjectID, DeviceOwner: &owner, DeviceID: &id,
		Description: spec.Description, PortSecurity: ptrTo(false)}
	if spec.Address.IsValid() {
		ps.FixedIPs = &[]IPRequest{{IPAddress: spec.Address}}
	}
	// Check the association before taking an address.
	if spec.PortID != nil && *spec.PortID != "" {
		if _, _, _, err := s.fipTarget(ctx, sc, n.ID, *spec.PortID, spec.FixedIP, ""); err != nil {
			return nil, err
		}
	}
	holder, err := s.CreatePort(ctx, Scope{Admin: true}, ps)
	if err != nil {
		return nil, err
	}
	if spec.PortID != nil && *spec.PortID != "" {
		if err := s.associate(ctx, sc, id, holder, *spec.PortID, spec.FixedIP); err != nil {
			_ = s.DeletePort(context.WithoutCancel(ctx), Scope{Admin: true}, holder.ID)
			return nil, err
		}
	}
	return s.GetFloatingIP(ctx, Scope{Admin: true}, id)
}

// fipTarget checks an association: the port is the caller's, has the
// fixed IPv4 address, and a router connects its subnet to the floating
// IP's network.
func (s *Store) fipTarget(ctx context.Context, sc Scope, networkID, portID string, fixed netip.Addr, fipID string) (*Port, netip.Addr, *Router, error) {
	s.view.mu.RLock()
	p, err := s.view.visiblePort(sc, portID)
	s.view.mu.RUnlock()
	if err != nil {
		return nil, netip.Addr{}, nil, err
	}
	var subnetID string
	for _, ip := range p.FixedIPs {
		if ip.IPAddress.Is4() && (!fixed.IsValid() || ip.IPAddress == fixed) {
			fixed, subnetID = ip.IPAddress, ip.SubnetID
			break
		}
	}
	if subnetID == "" {
		if fixed.IsValid() {
			return nil, netip.Addr{}, nil, badFIP("Port %s does not have fixed ip %s", portID, fixed)
		}
		return nil, netip.Addr{}, nil, badFIP("Cannot add floating IP to port %s that has no fixed IPv4 addresses", portID)
	}
	all, err := s.floatingIPs(ctx)
	if err != nil {
		return nil, netip.Addr{}, nil, err
	}
	for _, f := range all {
		if f.ID != fipID && f.PortID == portID && f.FixedIP == fixed {
			return nil, netip.Addr{}, nil, newErr(ErrConflict, "FloatingIPPortAlreadyAssociated",
				"Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				f.Address, f.ID, portID, fixed, f.NetworkID)
		}
	}
	routers, err := s.routers(ctx)
	if err != nil {
		return nil, netip.Addr{}, nil, err
	}
	ids := make([]string, 0, len(routers))
	for id := range routers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		r := routers[id]
		if r.GatewayNetworkID != networkID {
			continue
		}
		ifaces, _ := s.RouterPorts(r.ID)
		for _, ip := range ifaces {
			if slices.ContainsFunc(ip.FixedIPs, func(x FixedIP) bool { return x.SubnetID == subnetID }) {
				return p, fixed, r, nil
			}
		}
	}
	return nil, netip.Addr{}, nil, newErr(ErrNotFound, "ExternalGatewayForFloatingIPNotFound",
		"External network %s is not reachable from subnet %s.  Therefore, cannot associate Port %s with a Floating IP.", networkID, subnetID, portID)
}

// associate writes the floating IP's NAT row on the router found by
// fipTarget.
func (s *Store) associate(ctx context.Context, sc Scope, fipID string, holder *Port, portID string, fixed netip.Addr) error {
	p, addr, r, err := s.fipTarget(ctx, sc, holder.NetworkID, portID, fixed, fipID)
	if err != nil {
		return err
	}
	nat := &nbdb.NAT{UUID: "fipnat", Type: nbdb.NATTypeDNATAndSNAT, LogicalIP: addr.String(), ExternalIP: holder.FixedIPs[0].IPAddress.String(),
		LogicalPort: &p.ID, Options: map[string]string{},
		ExternalIDs: map[string]string{keyFIPID: fipID, keyFIPPortID: p.ID, keyRouterName: lsPrefix + r.ID,
			keyFIPExtMAC: holder.MAC, keyFIPNetworkID: holder.NetworkID, keyRevision: "1"}}
	ops, err := s.nb.Create(nat)
	if err != nil {
		return err
	}
	lr := &nbdb.LogicalRouter{UUID: r.uuid}
	mut, err := s.nb.Where(lr).Mutate(lr, mutation(&lr.Nat, ovsdb.MutateOperationInsert, []string{nat.UUID}))
	if err != nil {
		return err
	}
	if err := s.transact(ctx, append(ops, mut...)); err != nil {
		return err
	}
	return s.settleCache(ctx, func() bool {
		f, err := s.GetFloatingIP(ctx, Scope{Admin: true}, fipID)
		return err == nil && f.PortID == p.ID
	})
}

// disassociate removes the floating IP's NAT row.
func (s *Store) disassociate(ctx context.Context, f *FloatingIP) error {
	if f.nat == nil {
		return nil
	}
	var ops []ovsdb.Operation
	var lrs []nbdb.LogicalRouter
	if err := s.nb.List(ctx, &lrs); err != nil {
		return err
	}
	for _, lr := range lrs {
		if slices.Contains(lr.Nat, f.nat.UUID) {
			m := &nbdb.LogicalRouter{UUID: lr.UUID}
			mut, err := s.nb.Where(m).Mutate(m, mutation(&m.Nat, ovsdb.MutateOperationDelete, []string{f.nat.UUID}))
			if err != nil {
				return err
			}
			ops = append(ops, mut...)
		}
	}
	if err := s.transact(ctx, ops); err != nil {
		return err
	}
	return s.settleCache(ctx, func() bool {
		g, err := s.GetFloatingIP(ctx, Scope{Admin: true}, f.ID)
		return err != nil || g.PortID == ""
	})
}

// releaseFIPsOps removes the NAT rows of floating IPs associated with
// a port that is being deleted (Neutron disassociates them).
func (s *Store) releaseFIPsOps(ctx context.Context, portID string) ([]ovsdb.Operation, error) {
	var nats []nbdb.NAT
	if err := s.nb.List(ctx, &nats); err != nil {
		return nil, err
	}
	var lrs []nbdb.LogicalRouter
	var ops []ovsdb.Operation
	for _, n := range nats {
		if n.ExternalIDs[keyFIPPortID] != portID || n.ExternalIDs[keyFIPID] == "" {
			continue
		}
		if lrs == nil {
			if err := s.nb.List(ctx, &lrs); err != nil {
				return nil, err
			}
		}
		for _, lr := range lrs {
			if slices.Contains(lr.Nat, n.UUID) {
				m := &nbdb.LogicalRouter{UUID: lr.UUID}
				mut, err := s.nb.Where(m).Mutate(m, mutation(&m.Nat, ovsdb.MutateOperationDelete, []string{n.UUID}))
				if err != nil {
					return nil, err
				}
				ops = append(ops, mut...)
			}
		}
	}
	return ops, nil
}

// UpdateFloatingIP changes the association (port_id) or description.
func (s *Store) UpdateFloatingIP(ctx context.Context, sc Scope, id string, spec FloatingIPSpec) (*FloatingIP, error) {
	f, err := s.GetFloatingIP(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if spec.PortID != nil && *spec.PortID != "" {
		// Check the new association before dropping the old one.
		if _, _, _, err := s.fipTarget(ctx, sc, f.NetworkID, *spec.PortID, spec.FixedIP, id); err != nil {
			return nil, err
		}
	}
	if spec.Description != nil {
		if _, err := s.UpdatePort(ctx, Scope{Admin: true}, f.holder.ID, PortSpec{Description: spec.Description}); err != nil {
			return nil, err
		}
	}
	if spec.PortID != nil {
		if err := s.disassociate(ctx, f); err != nil {
			return nil, err
		}
		if *spec.PortID != "" {
			if err := s.associate(ctx, sc, id, f.holder, *spec.PortID, spec.FixedIP); err != nil {
				return nil, err
			}
		}
	}
	return s.GetFloatingIP(ctx, Scope{Admin: true}, id)
}

// DeleteFloatingIP disassociates and releases a floating IP.
func (s *Store) DeleteFloatingIP(ctx context.Context, sc Scope, id string) error {
	f, err := s.GetFloatingIP(ctx, sc, id)
	if err != nil {
		return err
	}
	if err := s.disassociate(ctx, f); err != nil {
		return err
	}
	return s.DeletePort(ctx, Scope{Admin: true}, f.holder.ID)
}

// Created is when the floating IP was made.
func (f *FloatingIP) Created() time.Time { return f.holder.CreatedAt }

// Updated is when the floating IP last changed.
func (f *FloatingIP) Updated() time.Time { return f.holder.UpdatedAt }
