package ovn

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// NetworkSpec is what a client may set on a network. Nil pointers in an
// update mean "leave as is".
type NetworkSpec struct {
	Name         *string
	Description  *string
	ProjectID    string // create only
	AdminStateUp *bool
	Shared       *bool
	MTU          *int
	PortSecurity *bool
	// External is router:external.
	External *bool
	// Provider holds the provider:* attributes (create only; an update
	// may only repeat them).
	Provider ProviderSpec
}

// withSubnets returns a copy of n listing its subnets. Caller holds the
// view's read lock.
func (v *view) withSubnets(n *Network) *Network {
	c := *n
	c.SubnetIDs = []string{}
	for id := range v.subnetsByNet[n.ID] {
		c.SubnetIDs = append(c.SubnetIDs, id)
	}
	slices.Sort(c.SubnetIDs)
	return &c
}

// visibleNetwork returns the network if the caller may see it (own,
// shared, external, or admin). Caller holds the view's read lock.
func (v *view) visibleNetwork(sc Scope, id string) (*Network, error) {
	n := v.networks[id]
	if n == nil || !(sc.owns(n.ProjectID) || n.Shared || n.External) {
		return nil, networkNotFound(id)
	}
	return n, nil
}

// usableNetwork returns the network if the caller may put ports on it
// (own, shared, or admin): an external network is only seen by other
// projects, which reach it through routers and floating IPs; as in
// Neutron, they are told so (they see the network anyway).
func (v *view) usableNetwork(sc Scope, id string) (*Network, error) {
	n := v.networks[id]
	switch {
	case n != nil && (sc.owns(n.ProjectID) || n.Shared):
		return n, nil
	case n != nil && n.External:
		return nil, newErr(ErrForbidden, "HTTPForbidden", "Tenant %s not allowed to create port on this network", sc.ProjectID)
	}
	return nil, networkNotFound(id)
}

// ownedNetwork is visibleNetwork for changes Neutron's API layer makes
// no policy check of its own on (tags): a network of another project is
// missing to the caller, shared or not.
func (v *view) ownedNetwork(sc Scope, id string) (*Network, error) {
	n := v.networks[id]
	if n == nil || !sc.owns(n.ProjectID) {
		return nil, networkNotFound(id)
	}
	return n, nil
}

// changeableNetwork is visibleNetwork for a change Neutron's policy
// decides (action is its rule: update_network, delete_network): a network the caller cannot see is missing (404); one
// it sees (shared, external) but does not own is refused as Neutron's
// policy refuses it (403 PolicyNotAuthorized), which reveals nothing
// listing does not show.
func (v *view) changeableNetwork(sc Scope, id, action string) (*Network, error) {
	n, err := v.visibleNetwork(sc, id)
	if err != nil {
		return nil, err
	}
	if !sc.owns(n.ProjectID) {
		return nil, newErr(ErrForbidden, "PolicyNotAuthorized", "rule:%s is disallowed by policy", action)
	}
	return n, nil
}

// subnetNetwork is the network a subnet is created on: the caller's or
// a shared one, as Neutron's policy lets any member add a subnet of its
// own to a shared network; Neutron's API layer hides any other network
// (an external one too).
func (v *view) subnetNetwork(sc Scope, id string) (*Network, error) {
	n := v.networks[id]
	if n == nil || !(sc.owns(n.ProjectID) || n.Shared) {
		return nil, networkNotFound(id)
	}
	return n, nil
}

