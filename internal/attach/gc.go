package attach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// createSettle is how long after its VLAN claim a port create sent by a
// process that was killed since may still complete in the cloud (real
// Neutron completed one 3 s after the kill, under load). GC waits until
// then before it looks for orphaned ports, so that one gc after a crash
// finds them all; a port completing even later is still found by a later
// gc (its description names its claim, which is gone).
const createSettle = 10 * time.Second

// inFlightUntil: until when a port create of the dead, unfinished claim ap
// may still complete (zero if its port is known or it predates
// KeyClaimed).
func inFlightUntil(ap AccessPort) time.Time {
	if ap.ExternalIDs[KeyPort] != "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(ap.ExternalIDs[KeyClaimed], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).Add(createSettle)
}

// claimedNow is KeyClaimed's value for a claim made now.
func claimedNow() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

// settle is the latest inFlightUntil of the claims a GC removed.
type settle struct{ until time.Time }

func (s *settle) note(ap AccessPort) {
	if t := inFlightUntil(ap); t.After(s.until) {
		s.until = t
	}
}

// wait sleeps until every create noted may have completed.
func (s *settle) wait(ctx context.Context, log *slog.Logger) error {
	d := time.Until(s.until)
	if d <= 0 {
		return nil
	}
	log.Info("gc: waiting for port creates a killed command may have left in flight in the cloud", "wait", d.Round(time.Millisecond))
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Alive reports whether the owner of an attachment (its container, or its
// netns when there is no container) still exists.
type Alive func(ctx context.Context, at Attachment) (bool, error)

// NetnsAlive is the Alive for attachments without a container: the netns
// path must still exist.
func NetnsAlive(_ context.Context, at Attachment) (bool, error) {
	_, err := os.Stat(at.NetnsPath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// GCReport says what GC removed.
type GCReport struct {
	Detached      []string `json:"detached_ovs_ports"` // access ports (with their veth and Neutron port)
	OrphanedPorts []string `json:"deleted_neutron_ports"`
	// Pool entries: half-made or broken ones removed (OVS port and
	// Neutron port), interrupted returns finished.
	PoolRemoved   []string `json:"removed_pool_ports,omitempty"`
	PoolRecovered []string `json:"recovered_pool_ports,omitempty"`
	// ForeignChildren: children of the VM's port (binding:profile
	// children or trunk subports) that this plugin did not make, as
	// "<port id> (VLAN <n>)". They are never deleted, but their VLANs are
	// not available to containers of this VM.
	ForeignChildren []string `json:"foreign_children,omitempty"`
}

// GC reconciles the VM's OVS with its owners and with Neutron:
//   - access ports whose owner is gone, whose attach crashed midway, or
//     whose Neutron port has vanished are detached;
//   - pool entries left half-made by a crash (of fill, drain or a return
//     to the pool) are finished (a return) or removed, and so are ready
//     entries whose Neutron port is gone or whose record is incomplete;
//   - child ports of this VM's port in Neutron that the plugin made and no
//     access port claims (by port id, by the claim their description
//     names in trunk mode, or by VLAN for binding:profile children made
//     before their id was recorded) are deleted, after their removal from
//     the trunk in trunk mode; children someone else made are reported,
//     never deleted. A claim removed here whose port create may still be
//     in flight (its process was killed moments ago) makes GC wait for it
//     first (createSettle).
//
// Attaches in progress (state "attaching", their process alive) are left
// alone.
//
// Neutron ports younger than grace are left alone too when their claim is
// not known (binding:profile children, ports made by older versions), as
// a second guard against racing an attach.
func (a *Attacher) GC(ctx context.Context, alive Alive, grace time.Duration) (GCReport, error) {
	var rep GCReport
	atts, err := a.List(ctx, false)
	if err != nil {
		return rep, err
	}
	aps, err := a.ours(ctx)
	if err != nil {
		return rep, err
	}
	byName := map[string]AccessPort{}
	for _, ap := range aps {
		byName[ap.Name] = ap
	}
	var errs []error
	var inFlight settle
	keep := map[int]bool{} // VLANs still in use after this pass
	for _, at := range atts {
		ap := byName[at.PortName]
		dead, why, err := a.deadAttachment(ctx, at, ap, alive)
		if err != nil {
			errs = append(errs, err)
			keep[at.VLAN] = true
			continue
		}
		if !dead {
			keep[at.VLAN] = true
			continue
		}
		a.log().Info("gc: detaching", "ovs_port", at.PortName, "why", why)
		inFlight.note(ap)
		if err := a.detachOne(ctx, ap); err != nil {
			errs = append(errs, err)
			keep[at.VLAN] = true
			continue
		}
		rep.Detached = append(rep.Detached, at.PortName)
	}
	if a.Pool != nil {
		errs = append(errs, a.gcPool(ctx, &rep, &inFlight))
	}
	if a.VM.VIFID == "" {
		return rep, errors.Join(errs...)
	}
	if err := inFlight.wait(ctx, a.log()); err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	// Ready pool entries read before the port list: their ports were made
	// before it, so one missing from it is gone.
	var ready []AccessPort
	if a.Pool != nil {
		es, err := a.poolEntries(ctx)
		if err != nil {
			return rep, errors.Join(append(errs, err)...)
		}
		for _, e := range es {
			if e.ExternalIDs[KeyState] == statePool {
				ready = append(ready, e)
			}
		}
	}
	// All the project's ports: the plugin's own are told by marks (see
	// isOurChild), the others are reported when they are children of
	// this VM's port.
	ps, err := a.Cloud.ListPorts(ctx, cloud.PortFilter{})
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	exists := map[string]bool{}
	for _, p := range ps {
		exists[p.ID] = true
	}
	for _, e := range ready {
		if exists[e.ExternalIDs[KeyPort]] {
			continue
		}
		a.log().Info("gc: removing pool port", "ovs_port", e.Name, "why", "Neutron port gone")
		if ok, err := a.drainEntry(ctx, e); err != nil {
			errs = append(errs, err)
		} else if ok {
			rep.PoolRemoved = append(rep.PoolRemoved, e.Name)
		}
	}
	// The trunk is read after the ports, so a subport added since is
	// not mistaken for one of another project.
	var trunk cloud.Trunk
	if a.trunkMode() {
		trunk, err = a.Cloud.FindTrunk(ctx, a.VM.VIFID)
		if err != nil && !errors.Is(err, cloud.ErrNotFound) {
			return rep, errors.Join(append(errs, err)...)
		}
	}
	// VLANs are claimed, and in trunk mode the port recorded, before a
	// port becomes a child, so access ports read after the port list
	// cover every port of an attach or fill in progress.
	all, err := a.vmPorts(ctx)
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	recorded := map[string]bool{}
	claims := map[string]bool{}
	for _, ap := range all {
		claims[ap.Name] = true
		keep[ap.VLAN] = true
		if id := ap.ExternalIDs[KeyPort]; id != "" {
			recorded[id] = true
		}
	}
	subVLAN := map[string]int{}
	for _, s := range trunk.Subports {
		subVLAN[s.PortID] = s.VLAN
		if !exists[s.PortID] {
			rep.ForeignChildren = append(rep.ForeignChildren, fmt.Sprintf("%s (VLAN %d, on trunk %s, not a port of this project)", s.PortID, s.VLAN, trunk.ID))
		}
	}
	now := time.Now()
	for _, p := range ps {
		vlan, sub := subVLAN[p.ID]
		if !sub {
			vlan = p.Tag
		}
		ours := a.isOurChild(p)
		if !ours {
			if sub || p.ParentName == a.VM.VIFID {
				a.log().Warn("gc: a child of the VM's port that ovn-docker did not make; leaving it", "port", p.ID, "name", p.Name, "vlan", vlan)
				rep.ForeignChildren = append(rep.ForeignChildren, fmt.Sprintf("%s (VLAN %d)", p.ID, vlan))
			}
			continue
		}
		if recorded[p.ID] {
			continue
		}
		if via := a.claimOf(p); via != "" {
			if claims[via] {
				continue // made by an attach or fill in progress
			}
		} else if (p.Description != ChildMarker(a.VM.VIFID) && keep[vlan]) ||
			(!p.CreatedAt.IsZero() && now.Sub(p.CreatedAt) < grace) {
			continue // maybe another VM-local process is just making it
		}
		a.log().Info("gc: deleting orphaned Neutron port", "port", p.ID, "vlan", vlan)
		if sub {
			if err := a.Cloud.RemoveSubport(ctx, trunk.ID, p.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := a.Cloud.DeletePort(ctx, p.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.OrphanedPorts = append(rep.OrphanedPorts, p.ID)
	}
	return rep, errors.Join(errs...)
}

// gcPool finishes or removes pool entries whose process died midway, and
// removes ready entries whose record is incomplete.
func (a *Attacher) gcPool(ctx context.Context, rep *GCReport, inFlight *settle) error {
	es, err := a.poolEntries(ctx)
	if err != nil {
		return err
	}
	var errs []error
	pid := a.pid()
	for _, e := range es {
		ids := e.ExternalIDs
		state := ids[KeyState]
		if state == statePool {
			if _, perr := parsePortData(ids); perr != nil {
				a.log().Info("gc: removing pool port", "ovs_port", e.Name, "why", "incomplete record: "+perr.Error())
			} else if why := a.brokenParking(ctx, e); why != "" {
				a.log().Info("gc: removing pool port", "ovs_port", e.Name, "why", why)
			} else {
				continue
			}
			if ok, err := a.drainEntry(ctx, e); err != nil {
				errs = append(errs, err)
			} else if ok {
				rep.PoolRemoved = append(rep.PoolRemoved, e.Name)
			}
			continue
		}
		if alivePID(e) {
			continue // in progress
		}
		if state == stateReturning && a.poolTarget(ctx, keyOf(e)) > 0 {
			claimed, err := a.returnToPool(ctx, e)
			if err == nil {
				a.log().Info("gc: finished returning pool port", "ovs_port", e.Name)
				rep.PoolRecovered = append(rep.PoolRecovered, e.Name)
				continue
			}
			if !claimed {
				if !errors.Is(err, ErrPortTaken) {
					errs = append(errs, err)
				}
				continue
			}
			a.log().Warn("gc: finishing a return to the pool failed; removing the port", "ovs_port", e.Name, "err", err)
			e.ExternalIDs = maps.Clone(ids)
			e.ExternalIDs[KeyPID] = pid
		} else {
			// Take it over, so no other gc removes it at the same time.
			err := a.Pool.UpdateExternalIDsIf(ctx, e.Name, map[string]string{KeyState: state, KeyPID: ids[KeyPID]},
				map[string]string{KeyState: stateDraining, KeyPID: pid})
			if errors.Is(err, ErrPortTaken) {
				continue
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
		}
		a.log().Info("gc: removing pool port", "ovs_port", e.Name, "why", state+" did not finish")
		inFlight.note(e)
		if err := a.removeEntry(ctx, e); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.PoolRemoved = append(rep.PoolRemoved, e.Name)
	}
	return errors.Join(errs...)
}

// brokenParking says what is wrong with the parked veth of the ready
// entry e ("": nothing, or e has none): an end missing. A VM end that
// ovs-vswitchd set down is set up again, which repairs it.
func (a *Attacher) brokenParking(ctx context.Context, e AccessPort) string {
	peer := e.ExternalIDs[KeyParked]
	li, ok := a.Links.(LinkInspector)
	if peer == "" || !ok {
		return ""
	}
	for _, name := range []string{peer, e.Name} {
		in, err := li.LinkExists(ctx, name)
		if err != nil {
			a.log().Warn("gc: checking a pool port's parked veth", "ovs_port", e.Name, "link", name, "err", err)
			return ""
		}
		if !in {
			return "parked veth end " + name + " missing"
		}
	}
	a.ensureVMEndUp(ctx, e.Name, e.ExternalIDs[KeyPort])
	return ""
}

func (a *Attacher) deadAttachment(ctx context.Context, at Attachment, ap AccessPort, alive Alive) (bool, string, error) {
	if at.State != stateReady {
		if alivePID(ap) {
			return false, "", nil
		}
		return true, "attach did not finish", nil
	}
	ok, err := alive(ctx, at)
	if err != nil {
		return false, "", fmt.Errorf("checking the owner of %s: %w", at.PortName, err)
	}
	if !ok {
		return true, "owner gone", nil
	}
	if at.PortID == "" {
		return true, "no Neutron port", nil
	}
	if _, err := a.Cloud.GetPort(ctx, at.PortID); errors.Is(err, cloud.ErrNotFound) {
		return true, "Neutron port gone", nil
	} else if err != nil {
		return false, "", err
	}
	return false, "", nil
}
