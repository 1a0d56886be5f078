package attach

// How a container's Neutron port becomes a child of the VM's port. Both
// modes end in the same Logical_Switch_Port shape (parent_name = the VM's
// port, tag = the VLAN), and both let Neutron refuse a VLAN already used
// under the VM's port: the attach then moves on to another VLAN.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// PortMode says how a container's port is made a child of the VM's port.
type PortMode string

const (
	// ModeTrunk: a plain port, added as a subport (segmentation type
	// vlan, id = the VLAN) of the trunk whose parent is the VM's port.
	// Neutron checks with the caller's credentials that the trunk's
	// parent and the subport are the caller's and that the VLAN is free
	// on the trunk; a stock cloud allows it to members, and subports
	// become ACTIVE.
	ModeTrunk PortMode = "trunk"
	// ModeBindingProfile: a port created with binding:profile
	// {parent_name, tag}. ovn-neutrond checks the parent's owner; real
	// Neutron does not, forbids binding:profile to members by default and
	// never makes such a port ACTIVE. The zero PortMode means this mode.
	ModeBindingProfile PortMode = "binding-profile"
)

// PortModeAuto asks for trunk mode where the cloud has the trunk
// extension, binding-profile mode elsewhere.
const PortModeAuto = "auto"

// ParsePortMode checks a --port-mode value: "auto" (or "") gives auto
// true and no mode.
func ParsePortMode(s string) (mode PortMode, auto bool, err error) {
	switch s {
	case "", PortModeAuto:
		return "", true, nil
	case string(ModeTrunk), string(ModeBindingProfile):
		return PortMode(s), false, nil
	}
	return "", false, fmt.Errorf("port mode %q: want %s, %s or %s", s, PortModeAuto, ModeTrunk, ModeBindingProfile)
}

func (a *Attacher) trunkMode() bool { return a.Mode == ModeTrunk }

// maxVLANMoves bounds how often one attach moves to another VLAN because
// Neutron holds the claimed one under the VM's port.
const maxVLANMoves = 16

// ErrVLANTaken: Neutron kept refusing the VLANs claimed, as used under the
// VM's port by ports this VM's OVS knows nothing of.
var ErrVLANTaken = errors.New("VLAN already used under the VM's port in Neutron")

// TrunkName is the name of trunks the plugin creates on VM ports.
const TrunkName = "ovn-docker"

// ChildMarker is the description of ports made in trunk mode: it says
// whose child they are meant to be, so that gc recognises its own ports
// (a subport's device_owner and binding are Neutron's, and its
// binding:profile is hidden from members).
func ChildMarker(vifID string) string { return "ovn-docker child of " + vifID }

// childDescription is a trunk-mode port's description: the marker and the
// access port (the VLAN claim) it is made for. A port whose claim is gone
// is an orphan whatever its age; one whose claim exists belongs to an
// attach or fill in progress. (Claims precede their ports and outlive
// them.)
func childDescription(vifID, accessPort string) string {
	return ChildMarker(vifID) + " via " + accessPort
}

// IsChildDescription: desc marks a port made in trunk mode as a child of
// vifID's port.
func IsChildDescription(desc, vifID string) bool {
	return desc == ChildMarker(vifID) || strings.HasPrefix(desc, ChildMarker(vifID)+" via ")
}

// claimOf is the access port named in the description of a trunk-mode
// port of this VM; "" for ports made before descriptions named it.
func (a *Attacher) claimOf(p cloud.Port) string {
	name, _ := strings.CutPrefix(p.Description, ChildMarker(a.VM.VIFID)+" via ")
	if name == p.Description {
		return ""
	}
	return name
}

// childSpec is the port to make.
type childSpec struct {
	networkID, name, deviceID string
	fixedIP                   netip.Addr // valid: the address asked for
	groups                    []string   // security group ids; nil: the default
	dnsName                   string     // "": none
}

// newChild makes the Neutron port of the claimed access port *ap and makes
// it a child of the VM's port with ap's VLAN. When Neutron says that VLAN
// is used under the VM's port already, it claims another VLAN (skipping
// those Neutron holds) and updates *ap. Undo steps for what it made are
// pushed on undo (a subport's removal after its port's deletion, so that
// they run first); the claim's own undo must read *ap when it runs.
func (a *Attacher) newChild(ctx context.Context, ap *AccessPort, spec childSpec, undo *[]func(context.Context) error) (cloud.Port, error) {
	if a.trunkMode() {
		return a.newSubport(ctx, ap, spec, undo)
	}
	nc := context.WithoutCancel(ctx)
	avoid := map[int]bool{}
	for moves := 0; ; moves++ {
		port, err := a.Cloud.CreateChildPort(nc, cloud.ChildPortOpts{
			NetworkID: spec.networkID, Name: spec.name, ParentID: a.VM.VIFID, Tag: ap.VLAN, DeviceID: spec.deviceID, FixedIP: spec.fixedIP,
			SecurityGroups: spec.groups, DNSName: spec.dnsName,
		})
		if err == nil {
			*undo = append(*undo, func(ctx context.Context) error { return a.Cloud.DeletePort(ctx, port.ID) })
			return port, nil
		}
		// Without an address asked for, the create names no address and no
		// MAC: a conflict is the tag.
		if !errors.Is(err, cloud.ErrConflict) || spec.fixedIP.IsValid() {
			return cloud.Port{}, err
		}
		if moves == maxVLANMoves {
			return cloud.Port{}, fmt.Errorf("%w: %w", ErrVLANTaken, err)
		}
		avoid[ap.VLAN] = true
		maps.Copy(avoid, a.profileTags(nc))
		if err := a.moveVLAN(ctx, ap, avoid); err != nil {
			return cloud.Port{}, err
		}
	}
}