// ListNetworks returns the networks the caller may see.
func (s *Store) ListNetworks(ctx context.Context, sc Scope) []*Network {
	s.syncNetworks(ctx)
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	out := make([]*Network, 0, len(s.view.networks))
	for _, n := range s.view.networks {
		if sc.owns(n.ProjectID) || n.Shared || n.External {
			out = append(out, s.view.withSubnets(n))
		}
	}
	slices.SortFunc(out, func(a, b *Network) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

// GetNetwork returns one network the caller may see.
func (s *Store) GetNetwork(ctx context.Context, sc Scope, id string) (*Network, error) {
	n, err := s.getNetwork(sc, id)
	if err != nil && s.catchUp(ctx, err) {
		n, err = s.getNetwork(sc, id)
	}
	return n, err
}

func (s *Store) getNetwork(sc Scope, id string) (*Network, error) {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	n, err := s.view.visibleNetwork(sc, id)
	if err != nil {
		return nil, err
	}
	return s.view.withSubnets(n), nil
}

// CreateNetwork writes a new Logical_Switch with its segment: a geneve
// VNI, or a localnet port to a physical network (flat, VLAN), reserved
// so that no two networks hold the same one.
func (s *Store) CreateNetwork(ctx context.Context, spec NetworkSpec) (*Network, error) {
	seg, err := s.segmentFor(spec.Provider)
	if err != nil {
		return nil, err
	}
	seg.ID = segmentID(seg)
	id := uuid.NewString()
	mtu := s.cfg.DefaultMTU
	if seg.PhysicalNetwork != "" {
		mtu = s.cfg.PhysnetMTU
	}
	var out *Network
	// VNIs are picked from the view: one create at a time in this
	// process. Replicas pick at random from a large range; two of them
	// giving one VNI to two networks at the same instant is possible but
	// harmless to traffic (OVN assigns datapath tunnel keys itself).
	s.segmentMu.Lock()
	defer s.segmentMu.Unlock()
	err = s.retry(ctx, "create network "+id, func() error {
		want := seg
		s.view.mu.RLock()
		if want.NetworkType == NetworkTypeGeneve && spec.Provider.SegmentationID == nil {
			vni, ok := s.view.freeVNI(s.cfg.VNIMin, s.cfg.VNIMax)
			if !ok {
				s.view.mu.RUnlock()
				return newErr(ErrUnavailable, "NoNetworkAvailable", "Unable to create the network. No tenant network is available for allocation.")
			}
			want.SegmentationID = vni
		}
		holder := s.view.segmentHolder(want)
		s.view.mu.RUnlock()
		if holder != nil {
			return inUse(want)
		}
		now := fmtTime(time.Now())
		ext := map[string]string{
			keyNetworkName:    deref(spec.Name, ""),
			keyDescription:    deref(spec.Description, ""),
			keyProjectID:      spec.ProjectID,
			keyAdminStateUp:   strconv.FormatBool(deref(spec.AdminStateUp, true)),
			keyShared:         strconv.FormatBool(deref(spec.Shared, false)),
			keyRouterExternal: strconv.FormatBool(deref(spec.External, false)),
			keyMTU:            strconv.Itoa(deref(spec.MTU, mtu)),
			keyPortSecurity:   strconv.FormatBool(deref(spec.PortSecurity, true)),
			keyRevision:       "1",
			keyCreatedAt:      now,
			keyUpdatedAt:      now,
			keyIPAMGeneration: "0",
			keySegmentID:      want.ID,
		}
		maps.Copy(ext, segmentKeys(want))
		var ops []ovsdb.Operation
		ls := &nbdb.LogicalSwitch{UUID: "ls", Name: lsPrefix + id, ExternalIDs: ext,
			OtherConfig: map[string]string{"mcast_snoop": "false"}}
		if want.PhysicalNetwork != "" {
			lsp := localnetPort(want)
			more, err := s.nb.Create(lsp)
			if err != nil {
				return err
			}
			ops = append(ops, more...)
			ls.Ports = []string{lsp.UUID}
		}
		more, err := s.nb.Create(ls)
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, more...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool {
			if n := s.view.networks[id]; n != nil {
				out = s.view.withSubnets(n)
				return true
			}
			return false
		})
	})
	return out, err
}

// UpdateNetwork changes a network the caller owns.
func (s *Store) UpdateNetwork(ctx context.Context, sc Scope, id string, spec NetworkSpec) (*Network, error) {
	defer s.lockNetwork(id)()
	var out *Network
	err := s.retry(ctx, "update network "+id, func() error {
		s.view.mu.RLock()
		n, err := s.view.changeableNetwork(sc, id, "update_network")
		s.view.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := checkRevision(ctx, n.Revision); err != nil {
			return err
		}
		ext := copyMap(n.ext)
		setIf(ext, keyNetworkName, spec.Name)
		setIf(ext, keyDescription, spec.Description)
		if spec.AdminStateUp != nil {
			ext[keyAdminStateUp] = strconv.FormatBool(*spec.AdminStateUp)
		}
		if spec.Shared != nil {
			ext[keyShared] = strconv.FormatBool(*spec.Shared)
		}
		if spec.MTU != nil {
			ext[keyMTU] = strconv.Itoa(*spec.MTU)
		}
		if spec.PortSecurity != nil {
			ext[keyPortSecurity] = strconv.FormatBool(*spec.PortSecurity)
		}
		if spec.External != nil {
			ext[keyRouterExternal] = strconv.FormatBool(*spec.External)
		}
		if err := sameSegment(n.Segment, spec.Provider); err != nil {
			return err
		}
		rev := n.Revision + 1
		ext[keyRevision] = strconv.FormatInt(rev, 10)
		ext[keyUpdatedAt] = fmtTime(time.Now())
		ops, err := s.guard(nbdb.LogicalSwitchTable, n.uuid, n.ext)
		if err != nil {
			return err
		}
		ls := &nbdb.LogicalSwitch{UUID: n.uuid, ExternalIDs: ext}
		upd, err := s.nb.Where(ls).Update(ls, &ls.ExternalIDs)
		if err != nil {
			return err
		}
		// MTU also reaches DHCP clients through the subnets' options.
		if spec.MTU != nil {
			more, err := s.subnetMTUOps(n.ID, *spec.MTU)
			if err != nil {
				return err
			}
			upd = append(upd, more...)
		}
		if err := s.transact(ctx, append(ops, upd...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool {
			if m := s.view.networks[id]; m != nil && m.Revision >= rev {
				out = s.view.withSubnets(m)
				return true
			}
			return false
		})
	})
	return out, err
}

// DeleteNetwork removes a network that has no ports, with its subnets.
func (s *Store) DeleteNetwork(ctx context.Context, sc Scope, id string) error {
	defer s.lockNetwork(id)()
	return s.retry(ctx, "delete network "+id, func() error {
		s.view.mu.RLock()
		n, err := s.view.changeableNetwork(sc, id, "delete_network")
		nports := len(s.view.portsByNet[id])
		var subnets []*Subnet
		for _, sn := range s.view.subnetsByNet[id] {
			subnets = append(subnets, sn)
		}
		dns := s.view.dns[id]
		s.view.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := checkRevision(ctx, n.Revision); err != nil {
			return err
		}
		if nports > 0 {
			return newErr(ErrConflict, "NetworkInUse",
				"Unable to complete operation on network %s. There are one or more ports still in use on the network (%d).", id, nports)
		}
		// The guard makes a port created meanwhile by another process
		// (which bumps neutron:ipam_generation) abort this delete.
		ops, err := s.guard(nbdb.LogicalSwitchTable, n.uuid, n.ext)
		if err != nil {
			return err
		}
		// Subnets taken from pools give their prefixes back.
		release, err := s.poolRelease(ctx, subnets...)
		if err != nil {
			return err
		}
		ops = append(ops, release...)
		for _, sn := range subnets {
			del, err := s.nb.Where(&nbdb.DHCPOptions{UUID: sn.uuid}).Delete()
			if err != nil {
				return err
			}
			ops = append(ops, del...)
		}
		// The network's DNS row (ML2/OVN deletes it with the switch); the
		// guard on the switch covers one another process just made: that
		// happens only with a port, whose create bumped the generation.
		if dns != nil {
			d, err := s.nb.Where(&nbdb.DNS{UUID: dns.uuid}).Delete()
			if err != nil {
				return err
			}
			ops = append(ops, d...)
		}
		del, err := s.nb.Where(&nbdb.LogicalSwitch{UUID: n.uuid}).Delete()
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, del...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool { return s.view.networks[id] == nil && s.view.dns[id] == nil })
	})
}

// bumpIPAM returns the guard and update that every allocation on
// network n carries: fail if n's external_ids changed since they were
// read, and bump neutron:ipam_generation so that a competing allocation
// based on the same state fails.
func (s *Store) bumpIPAM(n *Network) ([]ovsdb.Operation, map[string]string, error) {
	return s.rewriteNetwork(n, func(ext map[string]string) {
		gen, _ := strconv.ParseUint(ext[keyIPAMGeneration], 10, 64)
		ext[keyIPAMGeneration] = strconv.FormatUint(gen+1, 10)
	})
}

// reviseForSubnet returns the guard and update of network n when one of
// its subnets is created (allocating: the IPAM generation bumped too),
// changed or deleted: Neutron bumps the network's revision_number and
// updated_at with each (its subnets revise their network).
func (s *Store) reviseForSubnet(n *Network, allocating bool) ([]ovsdb.Operation, map[string]string, error) {
	return s.rewriteNetwork(n, func(ext map[string]string) {
		if allocating {
			gen, _ := strconv.ParseUint(ext[keyIPAMGeneration], 10, 64)
			ext[keyIPAMGeneration] = strconv.FormatUint(gen+1, 10)
		}
		ext[keyRevision] = strconv.FormatInt(n.Revision+1, 10)
		ext[keyUpdatedAt] = fmtTime(time.Now())
	})
}

// rewriteNetwork returns a guard on n's external_ids as they were read
// and their update by change.
func (s *Store) rewriteNetwork(n *Network, change func(ext map[string]string)) ([]ovsdb.Operation, map[string]string, error) {
	ops, err := s.guard(nbdb.LogicalSwitchTable, n.uuid, n.ext)
	if err != nil {
		return nil, nil, err
	}
	ext := copyMap(n.ext)
	change(ext)
	ls := &nbdb.LogicalSwitch{UUID: n.uuid, ExternalIDs: ext}
	upd, err := s.nb.Where(ls).Update(ls, &ls.ExternalIDs)
	if err != nil {
		return nil, nil, err
	}
	return append(ops, upd...), ext, nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func setIf(m map[string]string, k string, v *string) {
	if v != nil {
		m[k] = *v
	}
}

func cmpCreated(a, b time.Time, ida, idb string) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	switch {
	case ida < idb:
		return -1
	case ida > idb:
		return 1
	}
	return 0
}

// networkSettled reports whether the view has caught up with a network
// whose external_ids we just wrote.
func (v *view) networkHas(id string, ext map[string]string) bool {
	n := v.networks[id]
	// ">=": another process may already have bumped past our write.
	return n != nil && genAtLeast(n.ext[keyIPAMGeneration], ext[keyIPAMGeneration])
}

func genAtLeast(have, want string) bool {
	h, _ := strconv.ParseUint(have, 10, 64)
	w, _ := strconv.ParseUint(want, 10, 64)
	return h >= w
}
