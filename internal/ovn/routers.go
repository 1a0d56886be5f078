package ovn

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Routers are stored as ML2/OVN stores them: a Logical_Router
// neutron-<id>; each interface is a Neutron port (device_owner
// network:router_interface) whose Logical_Switch_Port is of type router
// and names the Logical_Router_Port lrp-<port id>; the gateway is such a
// port on an external network (network:router_gateway) whose LRP has
// Gateway_Chassis rows, a default route (neutron:is_ext_gw) and a snat
// NAT row per IPv4 interface subnet. The router's own attributes are the
// Logical_Router's external_ids. Everything derived (LRPs, routes, NAT)
// is rewritten by one guarded transaction per change (syncRouter).

const (
	OwnerRouterInterface = "network:router_interface"
	OwnerRouterGateway   = "network:router_gateway"
	OwnerFloatingIP      = "network:floatingip"
	OwnerDistributed     = "network:distributed"
	lrpPrefix            = "lrp-"

	keyRouterName   = "neutron:router_name"
	keyGWPortID     = "neutron:gw_port_id"
	keyGWNetworkID  = "neutron:gw_network_id"
	keyEnableSNAT   = "neutron:enable_snat"
	keyRoutes       = "neutron:routes"
	keyIsExtGW      = "neutron:is_ext_gw"
	keySubnetIDs    = "neutron:subnet_ids"
	keyAZHints      = "neutron:availability_zone_hints"
	keyFIPID        = "neutron:fip_id"
	keyFIPPortID    = "neutron:fip_port_id"
	keyFIPExtMAC    = "neutron:fip_external_mac"
	keyFIPNetworkID = "neutron:fip_network_id"
)

// Route is one of a router's static routes.
type Route struct {
	Destination netip.Prefix `json:"destination"`
	NextHop     netip.Addr   `json:"nexthop"`
}

// Router is a Neutron router.
type Router struct {
	ID           string
	Name         string
	Description  string
	ProjectID    string
	AdminStateUp bool
	// GatewayNetworkID is "" when the router has no external gateway.
	GatewayNetworkID string
	GatewayPortID    string
	EnableSNAT       bool
	Routes           []Route
	Revision         int64
	CreatedAt        time.Time
	UpdatedAt        time.Time

	uuid string
	ext  map[string]string
	// lr is the row as read (its ports, routes and NAT rows).
	lr nbdb.LogicalRouter
}

// RouterGateway is external_gateway_info as set by a client.
type RouterGateway struct {
	NetworkID  string
	EnableSNAT *bool
}

// RouterSpec is what a client may set on a router; nil pointers leave
// an attribute as is. Gateway: nil leaves it, a pointer to nil clears it.
type RouterSpec struct {
	Name         *string
	Description  *string
	ProjectID    string // create only
	AdminStateUp *bool
	Gateway      **RouterGateway
	Routes       *[]Route
}

// RouterInterface is the answer to add/remove_router_interface.
type RouterInterface struct {
	RouterID, ProjectID, PortID, NetworkID string
	SubnetIDs                              []string
}

func routerNotFound(id string) *Error {
	return newErr(ErrNotFound, "RouterNotFound", "Router %s could not be found", id)
}

func badRouter(format string, args ...any) *Error {
	return newErr(ErrInvalid, "BadRequest", "Bad router request: "+format, args...)
}

