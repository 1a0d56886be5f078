package ovn

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// A trunk lives on its parent port's Logical_Switch_Port (external_ids
// neutron:trunk_*), so "one trunk per parent" holds by construction. Its
// subports are the parent's children (parent_name = parent port, tag =
// segmentation_id) marked with neutron:subport_of = trunk id, the same
// NB shape ML2/OVN's trunk driver writes; the parent also lists them
// (neutron:trunk_subports, VLAN → port), so that the VLANs in use are
// part of the row every trunk change guards: a monitor update may show
// the parent's new external_ids before the subport rows of the same
// transaction, and a check against the subport rows alone could then
// pass a guard it should not. Every trunk change bumps the parent's
// neutron:children_generation under a guard on the parent's
// external_ids, and guards every subport it touches, so two concurrent
// requests (in one process or several) cannot give one VLAN to two
// subports, put one port on two trunks, or delete a port being added.
const (
	keyTrunkID           = "neutron:trunk_id"
	keyTrunkName         = "neutron:trunk_name"
	keyTrunkDescription  = "neutron:trunk_description"
	keyTrunkProjectID    = "neutron:trunk_project_id"
	keyTrunkAdminStateUp = "neutron:trunk_admin_state_up"
	keyTrunkStatus       = "neutron:trunk_status"
	keyTrunkRevision     = "neutron:trunk_revision_number"
	keyTrunkCreatedAt    = "neutron:trunk_created_at"
	keyTrunkUpdatedAt    = "neutron:trunk_updated_at"
	keyTrunkSubports     = "neutron:trunk_subports"
	// on a subport: the trunk it belongs to
	keySubportOf = "neutron:subport_of"
)

var trunkKeys = []string{keyTrunkID, keyTrunkName, keyTrunkDescription, keyTrunkProjectID,
	keyTrunkAdminStateUp, keyTrunkStatus, keyTrunkRevision, keyTrunkCreatedAt, keyTrunkUpdatedAt, keyTrunkSubports}

// Neutron's names for what trunks use.
const (
	SegmentationVLAN = "vlan"
	SubportOwner     = "trunk:subport"
	TrunkActive      = "ACTIVE"
	TrunkDown        = "DOWN"
)

// TrunkRecord is the trunk as stored on its parent port.
type TrunkRecord struct {
	ID           string
	Name         string
	Description  string
	ProjectID    string
	AdminStateUp bool
	Status       string
	Revision     int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// SubPorts: VLAN → subport id.
	SubPorts map[int]string
}

// SubPort is one subport of a trunk.
type SubPort struct {
	PortID           string
	SegmentationType string
	SegmentationID   int
	// MAC is the subport's mac_address (for trunk_details).
	MAC string
}

// Trunk is a Neutron trunk.
type Trunk struct {
	TrunkRecord
	PortID   string
	SubPorts []SubPort
}

// TrunkDetails is the trunk_details of a parent port.
type TrunkDetails struct {
	TrunkID  string
	SubPorts []SubPort
}

// TrunkSpec is what a client may set on a trunk; nil pointers leave an
// attribute as is (update) or take Neutron's default (create).
type TrunkSpec struct {
	Name         *string
	Description  *string
	AdminStateUp *bool
	ProjectID    string    // create only
	PortID       string    // create only
	SubPorts     []SubPort // create only
}

func trunkFromExt(e map[string]string) *TrunkRecord {
	if e[keyTrunkID] == "" {
		return nil
	}
	return &TrunkRecord{
		ID:           e[keyTrunkID],
		Name:         e[keyTrunkName],
		Description:  e[keyTrunkDescription],
		ProjectID:    e[keyTrunkProjectID],
		AdminStateUp: e[keyTrunkAdminStateUp] != "false",
		Status:       e[keyTrunkStatus],
		Revision:     atoi64(e[keyTrunkRevision]),
		CreatedAt:    parseTime(e[keyTrunkCreatedAt]),
		UpdatedAt:    parseTime(e[keyTrunkUpdatedAt]),
		SubPorts:     subportMap(e[keyTrunkSubports]),
	}
}