// profileTags: the tags of the ports Neutron shows as binding:profile
// children of the VM's port (real Neutron shows a member none).
func (a *Attacher) profileTags(ctx context.Context) map[int]bool {
	ps, err := a.Cloud.ListPorts(ctx, cloud.PortFilter{})
	if err != nil {
		a.log().Warn("listing the children of the VM's port", "err", err)
		return nil
	}
	out := map[int]bool{}
	for _, p := range ps {
		if p.ParentName == a.VM.VIFID && p.Tag > 0 {
			out[p.Tag] = true
		}
	}
	return out
}

// newSubport is newChild in trunk mode: a plain port (recorded on the
// access port at once, so a crash leaves nothing gc cannot find), then
// add_subports on the VM's trunk.
func (a *Attacher) newSubport(ctx context.Context, ap *AccessPort, spec childSpec, undo *[]func(context.Context) error) (cloud.Port, error) {
	nc := context.WithoutCancel(ctx)
	port, err := a.Cloud.CreatePort(nc, cloud.PortOpts{NetworkID: spec.networkID, Name: spec.name, Description: childDescription(a.VM.VIFID, ap.Name), FixedIP: spec.fixedIP,
		SecurityGroups: spec.groups, DNSName: spec.dnsName})
	if err != nil {
		return cloud.Port{}, err
	}
	// removeChild, not only DeletePort: an add_subports that failed on
	// our side (a timeout) may have been done by Neutron all the same,
	// and Neutron refuses to delete a subport.
	*undo = append(*undo, func(ctx context.Context) error { return a.removeChild(ctx, AccessPort{VLAN: ap.VLAN}, port.ID) })
	if err := a.setIDs(nc, ap, map[string]string{KeyPort: port.ID}); err != nil {
		return cloud.Port{}, err
	}
	if err := interrupted(ctx); err != nil {
		return cloud.Port{}, err
	}
	trunk, known, err := a.vmTrunk(nc)
	if err != nil {
		return cloud.Port{}, err
	}
	avoid := map[int]bool{}
	for moves := 0; ; {
		err := a.Cloud.AddSubport(nc, trunk.ID, port.ID, ap.VLAN)
		if errors.Is(err, cloud.ErrNotFound) && known {
			// The recorded trunk is gone (deleted with its subports by
			// someone): find or make the VM's trunk again.
			a.forgetTrunk()
			if trunk, err = a.ensureTrunk(nc); err != nil {
				return cloud.Port{}, err
			}
			known = false
			continue
		}
		if errors.Is(err, cloud.ErrConflict) {
			t, gerr := a.Cloud.GetTrunk(nc, trunk.ID)
			if gerr != nil {
				return cloud.Port{}, errors.Join(err, gerr)
			}
			switch holder := t.VLANHolder(ap.VLAN); holder {
			case port.ID:
				err = nil // added after all (a retried request)
			case "":
				return cloud.Port{}, err // not the VLAN: e.g. the trunk is disabled
			default:
				if moves == maxVLANMoves {
					return cloud.Port{}, fmt.Errorf("%w: %w", ErrVLANTaken, err)
				}
				moves++
				avoid[ap.VLAN] = true
				for _, s := range t.Subports {
					avoid[s.VLAN] = true
				}
				a.log().Info("VLAN used on the VM's trunk by another port; moving on", "vlan", ap.VLAN, "holder", holder, "trunk", t.ID)
				if err := a.moveVLAN(ctx, ap, avoid); err != nil {
					return cloud.Port{}, err
				}
				continue
			}
		}
		if err != nil {
			return cloud.Port{}, err
		}
		trunkID := trunk.ID
		*undo = append(*undo, func(ctx context.Context) error { return a.Cloud.RemoveSubport(ctx, trunkID, port.ID) })
		if err := a.setIDs(nc, ap, map[string]string{KeyTrunk: trunkID}); err != nil {
			return cloud.Port{}, err
		}
		return port, nil
	}
}

// setIDs records ids on ap, in OVSDB and in ap itself.
func (a *Attacher) setIDs(ctx context.Context, ap *AccessPort, ids map[string]string) error {
	if err := a.Switch.SetExternalIDs(ctx, ap.Name, ids); err != nil {
		return fmt.Errorf("recording %v on OVS port %s: %w", ids, ap.Name, err)
	}
	ap.ExternalIDs = maps.Clone(ap.ExternalIDs)
	if ap.ExternalIDs == nil {
		ap.ExternalIDs = map[string]string{}
	}
	setIDsIn(ap.ExternalIDs, ids)
	return nil
}