// routers reads the routers from the client cache.
func (s *Store) routers(ctx context.Context) (map[string]*Router, error) {
	var lrs []nbdb.LogicalRouter
	if err := s.nb.List(ctx, &lrs); err != nil {
		return nil, fmt.Errorf("list Logical_Router: %w", err)
	}
	out := map[string]*Router{}
	for _, lr := range lrs {
		id, ok := strings.CutPrefix(lr.Name, lsPrefix)
		e := lr.ExternalIDs
		if !ok || e[keyProjectID] == "" {
			continue
		}
		r := &Router{ID: id, Name: e[keyRouterName], Description: e[keyDescription], ProjectID: e[keyProjectID],
			AdminStateUp: lr.Enabled == nil || *lr.Enabled, GatewayNetworkID: e[keyGWNetworkID], GatewayPortID: e[keyGWPortID],
			EnableSNAT: e[keyEnableSNAT] != "false", Routes: jsonList[Route](e[keyRoutes]), Revision: atoi64(e[keyRevision]),
			CreatedAt: parseTime(e[keyCreatedAt]), UpdatedAt: parseTime(e[keyUpdatedAt]), uuid: lr.UUID, ext: e, lr: lr}
		out[id] = r
	}
	return out, nil
}

// ListRouters returns the routers the caller may see.
func (s *Store) ListRouters(ctx context.Context, sc Scope) ([]*Router, error) {
	all, err := s.routers(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Router
	for _, r := range all {
		if sc.owns(r.ProjectID) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Router) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out, nil
}

// GetRouter returns one router the caller may see.
func (s *Store) GetRouter(ctx context.Context, sc Scope, id string) (*Router, error) {
	all, err := s.routers(ctx)
	if err != nil {
		return nil, err
	}
	if r := all[id]; r != nil && sc.owns(r.ProjectID) {
		return r, nil
	}
	return nil, routerNotFound(id)
}

// RouterPorts returns a router's interface ports and its gateway port
// (nil when none).
func (s *Store) RouterPorts(routerID string) (ifaces []*Port, gw *Port) {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	for _, p := range s.view.ports {
		if p.DeviceID != routerID {
			continue
		}
		switch p.DeviceOwner {
		case OwnerRouterInterface:
			ifaces = append(ifaces, p)
		case OwnerRouterGateway:
			gw = p
		}
	}
	slices.SortFunc(ifaces, func(a, b *Port) int { return strings.Compare(a.ID, b.ID) })
	return ifaces, gw
}

// CreateRouter writes a Logical_Router, with its gateway when asked.
func (s *Store) CreateRouter(ctx context.Context, sc Scope, spec RouterSpec) (*Router, error) {
	id := uuid.NewString()
	now := fmtTime(time.Now())
	enabled := deref(spec.AdminStateUp, true)
	lr := &nbdb.LogicalRouter{UUID: "lr", Name: lsPrefix + id, Enabled: &enabled,
		Options: map[string]string{"always_learn_from_arp_request": "false", "dynamic_neigh_routers": "true"},
		ExternalIDs: map[string]string{keyRouterName: deref(spec.Name, ""), keyDescription: deref(spec.Description, ""),
			keyProjectID: spec.ProjectID, keyGWPortID: "", keyGWNetworkID: "", keyAZHints: "", keyEnableSNAT: "true",
			keyRevision: "1", keyCreatedAt: now, keyUpdatedAt: now}}
	if spec.Routes != nil && len(*spec.Routes) > 0 {
		return nil, badRouter("Invalid format for routes: the nexthop of each route must be on a subnet of the router, and a new router has none.")
	}
	ops, err := s.nb.Create(lr)
	if err != nil {
		return nil, err
	}
	if err := s.transact(ctx, ops); err != nil {
		return nil, err
	}
	if err := s.settleCache(ctx, func() bool { _, err := s.GetRouter(ctx, Scope{Admin: true}, id); return err == nil }); err != nil {
		return nil, err
	}
	if spec.Gateway != nil && *spec.Gateway != nil {
		if _, err := s.UpdateRouter(ctx, sc, id, RouterSpec{Gateway: spec.Gateway}); err != nil {
			// Undo the router this call made.
			_ = s.deleteRouterRow(context.WithoutCancel(ctx), id)
			return nil, err
		}
	}
	return s.GetRouter(ctx, Scope{Admin: true}, id)
}

// UpdateRouter changes a router the caller owns.
func (s *Store) UpdateRouter(ctx context.Context, sc Scope, id string, spec RouterSpec) (*Router, error) {
	r, err := s.GetRouter(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if err := checkRevision(ctx, r.Revision); err != nil {
		return nil, err
	}
	ext := map[string]string{}
	setIf(ext, keyRouterName, spec.Name)
	setIf(ext, keyDescription, spec.Description)
	if spec.Routes != nil {
		if err := s.checkRoutes(id, *spec.Routes); err != nil {
			return nil, err
		}
		ext[keyRoutes] = jsonString(*spec.Routes)
	}
	var newGW *Port
	if spec.Gateway != nil {
		gw := *spec.Gateway
		_, oldGW := s.RouterPorts(id)
		switch {
		case gw == nil:
			ext[keyGWNetworkID], ext[keyGWPortID] = "", ""
		case gw.NetworkID == r.GatewayNetworkID && oldGW != nil:
			// Same network: only enable_snat may change.
		default:
			newGW, err = s.gatewayPort(ctx, r, gw.NetworkID)
			if err != nil {
				return nil, err
			}
			ext[keyGWNetworkID], ext[keyGWPortID] = gw.NetworkID, newGW.ID
		}
		if gw != nil {
			ext[keyEnableSNAT] = strconv.FormatBool(deref(gw.EnableSNAT, true))
		}
	}
	if err := s.syncRouter(ctx, id, ext, spec.AdminStateUp); err != nil {
		if newGW != nil {
			_ = s.DeletePort(context.WithoutCancel(ctx), Scope{Admin: true}, newGW.ID)
		}
		return nil, err
	}
	// The old gateway port goes once the router no longer uses it.
	if spec.Gateway != nil && r.GatewayPortID != "" && r.GatewayPortID != ext[keyGWPortID] {
		if _, ok := ext[keyGWPortID]; ok {
			if err := s.DeletePort(ctx, Scope{Admin: true}, r.GatewayPortID); err != nil && !isNotFound(err) {
				return nil, err
			}
		}
	}
	return s.GetRouter(ctx, Scope{Admin: true}, id)
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), "could not be found")
}