func subportMap(raw string) map[int]string {
	m := map[int]string{}
	var byKey map[string]string
	_ = json.Unmarshal([]byte(raw), &byKey)
	for k, id := range byKey {
		if vlan, err := strconv.Atoi(k); err == nil {
			m[vlan] = id
		}
	}
	return m
}

// putTrunkExt writes t into ext (or removes the trunk keys when t is nil).
func putTrunkExt(ext map[string]string, t *TrunkRecord) {
	for _, k := range trunkKeys {
		delete(ext, k)
	}
	if t == nil {
		return
	}
	ext[keyTrunkID] = t.ID
	ext[keyTrunkName] = t.Name
	ext[keyTrunkDescription] = t.Description
	ext[keyTrunkProjectID] = t.ProjectID
	ext[keyTrunkAdminStateUp] = strconv.FormatBool(t.AdminStateUp)
	ext[keyTrunkStatus] = t.Status
	ext[keyTrunkRevision] = strconv.FormatInt(t.Revision, 10)
	ext[keyTrunkCreatedAt] = fmtTime(t.CreatedAt)
	ext[keyTrunkUpdatedAt] = fmtTime(t.UpdatedAt)
	byKey := map[string]string{}
	for vlan, id := range t.SubPorts {
		byKey[strconv.Itoa(vlan)] = id
	}
	raw, _ := json.Marshal(byKey)
	ext[keyTrunkSubports] = string(raw)
}

// trunkTable marks a TrunkNotFound for catchUp: trunks are looked up by
// neutron:trunk_id on Logical_Switch_Port rows.
const trunkTable = "trunk"

func trunkNotFound(id string) *Error {
	return notFound(trunkTable, "TrunkNotFound", "Trunk", id)
}

// visibleTrunk returns the parent port of trunk id if the caller may see
// the trunk. Caller holds the view's read lock.
func (v *view) visibleTrunk(sc Scope, id string) (*Port, error) {
	parent := v.ports[v.trunks[id]]
	if parent == nil || parent.Trunk == nil || parent.Trunk.ID != id || !sc.owns(parent.Trunk.ProjectID) {
		return nil, trunkNotFound(id)
	}
	return parent, nil
}

// subportsOf lists the subports of the trunk on parent, by VLAN. Caller
// holds the view's read lock.
func (v *view) subportsOf(parent *Port) []SubPort {
	out := []SubPort{}
	if parent.Trunk == nil {
		return out
	}
	for tag, id := range parent.Trunk.SubPorts {
		sp := SubPort{PortID: id, SegmentationType: SegmentationVLAN, SegmentationID: tag}
		if c := v.ports[id]; c != nil {
			sp.MAC = c.MAC
		}
		out = append(out, sp)
	}
	slices.SortFunc(out, func(a, b SubPort) int { return a.SegmentationID - b.SegmentationID })
	return out
}

func (v *view) trunkOf(parent *Port) *Trunk {
	return &Trunk{TrunkRecord: *parent.Trunk, PortID: parent.ID, SubPorts: v.subportsOf(parent)}
}