func setIDsIn(m, ids map[string]string) {
	for k, v := range ids {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// moveVLAN claims another VLAN, none of avoid, with *ap's external_ids,
// releases *ap's, and makes *ap the new claim.
func (a *Attacher) moveVLAN(ctx context.Context, ap *AccessPort, avoid map[int]bool) error {
	if err := interrupted(ctx); err != nil {
		return err
	}
	nc := context.WithoutCancel(ctx)
	nap, err := a.Switch.ClaimVLAN(nc, a.VM.Bridge, ap.ExternalIDs, avoid)
	if err != nil {
		if nap.Name != "" {
			_ = a.Switch.Release(nc, nap.Name)
		}
		return fmt.Errorf("claiming another VLAN on bridge %s: %w", a.VM.Bridge, err)
	}
	if err := a.Switch.Release(nc, ap.Name); err != nil {
		a.log().Warn("releasing the VLAN Neutron refused; `ovn-docker gc` will", "ovs_port", ap.Name, "err", err)
	}
	a.log().Debug("moved to another VLAN", "from", ap.VLAN, "to", nap.VLAN)
	*ap = nap
	return nil
}

// vmTrunk is the trunk of the VM's port: the one this process or an
// access port of this VM recorded (known: it may be gone since), else
// found or made in Neutron.
func (a *Attacher) vmTrunk(ctx context.Context) (t cloud.Trunk, known bool, err error) {
	a.mu.Lock()
	id := a.trunkID
	a.mu.Unlock()
	if id == "" && a.Pool != nil {
		if ids, err := a.Pool.BridgeExternalIDs(ctx, a.VM.Bridge); err == nil {
			id = ids[KeyTrunkPrefix+a.VM.VIFID]
		}
	}
	if id == "" {
		if aps, err := a.Switch.AccessPorts(ctx); err == nil {
			for _, ap := range aps {
				if ids := ap.ExternalIDs; ids[KeyVIF] == a.VM.VIFID && ids[KeyTrunk] != "" {
					id = ids[KeyTrunk]
					break
				}
			}
		}
	}
	if id != "" {
		return cloud.Trunk{ID: id, PortID: a.VM.VIFID}, true, nil
	}
	t, err = a.ensureTrunk(ctx)
	return t, false, err
}

func (a *Attacher) ensureTrunk(ctx context.Context) (cloud.Trunk, error) {
	t, err := a.Cloud.EnsureTrunk(ctx, a.VM.VIFID, TrunkName)
	if err != nil {
		return cloud.Trunk{}, fmt.Errorf("the trunk of the VM's port %s: %w", a.VM.VIFID, err)
	}
	a.mu.Lock()
	a.trunkID = t.ID
	a.mu.Unlock()
	if a.Pool != nil {
		if err := a.Pool.SetBridgeExternalIDs(ctx, a.VM.Bridge, map[string]string{KeyTrunkPrefix + a.VM.VIFID: t.ID}); err != nil {
			a.log().Warn("recording the VM's trunk on the bridge", "trunk", t.ID, "err", err)
		}
	}
	return t, nil
}

func (a *Attacher) forgetTrunk() {
	a.mu.Lock()
	a.trunkID = ""
	a.mu.Unlock()
}

// removeChild undoes newChild for a recorded access port: off the trunk
// (if it is a subport), then the port. Missing ones are fine.
func (a *Attacher) removeChild(ctx context.Context, ap AccessPort, portID string) error {
	trunkID := ap.ExternalIDs[KeyTrunk]
	if trunkID != "" {
		if err := a.Cloud.RemoveSubport(ctx, trunkID, portID); err != nil {
			return fmt.Errorf("removing port %s of %s from trunk %s: %w", portID, ap.Name, trunkID, err)
		}
	}
	err := a.Cloud.DeletePort(ctx, portID)
	if errors.Is(err, cloud.ErrConflict) && trunkID == "" && a.VM.VIFID != "" {
		// A subport not recorded as one (a crash between add_subports and
		// the record): Neutron refuses to delete it while on the trunk.
		t, ferr := a.Cloud.FindTrunk(ctx, a.VM.VIFID)
		if ferr == nil && t.VLANHolder(ap.VLAN) == portID {
			if rerr := a.Cloud.RemoveSubport(ctx, t.ID, portID); rerr != nil {
				return rerr
			}
			err = a.Cloud.DeletePort(ctx, portID)
		}
	}
	if err != nil {
		return fmt.Errorf("deleting Neutron port %s of %s: %w", portID, ap.Name, err)
	}
	return nil
}

// isOurChild: a port the plugin made as a child of this VM's port in
// trunk mode (by its description), or a container port (by device_owner)
// in binding-profile mode.
func (a *Attacher) isOurChild(p cloud.Port) bool {
	return IsChildDescription(p.Description, a.VM.VIFID) ||
		(cloud.IsContainerOwner(p.DeviceOwner) && p.ParentName == a.VM.VIFID) ||
		(p.ParentName == a.VM.VIFID && strings.HasPrefix(p.Name, "ovn-docker-"))
}