// gatewayPort creates a router's gateway port on an external network.
func (s *Store) gatewayPort(ctx context.Context, r *Router, networkID string) (*Port, error) {
	s.view.mu.RLock()
	n := s.view.networks[networkID]
	hasV4 := false
	for _, sn := range s.view.subnetsByNet[networkID] {
		hasV4 = hasV4 || sn.IPVersion == 4
	}
	s.view.mu.RUnlock()
	if n == nil || !n.External {
		return nil, badRouter("Network %s is not an external network.", networkID)
	}
	if !hasV4 {
		return nil, badRouter("Network %s has no IPv4 subnet for the router gateway", networkID)
	}
	owner, dev := OwnerRouterGateway, r.ID
	return s.CreatePort(ctx, Scope{Admin: true}, PortSpec{NetworkID: networkID, ProjectID: r.ProjectID,
		DeviceOwner: &owner, DeviceID: &dev, PortSecurity: ptrTo(false)})
}

// checkRoutes checks that every nexthop is on a subnet of the router
// (Neutron's InvalidRoutes).
func (s *Store) checkRoutes(routerID string, routes []Route) error {
	ifaces, gw := s.RouterPorts(routerID)
	if gw != nil {
		ifaces = append(ifaces, gw)
	}
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	for _, rt := range routes {
		ok := false
		for _, p := range ifaces {
			for _, ip := range p.FixedIPs {
				if sn := s.view.subnets[ip.SubnetID]; sn != nil && sn.CIDR.Contains(rt.NextHop) && ip.IPAddress != rt.NextHop {
					ok = true
				}
			}
		}
		if !ok {
			return newErr(ErrInvalid, "InvalidRoutes", "Invalid format for routes: %s, the nexthop is not connected with router", jsonString(rt))
		}
	}
	return nil
}