// ListTrunks returns the trunks the caller may see.
func (s *Store) ListTrunks(ctx context.Context, sc Scope) []*Trunk {
	s.syncTrunks(ctx)
	v := s.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*Trunk, 0, len(v.trunks))
	for id := range v.trunks {
		if parent, err := v.visibleTrunk(sc, id); err == nil {
			out = append(out, v.trunkOf(parent))
		}
	}
	slices.SortFunc(out, func(a, b *Trunk) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

// GetTrunk returns one trunk the caller may see.
func (s *Store) GetTrunk(ctx context.Context, sc Scope, id string) (*Trunk, error) {
	t, err := s.getTrunk(sc, id)
	if err != nil && s.catchUp(ctx, err) {
		t, err = s.getTrunk(sc, id)
	}
	return t, err
}

func (s *Store) getTrunk(sc Scope, id string) (*Trunk, error) {
	v := s.view
	v.mu.RLock()
	defer v.mu.RUnlock()
	parent, err := v.visibleTrunk(sc, id)
	if err != nil {
		return nil, err
	}
	return v.trunkOf(parent), nil
}

// trunkPlan is a validated trunk change ready to become operations.
type trunkPlan struct {
	parent *Port
	// trunk is the parent's trunk record after the change (nil: removed).
	trunk *TrunkRecord
	// rewrites: subport id → (current, wanted) port.
	rewrites []portChange
}

type portChange struct {
	cur, next *Port
	res       []reservation
}

// checkSubports validates subports to add to the trunk on parent (which
// may not exist yet: trunkID is the one being created). Caller holds the
// view's read lock.
func (v *view) checkSubports(sc Scope, parent *Port, trunkID string, subs []SubPort) error {
	parentNet := v.networks[parent.NetworkID]
	seen := map[string]bool{}
	vlans := map[int]bool{}
	for _, sp := range subs {
		if seen[sp.PortID] || vlans[sp.SegmentationID] {
			return newErr(ErrInvalid, "InvalidInput",
				"Invalid input for operation: port %s or segmentation_id %d appears twice in the request.", sp.PortID, sp.SegmentationID)
		}
		seen[sp.PortID], vlans[sp.SegmentationID] = true, true
		if sp.PortID == parent.ID {
			return newErr(ErrConflict, "ParentPortInUse",
				"Port %s is currently in use and is not eligible for use as a parent port.", sp.PortID)
		}
		p, err := v.visiblePort(sc, sp.PortID)
		if err != nil {
			return err
		}
		if net := v.networks[p.NetworkID]; parentNet != nil && net != nil && net.MTU > parentNet.MTU {
			return newErr(ErrConflict, "SubPortMtuGreaterThanTrunkPortMtu",
				"MTU %d of subport %s cannot be greater than MTU %d of trunk %s.", net.MTU, p.ID, parentNet.MTU, trunkID)
		}
		if p.SubportOf != "" {
			return newErr(ErrConflict, "TrunkPortInUse", "Port %s is in use by another trunk.", p.ID)
		}
		if p.Trunk != nil {
			return newErr(ErrConflict, "ParentPortInUse",
				"Port %s is currently in use and is not eligible for use as a parent port.", p.ID)
		}
		if p.DeviceID != "" {
			return newErr(ErrConflict, "PortInUse",
				"Unable to complete operation on port %s for network %s. Port already has an attached device %s.", p.ID, p.NetworkID, p.DeviceID)
		}
		// Beyond Neutron: NB nests containers one level deep, so a port
		// that already is a container port or has container ports cannot
		// become a subport.
		if p.ParentName != "" {
			return newErr(ErrConflict, "PortInUse",
				"Unable to complete operation on port %s: it is already a container port of parent port %s (binding:profile).", p.ID, p.ParentName)
		}
		if len(v.children[p.ID]) > 0 {
			return newErr(ErrConflict, "PortInUse",
				"Unable to complete operation on port %s: it is the parent_name of container ports and cannot become a subport.", p.ID)
		}
		onTrunk := false
		if parent.Trunk != nil {
			_, onTrunk = parent.Trunk.SubPorts[sp.SegmentationID]
		}
		if _, used := v.children[parent.ID][sp.SegmentationID]; used || onTrunk {
			return newErr(ErrConflict, "DuplicateSubPort",
				"segmentation_type %s and segmentation_id %d already in use on trunk %s.", SegmentationVLAN, sp.SegmentationID, trunkID)
		}
	}
	return nil
}

// heldAddrs is what lspRow needs to render p's existing addresses.
// Caller holds the view's read lock.
func (v *view) heldAddrs(p *Port) []reservation {
	var res []reservation
	for _, f := range p.FixedIPs {
		if sn := v.subnets[f.SubnetID]; sn != nil {
			res = append(res, reservation{sn, f.IPAddress})
		}
	}
	return res
}

// withProfileKeys returns profile with parent_name and tag set (tag > 0)
// or removed (tag == 0), keeping any other keys.
func withProfileKeys(profile json.RawMessage, parent string, tag int) json.RawMessage {
	m := map[string]any{}
	_ = json.Unmarshal(profile, &m)
	if tag > 0 {
		m["parent_name"], m["tag"] = parent, tag
	} else {
		delete(m, "parent_name")
		delete(m, "tag")
	}
	if len(m) == 0 {
		return nil
	}
	out, _ := json.Marshal(m)
	return out
}

// attach is the subport p after joining trunk t on parent, as ML2/OVN
// leaves it: parent_name and tag on the LSP and in binding:profile,
// device_owner trunk:subport, device_id untouched (empty: a port with a
// device cannot become a subport; only the OVS agent's trunk driver
// writes the trunk there).
func attachSubport(p, parent *Port, trunkID string, tag int, withHost bool) *Port {
	np := *p
	np.ParentName, np.Tag, np.SubportOf = parent.ID, tag, trunkID
	np.Profile = withProfileKeys(p.Profile, parent.ID, tag)
	np.DeviceOwner = SubportOwner
	if withHost {
		np.HostID = parent.HostID
	}
	np.Revision = p.Revision + 1
	return &np
}

// detachSubport is the subport p after leaving its trunk.
func detachSubport(p *Port) *Port {
	np := *p
	np.ParentName, np.Tag, np.SubportOf = "", 0, ""
	np.Profile = withProfileKeys(p.Profile, "", 0)
	np.DeviceOwner, np.HostID = "", ""
	if p.DeviceID == p.SubportOf {
		// joined while ovn-neutrond still wrote the trunk there
		np.DeviceID = ""
	}
	np.Revision = p.Revision + 1
	return &np
}

// commitTrunk writes a plan in one transaction: the parent's
// external_ids (guarded, children generation bumped) and every subport
// row (guarded). It waits until the view shows the result.
func (s *Store) commitTrunk(ctx context.Context, pl trunkPlan) error {
	parent := pl.parent
	ops, err := s.guard(nbdb.LogicalSwitchPortTable, parent.uuid, parent.ext)
	if err != nil {
		return err
	}
	ext := copyMap(parent.ext)
	gen, _ := strconv.ParseUint(ext[keyChildrenGeneration], 10, 64)
	ext[keyChildrenGeneration] = strconv.FormatUint(gen+1, 10)
	putTrunkExt(ext, pl.trunk)
	lsp := &nbdb.LogicalSwitchPort{UUID: parent.uuid, ExternalIDs: ext}
	upd, err := s.nb.Where(lsp).Update(lsp, &lsp.ExternalIDs)
	if err != nil {
		return err
	}
	ops = append(ops, upd...)
	now := fmtTime(time.Now())
	for _, ch := range pl.rewrites {
		more, err := s.rewritePort(ch.cur, ch.next, ch.res, now)
		if err != nil {
			return err
		}
		ops = append(ops, more...)
	}
	if err := s.transact(ctx, ops); err != nil {
		return err
	}
	v := s.view
	return s.settle(ctx, func() bool {
		if !v.portHas(parent.ID, ext) {
			return false
		}
		for _, ch := range pl.rewrites {
			if q := v.ports[ch.next.ID]; q == nil || q.Revision < ch.next.Revision {
				return false
			}
		}
		return true
	})
}

// lockTrunk serialises this process's changes to the trunk on one parent
// port, so that they do not trip each other's guards.
func (s *Store) lockTrunk(parentID string) func() { return s.lockNetwork("trunk-parent:" + parentID) }

// CreateTrunk makes port spec.PortID the parent of a new trunk, with the
// given subports.
func (s *Store) CreateTrunk(ctx context.Context, sc Scope, spec TrunkSpec) (*Trunk, error) {
	defer s.lockTrunk(spec.PortID)()
	id := uuid.NewString()
	var out *Trunk
	err := s.retry(ctx, "create trunk", func() error {
		v := s.view
		v.mu.RLock()
		pl, err := s.planCreate(sc, id, spec)
		v.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := s.commitTrunk(ctx, pl); err != nil {
			return err
		}
		v.mu.RLock()
		defer v.mu.RUnlock()
		out = v.trunkOf(v.ports[spec.PortID])
		return nil
	})
	return out, err
}

// planCreate checks a create. Caller holds the view's read lock.
func (s *Store) planCreate(sc Scope, id string, spec TrunkSpec) (trunkPlan, error) {
	v := s.view
	parent, err := v.visiblePort(sc, spec.PortID)
	if err != nil {
		return trunkPlan{}, err
	}
	if parent.SubportOf != "" {
		return trunkPlan{}, newErr(ErrConflict, "TrunkPortInUse", "Port %s is in use by another trunk.", parent.ID)
	}
	if parent.Trunk != nil {
		return trunkPlan{}, newErr(ErrConflict, "ParentPortInUse",
			"Port %s is currently in use and is not eligible for use as a parent port.", parent.ID)
	}
	if parent.ParentName != "" {
		// Beyond Neutron: NB nests containers one level deep.
		return trunkPlan{}, newErr(ErrConflict, "ParentPortInUse",
			"Port %s is currently in use and is not eligible for use as a parent port: it is a container port of %s (binding:profile).", parent.ID, parent.ParentName)
	}
	if err := v.checkSubports(sc, parent, id, spec.SubPorts); err != nil {
		return trunkPlan{}, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	pl := trunkPlan{parent: parent, trunk: &TrunkRecord{
		ID: id, Name: deref(spec.Name, ""), Description: deref(spec.Description, ""),
		ProjectID: spec.ProjectID, AdminStateUp: deref(spec.AdminStateUp, true),
		// ML2/OVN's driver turns a trunk ACTIVE as soon as it is created.
		Status: TrunkActive, Revision: 1, CreatedAt: now, UpdatedAt: now,
		SubPorts: map[int]string{},
	}}
	for _, sp := range spec.SubPorts {
		pl.trunk.SubPorts[sp.SegmentationID] = sp.PortID
		p := v.ports[sp.PortID]
		// At create Neutron leaves the subports' binding:host_id alone.
		pl.rewrites = append(pl.rewrites, portChange{p, attachSubport(p, parent, id, sp.SegmentationID, false), v.heldAddrs(p)})
	}
	return pl, nil
}

// trunkDisabled is Neutron's refusal to change a trunk whose
// admin_state_up is false.
func trunkDisabled(id string) *Error {
	return newErr(ErrConflict, "TrunkDisabled", "Trunk %s is currently disabled.", id)
}

// changeTrunk runs one guarded change of trunk id: plan computes it
// from the current view (read lock held).
func (s *Store) changeTrunk(ctx context.Context, sc Scope, id, what string, plan func(parent *Port) (trunkPlan, error)) (*Trunk, error) {
	cur, err := s.GetTrunk(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	defer s.lockTrunk(cur.PortID)()
	var out *Trunk
	err = s.retry(ctx, what+" trunk "+id, func() error {
		v := s.view
		v.mu.RLock()
		parent, err := v.visibleTrunk(sc, id)
		var pl trunkPlan
		if err == nil {
			pl, err = plan(parent)
		}
		v.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := s.commitTrunk(ctx, pl); err != nil {
			return err
		}
		if pl.trunk == nil {
			return nil
		}
		v.mu.RLock()
		defer v.mu.RUnlock()
		if p := v.ports[parent.ID]; p != nil && p.Trunk != nil {
			out = v.trunkOf(p)
		}
		return nil
	})
	return out, err
}

func bumped(t *TrunkRecord) *TrunkRecord {
	c := *t
	c.SubPorts = make(map[int]string, len(t.SubPorts))
	for k, v := range t.SubPorts {
		c.SubPorts[k] = v
	}
	c.Revision++
	c.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	return &c
}

// UpdateTrunk changes name, description and admin_state_up.
func (s *Store) UpdateTrunk(ctx context.Context, sc Scope, id string, spec TrunkSpec) (*Trunk, error) {
	return s.changeTrunk(ctx, sc, id, "update", func(parent *Port) (trunkPlan, error) {
		t := bumped(parent.Trunk)
		t.Name = deref(spec.Name, t.Name)
		t.Description = deref(spec.Description, t.Description)
		t.AdminStateUp = deref(spec.AdminStateUp, t.AdminStateUp)
		return trunkPlan{parent: parent, trunk: t}, nil
	})
}

// AddSubports adds subports to trunk id, all or none.
func (s *Store) AddSubports(ctx context.Context, sc Scope, id string, subs []SubPort) (*Trunk, error) {
	return s.changeTrunk(ctx, sc, id, "add subports to", func(parent *Port) (trunkPlan, error) {
		if !parent.Trunk.AdminStateUp {
			return trunkPlan{}, trunkDisabled(id)
		}
		v := s.view
		if err := v.checkSubports(sc, parent, id, subs); err != nil {
			return trunkPlan{}, err
		}
		t := bumped(parent.Trunk)
		t.Status = TrunkActive
		pl := trunkPlan{parent: parent, trunk: t}
		for _, sp := range subs {
			t.SubPorts[sp.SegmentationID] = sp.PortID
			p := v.ports[sp.PortID]
			// Neutron gives added subports the parent's binding:host_id.
			pl.rewrites = append(pl.rewrites, portChange{p, attachSubport(p, parent, id, sp.SegmentationID, true), v.heldAddrs(p)})
		}
		return pl, nil
	})
}

// RemoveSubports removes subports (by port id) from trunk id, all or
// none.
func (s *Store) RemoveSubports(ctx context.Context, sc Scope, id string, portIDs []string) (*Trunk, error) {
	return s.changeTrunk(ctx, sc, id, "remove subports from", func(parent *Port) (trunkPlan, error) {
		if !parent.Trunk.AdminStateUp {
			return trunkPlan{}, trunkDisabled(id)
		}
		v := s.view
		t := bumped(parent.Trunk)
		t.Status = TrunkActive
		pl := trunkPlan{parent: parent, trunk: t}
		for _, pid := range portIDs {
			vlan := -1
			for k, sub := range t.SubPorts {
				if sub == pid {
					vlan = k
				}
			}
			p := v.ports[pid]
			if vlan < 0 || p == nil {
				return trunkPlan{}, newErr(ErrNotFound, "SubPortNotFound",
					"SubPort on trunk %s with parent port %s could not be found.", id, pid)
			}
			delete(t.SubPorts, vlan)
			pl.rewrites = append(pl.rewrites, portChange{p, detachSubport(p), v.heldAddrs(p)})
		}
		return pl, nil
	})
}

// DeleteTrunk removes trunk id; its subports become plain ports again
// (ML2/OVN lets a trunk with subports go).
func (s *Store) DeleteTrunk(ctx context.Context, sc Scope, id string) error {
	_, err := s.changeTrunk(ctx, sc, id, "delete", func(parent *Port) (trunkPlan, error) {
		if !parent.Trunk.AdminStateUp {
			return trunkPlan{}, trunkDisabled(id)
		}
		v := s.view
		pl := trunkPlan{parent: parent}
		for _, sp := range v.subportsOf(parent) {
			p := v.ports[sp.PortID]
			if p == nil {
				continue // gone from NB behind this server's back
			}
			pl.rewrites = append(pl.rewrites, portChange{p, detachSubport(p), v.heldAddrs(p)})
		}
		return pl, nil
	})
	return err
}

// trunkDetails is the trunk_details of p, nil unless p is a trunk's
// parent. Caller holds the view's read lock.
func (v *view) trunkDetails(p *Port) *TrunkDetails {
	if p.Trunk == nil {
		return nil
	}
	return &TrunkDetails{TrunkID: p.Trunk.ID, SubPorts: v.subportsOf(p)}
}

// trunkKeepsProfile refuses a binding:profile change that would move a
// trunk's subport to another parent or VLAN, or make a trunk's parent a
// container port: add_subports and remove_subports own those.
func trunkKeepsProfile(p *Port, prof *Profile) error {
	if p.SubportOf != "" {
		return newErr(ErrConflict, "PortInUseAsSubPort",
			"Port %s is currently a subport for trunk %s; change its parent and VLAN with remove_subports/add_subports.", p.ID, p.SubportOf)
	}
	if p.Trunk != nil && prof.ParentName != "" {
		return newErr(ErrConflict, "PortInUseAsTrunkParent",
			"Port %s is currently a parent port for trunk %s; it cannot become a container port.", p.ID, p.Trunk.ID)
	}
	return nil
}