// syncRouter rewrites what a router's Logical_Router holds (ports,
// static routes, snat rows; floating IP rows are kept) from its ports
// in the view, merging ext into its external_ids, in one transaction
// guarded by the row's external_ids.
func (s *Store) syncRouter(ctx context.Context, id string, ext map[string]string, enabled *bool) error {
	return s.retry(ctx, "sync router "+id, func() error {
		r, err := s.GetRouter(ctx, Scope{Admin: true}, id)
		if err != nil {
			return err
		}
		newExt := copyMap(r.ext)
		for k, v := range ext {
			newExt[k] = v
		}
		rev := r.Revision + 1
		newExt[keyRevision] = strconv.FormatInt(rev, 10)
		newExt[keyUpdatedAt] = fmtTime(time.Now())
		ifaces, gw := s.RouterPorts(id)
		if newExt[keyGWPortID] == "" {
			gw = nil
		} else if gw == nil || gw.ID != newExt[keyGWPortID] {
			gw = s.portByID(newExt[keyGWPortID])
		}
		var lrps []nbdb.LogicalRouterPort
		if err := s.nb.List(ctx, &lrps); err != nil {
			return err
		}
		have := map[string]string{} // LRP name → uuid
		for _, lrp := range lrps {
			if slices.Contains(r.lr.Ports, lrp.UUID) {
				have[lrp.Name] = lrp.UUID
			}
		}
		var ops []ovsdb.Operation
		guard := &nbdb.LogicalRouter{UUID: r.uuid, ExternalIDs: r.ext}
		w, err := s.nb.Where(guard).Wait(ovsdb.WaitConditionEqual, &timeout0, guard, &guard.ExternalIDs)
		if err != nil {
			return err
		}
		ops = append(ops, w...)
		var portRefs, routeRefs, natRefs []string
		var snatNets []string
		s.view.mu.RLock()
		addLRP := func(p *Port, isGW bool) error {
			name := lrpPrefix + p.ID
			if u, ok := have[name]; ok {
				portRefs = append(portRefs, u)
				return nil
			}
			var nets, subnetIDs []string
			for _, ip := range p.FixedIPs {
				if sn := s.view.subnets[ip.SubnetID]; sn != nil {
					nets = append(nets, netip.PrefixFrom(ip.IPAddress, sn.CIDR.Bits()).String())
					subnetIDs = append(subnetIDs, sn.ID)
				}
			}
			lrp := &nbdb.LogicalRouterPort{UUID: fmt.Sprintf("lrp%d", len(portRefs)), Name: name, MAC: p.MAC, Networks: nets,
				ExternalIDs: map[string]string{keyRevision: "1", keySubnetIDs: strings.Join(subnetIDs, " "),
					keyNetworkName: lsPrefix + p.NetworkID, keyRouterName: id}, Options: map[string]string{}}
			if isGW {
				for i, ch := range s.cfg.GatewayChassis {
					gc := &nbdb.GatewayChassis{UUID: fmt.Sprintf("gc%d", i), Name: name + "_" + ch, ChassisName: ch,
						Priority: len(s.cfg.GatewayChassis) - i, ExternalIDs: map[string]string{}, Options: map[string]string{}}
					more, err := s.nb.Create(gc)
					if err != nil {
						return err
					}
					ops = append(ops, more...)
					lrp.GatewayChassis = append(lrp.GatewayChassis, gc.UUID)
				}
			}
			more, err := s.nb.Create(lrp)
			if err != nil {
				return err
			}
			ops = append(ops, more...)
			portRefs = append(portRefs, lrp.UUID)
			return nil
		}
		for _, p := range ifaces {
			if err := addLRP(p, false); err != nil {
				s.view.mu.RUnlock()
				return err
			}
			for _, ip := range p.FixedIPs {
				if sn := s.view.subnets[ip.SubnetID]; sn != nil && sn.IPVersion == 4 {
					snatNets = append(snatNets, sn.CIDR.String())
				}
			}
		}
		var gwIP netip.Addr
		var gwNext netip.Addr
		var gwSubnet string
		if gw != nil {
			if err := addLRP(gw, true); err != nil {
				s.view.mu.RUnlock()
				return err
			}
			for _, ip := range gw.FixedIPs {
				if sn := s.view.subnets[ip.SubnetID]; sn != nil && sn.IPVersion == 4 && !gwIP.IsValid() {
					gwIP, gwNext, gwSubnet = ip.IPAddress, sn.Gateway, sn.ID
				}
			}
		}
		s.view.mu.RUnlock()
		addRoute := func(rt *nbdb.LogicalRouterStaticRoute) error {
			rt.UUID = fmt.Sprintf("rt%d", len(routeRefs))
			more, err := s.nb.Create(rt)
			if err != nil {
				return err
			}
			ops = append(ops, more...)
			routeRefs = append(routeRefs, rt.UUID)
			return nil
		}
		if gwIP.IsValid() && gwNext.IsValid() {
			if err := addRoute(&nbdb.LogicalRouterStaticRoute{IPPrefix: "0.0.0.0/0", Nexthop: gwNext.String(),
				ExternalIDs: map[string]string{keyIsExtGW: "true", keySubnetID: gwSubnet}}); err != nil {
				return err
			}
		}
		for _, rt := range jsonList[Route](newExt[keyRoutes]) {
			if err := addRoute(&nbdb.LogicalRouterStaticRoute{IPPrefix: rt.Destination.String(), Nexthop: rt.NextHop.String(),
				ExternalIDs: map[string]string{}}); err != nil {
				return err
			}
		}
		// Floating IPs' rows stay; snat rows are rewritten.
		var nats []nbdb.NAT
		if err := s.nb.List(ctx, &nats); err != nil {
			return err
		}
		for _, n := range nats {
			if slices.Contains(r.lr.Nat, n.UUID) && n.Type != nbdb.NATTypeSNAT {
				natRefs = append(natRefs, n.UUID)
			}
		}
		if gwIP.IsValid() && newExt[keyEnableSNAT] != "false" {
			for i, cidr := range snatNets {
				nat := &nbdb.NAT{UUID: fmt.Sprintf("snat%d", i), Type: nbdb.NATTypeSNAT, LogicalIP: cidr, ExternalIP: gwIP.String(),
					ExternalIDs: map[string]string{}, Options: map[string]string{}}
				more, err := s.nb.Create(nat)
				if err != nil {
					return err
				}
				ops = append(ops, more...)
				natRefs = append(natRefs, nat.UUID)
			}
		}
		lr := &nbdb.LogicalRouter{UUID: r.uuid, ExternalIDs: newExt, Ports: portRefs, StaticRoutes: routeRefs, Nat: natRefs, Enabled: r.lr.Enabled}
		if enabled != nil {
			lr.Enabled = enabled
		}
		upd, err := s.nb.Where(lr).Update(lr, &lr.ExternalIDs, &lr.Ports, &lr.StaticRoutes, &lr.Nat, &lr.Enabled)
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, upd...)); err != nil {
			return err
		}
		return s.settleCache(ctx, func() bool {
			got, err := s.GetRouter(ctx, Scope{Admin: true}, id)
			return err == nil && got.Revision >= rev
		})
	})
}

func (s *Store) portByID(id string) *Port {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	return s.view.ports[id]
}

// DeleteRouter removes a router without interfaces, with its gateway.
func (s *Store) DeleteRouter(ctx context.Context, sc Scope, id string) error {
	r, err := s.GetRouter(ctx, sc, id)
	if err != nil {
		return err
	}
	if err := checkRevision(ctx, r.Revision); err != nil {
		return err
	}
	ifaces, gw := s.RouterPorts(id)
	if len(ifaces) > 0 {
		ids := make([]string, len(ifaces))
		for i, p := range ifaces {
			ids[i] = p.ID
		}
		slices.Sort(ids)
		return newErr(ErrConflict, "RouterInUse", "Router %s has ports still attached: %s", id, strings.Join(ids, ", "))
	}
	if s.routerHasFIPs(r) {
		return newErr(ErrConflict, "RouterInUse", "Router %s still has floating IPs", id)
	}
	if err := s.deleteRouterRow(ctx, id); err != nil {
		return err
	}
	if gw != nil {
		return s.DeletePort(ctx, Scope{Admin: true}, gw.ID)
	}
	return nil
}

func (s *Store) routerHasFIPs(r *Router) bool {
	var nats []nbdb.NAT
	_ = s.nb.List(context.Background(), &nats)
	for _, n := range nats {
		if slices.Contains(r.lr.Nat, n.UUID) && n.Type == nbdb.NATTypeDNATAndSNAT {
			return true
		}
	}
	return false
}

func (s *Store) deleteRouterRow(ctx context.Context, id string) error {
	r, err := s.GetRouter(ctx, Scope{Admin: true}, id)
	if err != nil {
		return err
	}
	del, err := s.nb.Where(&nbdb.LogicalRouter{UUID: r.uuid}).Delete()
	if err != nil {
		return err
	}
	if err := s.transact(ctx, del); err != nil {
		return err
	}
	return s.settleCache(ctx, func() bool { _, err := s.GetRouter(ctx, Scope{Admin: true}, id); return err != nil })
}

// AddRouterInterface connects a subnet (through a new port holding its
// gateway address) or an existing port to a router.
func (s *Store) AddRouterInterface(ctx context.Context, sc Scope, routerID, subnetID, portID string) (*RouterInterface, error) {
	r, err := s.GetRouter(ctx, sc, routerID)
	if err != nil {
		return nil, err
	}
	if (subnetID == "") == (portID == "") {
		return nil, badRouter("Either subnet_id or port_id must be specified")
	}
	ifaces, _ := s.RouterPorts(routerID)
	var want []*Subnet
	s.view.mu.RLock()
	var port *Port
	if portID != "" {
		port, err = s.view.visiblePort(sc, portID)
		if err == nil {
			switch {
			case port.DeviceOwner != "" || port.DeviceID != "":
				err = newErr(ErrConflict, "PortInUse", "Unable to complete operation on port %s for network %s. Port already has an attached device %s.", port.ID, port.NetworkID, port.DeviceID)
			case len(port.FixedIPs) == 0:
				err = badRouter("Router port must have at least one fixed IP")
			}
		}
		if err == nil {
			for _, ip := range port.FixedIPs {
				if sn := s.view.subnets[ip.SubnetID]; sn != nil {
					want = append(want, sn)
				}
			}
		}
	} else {
		sn := s.view.subnets[subnetID]
		switch {
		case sn == nil || !sc.owns(sn.ProjectID):
			err = subnetNotFound(subnetID)
		case !sn.Gateway.IsValid():
			err = badRouter("Subnet for router interface must have a gateway IP")
		default:
			want = []*Subnet{sn}
		}
	}
	if err == nil {
		err = s.view.checkRouterSubnets(routerID, ifaces, want)
	}
	s.view.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	owner, dev := OwnerRouterInterface, routerID
	created := false
	if port == nil {
		sn := want[0]
		port, err = s.CreatePort(ctx, Scope{Admin: true}, PortSpec{NetworkID: sn.NetworkID, ProjectID: r.ProjectID,
			DeviceOwner: &owner, DeviceID: &dev, PortSecurity: ptrTo(false),
			FixedIPs: &[]IPRequest{{SubnetID: sn.ID, IPAddress: sn.Gateway}}})
		if err != nil {
			return nil, err
		}
		created = true
	} else {
		if port, err = s.UpdatePort(ctx, sc, port.ID, PortSpec{DeviceOwner: &owner, DeviceID: &dev, SecurityGroups: &[]string{}, PortSecurity: ptrTo(false)}); err != nil {
			return nil, err
		}
	}
	if err := s.syncRouter(ctx, routerID, nil, nil); err != nil {
		undo := context.WithoutCancel(ctx)
		if created {
			_ = s.DeletePort(undo, Scope{Admin: true}, port.ID)
		} else {
			_, _ = s.UpdatePort(undo, Scope{Admin: true}, port.ID, PortSpec{DeviceOwner: ptrTo(""), DeviceID: ptrTo("")})
		}
		return nil, err
	}
	return routerInterface(r, port), nil
}

func routerInterface(r *Router, p *Port) *RouterInterface {
	ri := &RouterInterface{RouterID: r.ID, ProjectID: r.ProjectID, PortID: p.ID, NetworkID: p.NetworkID}
	for _, ip := range p.FixedIPs {
		ri.SubnetIDs = append(ri.SubnetIDs, ip.SubnetID)
	}
	return ri
}

// checkRouterSubnets refuses subnets a router already has, or that
// overlap one of its subnets (Neutron's messages). Caller holds the
// view's read lock.
func (v *view) checkRouterSubnets(routerID string, ifaces []*Port, want []*Subnet) error {
	for _, p := range ifaces {
		for _, ip := range p.FixedIPs {
			have := v.subnets[ip.SubnetID]
			if have == nil {
				continue
			}
			for _, sn := range want {
				if have.ID == sn.ID {
					return badRouter("Router already has a port on subnet %s", sn.ID)
				}
				if have.CIDR.Overlaps(sn.CIDR) {
					return badRouter("Cidr %s of subnet %s overlaps with cidr %s of subnet %s", sn.CIDR, sn.ID, have.CIDR, have.ID)
				}
			}
		}
	}
	return nil
}

// RemoveRouterInterface disconnects a subnet or port from a router: the
// port goes (a port the client attached by port_id too, as in Neutron).
func (s *Store) RemoveRouterInterface(ctx context.Context, sc Scope, routerID, subnetID, portID string) (*RouterInterface, error) {
	r, err := s.GetRouter(ctx, sc, routerID)
	if err != nil {
		return nil, err
	}
	if subnetID == "" && portID == "" {
		return nil, badRouter("Either subnet_id or port_id must be specified")
	}
	ifaces, _ := s.RouterPorts(routerID)
	var port *Port
	for _, p := range ifaces {
		if portID != "" && p.ID != portID {
			continue
		}
		if subnetID != "" && !slices.ContainsFunc(p.FixedIPs, func(ip FixedIP) bool { return ip.SubnetID == subnetID }) {
			continue
		}
		port = p
	}
	if port == nil {
		if portID != "" {
			return nil, newErr(ErrNotFound, "RouterInterfaceNotFound", "Router %s does not have an interface with id %s", routerID, portID)
		}
		return nil, newErr(ErrNotFound, "RouterInterfaceNotFoundForSubnet", "Router %s has no interface on subnet %s", routerID, subnetID)
	}
	fips, err := s.floatingIPs(ctx)
	if err != nil {
		return nil, err
	}
	s.view.mu.RLock()
	for _, f := range fips {
		for _, ip := range port.FixedIPs {
			if sn := s.view.subnets[ip.SubnetID]; sn != nil && f.RouterID == routerID && sn.CIDR.Contains(f.FixedIP) {
				s.view.mu.RUnlock()
				return nil, newErr(ErrConflict, "RouterInterfaceInUseByFloatingIP",
					"Router interface for subnet %s on router %s cannot be deleted, as it is required by one or more floating IPs.", sn.ID, routerID)
			}
		}
	}
	s.view.mu.RUnlock()
	if err := s.DeletePort(ctx, Scope{Admin: true}, port.ID); err != nil {
		return nil, err
	}
	if err := s.syncRouter(ctx, routerID, nil, nil); err != nil {
		return nil, err
	}
	return routerInterface(r, port), nil
}
