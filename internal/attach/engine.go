package attach

// Attachments for a container engine that makes the namespace and moves
// the interface itself (Docker's libnetwork). The engine asks for an
// address first (Reserve: a VLAN claimed and a Neutron child port made or
// taken from the pool, its address handed to the engine), then creates
// the endpoint and joins it to a container (Plug with a hand-off: the veth
// pair is made in the VM, proven, and its free end left for the engine to
// move into the container; a pool entry's parked veth is handed over as
// is), and later leaves (Unplug: the veth is
// deleted) and releases the address (Free: the port goes back to the pool
// or is deleted, the VLAN released).
//
// Such an entry is an access port with KeyEngineRef and no KeyNetns: the
// CLI's attachments and GC never take it for one of theirs (its owner is
// the engine, which only the daemon asks), and GC keeps its Neutron port
// and VLAN because the access port records them.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// Keys of engine entries.
const (
	// KeyEngineRef: the engine's reference for the address (pool and
	// address), set while the entry is the engine's.
	KeyEngineRef = "ovn-docker:engine-ref"
	// KeyEndpoint: the engine's endpoint using the entry.
	KeyEndpoint = "ovn-docker:endpoint"
	// KeyPeer: the free end of the veth, handed to the engine.
	KeyPeer = "ovn-docker:peer"
)

// States of engine entries (KeyState).
const (
	stateReserving = "reserving" // Reserve in progress (KeyPID)
	stateReserved  = "reserved"  // the engine holds the address, no veth (or a pool entry's parked one)
	statePlugging  = "plugging"  // Plug in progress (KeyPID)
)

// ErrNoEntry: no engine entry matches.
var ErrNoEntry = errors.New("no such address reservation")

// ReserveRequest asks for an address on a network.
type ReserveRequest struct {
	NetworkID string
	// IP, if valid, is the address asked for; the pool is not used then.
	IP netip.Addr
	// Ref is the engine's reference, recorded on the entry (KeyEngineRef).
	Ref string
	// SecurityGroups (ids, or names of the project's groups) are the
	// port's; none: the project's default group. See Request.
	SecurityGroups []string
}

// Entry is an engine entry as the engine needs it.
type Entry struct {
	PortName  string
	VLAN      int
	NetworkID string
	PortID    string
	Ref       string
	Endpoint  string
	Peer      string
	State     string
	Config    IfaceConfig // MAC, Addresses, Gateways, MTU
	PID       string
}

func entryOf(ap AccessPort) Entry {
	ids := ap.ExternalIDs
	e := Entry{
		PortName: ap.Name, VLAN: ap.VLAN, NetworkID: ids[KeyNetwork], PortID: ids[KeyPort],
		Ref: ids[KeyEngineRef], Endpoint: ids[KeyEndpoint], Peer: ids[KeyPeer], State: ids[KeyState], PID: ids[KeyPID],
	}
	if d, err := parsePortData(ids); err == nil {
		e.Config = d.cfg
	}
	return e
}

// Attachment is the entry plugged into container, on its Docker network
// network, as ifName there: what doctor walks.
func (e Entry) Attachment(container, network, ifName string) Attachment {
	at := Attachment{
		PortName: e.PortName, VLAN: e.VLAN, ContainerID: container, IfName: ifName,
		NetworkID: e.NetworkID, NetworkName: network, PortID: e.PortID, State: e.State, Endpoint: e.Endpoint,
		Addresses: e.Config.Addresses, Gateways: e.Config.Gateways, MTU: e.Config.MTU,
	}
	if e.Config.MAC != nil {
		at.MAC = e.Config.MAC.String()
	}
	return at
}

// EngineEntries lists this VM's engine entries.
func (a *Attacher) EngineEntries(ctx context.Context) ([]Entry, error) {
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, ap := range aps {
		if ap.ExternalIDs[KeyEngineRef] != "" && !isAttachment(ap) {
			out = append(out, entryOf(ap))
		}
	}
	return out, nil
}

func (a *Attacher) engineEntry(ctx context.Context, match func(map[string]string) bool) (AccessPort, error) {
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return AccessPort{}, err
	}
	for _, ap := range aps {
		if ap.ExternalIDs[KeyEngineRef] != "" && !isAttachment(ap) && match(ap.ExternalIDs) {
			return ap, nil
		}
	}
	return AccessPort{}, ErrNoEntry
}

// Reserve gives the engine an address on req.NetworkID: a ready pool
// port of the network if there is one (no Neutron call), else a new
// child port of the VM's port with a VLAN of its own, ACTIVE (trunk mode)
// before Reserve returns. On failure nothing is left.
func (a *Attacher) Reserve(ctx context.Context, req ReserveRequest) (Entry, error) {
	if a.VM.VIFID == "" {
		return Entry{}, fmt.Errorf("%w: container ports are children of the VM's port: pass --vif-id", ErrNoVIF)
	}
	groups := groupsKey(req.SecurityGroups)
	if !allIDs(req.SecurityGroups) {
		ids, err := a.resolveGroups(ctx, req.SecurityGroups)
		if err != nil {
			return Entry{}, err
		}
		groups = groupsKey(ids)
	}
	if !req.IP.IsValid() {
		if e, ok, err := a.reserveFromPool(ctx, req, groups); ok || err != nil {
			return e, err
		}
	}
	return a.reserveNew(ctx, req, groups)
}

func (a *Attacher) reserveFromPool(ctx context.Context, req ReserveRequest, groups string) (Entry, bool, error) {
	if a.Pool == nil {
		return Entry{}, false, nil
	}
	cands, err := a.candidates(ctx, req.NetworkID, groups)
	if err != nil || len(cands) == 0 {
		return Entry{}, false, err
	}
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	preferParked(cands, true) // the engine moves the parked end itself
	for _, e := range cands {
		take := map[string]string{KeyState: stateReserved, KeyPID: "", KeyEngineRef: req.Ref}
		err := a.Pool.UpdateExternalIDsIf(context.WithoutCancel(ctx), e.Name, map[string]string{KeyState: statePool, KeyPort: e.ExternalIDs[KeyPort]}, take)
		if errors.Is(err, ErrPortTaken) {
			continue
		}
		if err != nil {
			return Entry{}, false, fmt.Errorf("taking pool port %s: %w", e.Name, err)
		}
		e.ExternalIDs = maps.Clone(e.ExternalIDs)
		setIDsIn(e.ExternalIDs, take)
		a.log().InfoContext(ctx, "address reserved from the pool", "ovs_port", e.Name, "port", e.ExternalIDs[KeyPort], "ref", req.Ref)
		return entryOf(e), true, nil
	}
	return Entry{}, false, nil
}

func (a *Attacher) reserveNew(ctx context.Context, req ReserveRequest, groups string) (_ Entry, err error) {
	nw, err := a.Cloud.GetNetwork(ctx, req.NetworkID)
	if err != nil {
		return Entry{}, err
	}
	mtu, err := a.networkMTU(nw)
	if err != nil {
		return Entry{}, err
	}
	var undo []func(context.Context) error
	defer func() {
		if err != nil {
			a.rollback(ctx, undo)
		}
	}()
	nc := context.WithoutCancel(ctx)
	// Made like a pool port where the network has a pool, so that it can
	// join the pool when the engine releases it.
	pooled := a.Pool != nil && a.poolTarget(ctx, poolKey{network: nw.ID, groups: groups}) > 0 && !req.IP.IsValid()
	ap, err := a.Switch.ClaimVLAN(nc, a.VM.Bridge, map[string]string{
		KeyNetwork: nw.ID, KeyNetworkName: nw.Name, KeyVIF: a.VM.VIFID, KeyVIFMAC: a.VM.MAC, KeyProject: a.Cloud.ProjectID(),
		KeyState: stateReserving, KeyPID: a.pid(), KeyEngineRef: req.Ref, KeySecurityGroups: groups, KeyClaimed: claimedNow(),
	}, nil)
	if err != nil {
		if ap.Name != "" {
			_ = a.Switch.Release(nc, ap.Name)
		}
		return Entry{}, fmt.Errorf("claiming a VLAN on bridge %s: %w", a.VM.Bridge, err)
	}
	undo = append(undo, func(ctx context.Context) error { return a.Switch.Release(ctx, ap.Name) })
	if err := interrupted(ctx); err != nil {
		return Entry{}, err
	}
	spec := childSpec{networkID: nw.ID, name: "ovn-docker-" + ap.Name, fixedIP: req.IP, groups: groupsOf(groups)}
	if pooled {
		spec.name = PoolPortName
	}
	port, err := a.newChild(ctx, &ap, spec, &undo)
	if err != nil {
		return Entry{}, err
	}
	d, err := a.entryPortData(nw, port, mtu)
	if err != nil {
		return Entry{}, err
	}
	ids := d.ids()
	ids[KeyPort] = port.ID
	if pooled {
		ids[KeyPooled] = "true"
	}
	if err := a.setIDs(nc, &ap, ids); err != nil {
		return Entry{}, err
	}
	if _, err := a.waitActiveIfReported(ctx, port); err != nil {
		return Entry{}, err
	}
	if err := a.setIDs(nc, &ap, map[string]string{KeyState: stateReserved, KeyPID: ""}); err != nil {
		return Entry{}, err
	}
	a.log().InfoContext(ctx, "address reserved", "ovs_port", ap.Name, "vlan", ap.VLAN, "port", port.ID, "ref", req.Ref)
	return entryOf(ap), nil
}

// SetEndpoint records the engine's endpoint on the entry whose reference
// is ref ("" endpoint: clears it).
func (a *Attacher) SetEndpoint(ctx context.Context, ref, endpoint string) (Entry, error) {
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEngineRef] == ref })
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", ref, err)
	}
	if err := a.setIDs(ctx, &ap, map[string]string{KeyEndpoint: endpoint}); err != nil {
		return Entry{}, err
	}
	return entryOf(ap), nil
}

// EntryByEndpoint finds the entry of an endpoint.
func (a *Attacher) EntryByEndpoint(ctx context.Context, endpoint string) (Entry, error) {
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEndpoint] == endpoint })
	if err != nil {
		return Entry{}, fmt.Errorf("endpoint %s: %w", endpoint, err)
	}
	return entryOf(ap), nil
}

// PeerName is the name of the free end of an entry's veth: the access
// port's name with another prefix, so unique like it.
func PeerName(portName string) string { return "ovc" + portName[min(3, len(portName)):] }

// Plug makes the veth of the endpoint's entry: the VM end is the access
// port, the other end (returned in Entry.Peer) stays in the VM with the
// port's MAC and MTU (and TX checksum offload off on a userspace-datapath
// bridge), without addresses, for the engine to move into the container
// and address. The data path is proven from that end before Plug
// returns, so the container's first packet goes through. On failure the
// veth is deleted and the entry stays reserved.
func (a *Attacher) Plug(ctx context.Context, endpoint string) (_ Entry, err error) {
	if a.Pool == nil {
		return Entry{}, fmt.Errorf("%w: plugging an engine's endpoint needs guarded OVSDB updates", ErrNoPool)
	}
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEndpoint] == endpoint })
	if err != nil {
		return Entry{}, fmt.Errorf("endpoint %s: %w", endpoint, err)
	}
	d, err := parsePortData(ap.ExternalIDs)
	if err != nil {
		return Entry{}, fmt.Errorf("OVS port %s: %w", ap.Name, err)
	}
	peer := PeerName(ap.Name)
	plugging := map[string]string{KeyState: statePlugging, KeyPID: a.pid(), KeyPeer: peer}
	if err := a.Pool.UpdateExternalIDsIf(context.WithoutCancel(ctx), ap.Name, map[string]string{KeyState: stateReserved, KeyEndpoint: endpoint}, plugging); err != nil {
		return Entry{}, fmt.Errorf("endpoint %s (OVS port %s, state %s): %w", endpoint, ap.Name, ap.ExternalIDs[KeyState], err)
	}
	ap.ExternalIDs = maps.Clone(ap.ExternalIDs)
	setIDsIn(ap.ExternalIDs, plugging)
	defer func() {
		if err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if derr := a.Links.DeleteLink(rctx, ap.Name); derr != nil {
				a.log().WarnContext(ctx, "rollback: deleting veth failed", "veth", ap.Name, "err", derr)
			}
			if serr := a.Switch.SetExternalIDs(rctx, ap.Name, map[string]string{KeyState: stateReserved, KeyPID: "", KeyPeer: "", KeyParked: ""}); serr != nil {
				a.log().WarnContext(ctx, "rollback: marking the entry reserved failed", "ovs_port", ap.Name, "err", serr)
			}
		}
	}()
	cfg := d.cfg
	cfg.Name = peer
	cfg.Addresses, cfg.Gateways = nil, nil
	cfg.DisableTxChecksum = a.VM.DatapathType == "netdev"
	if err := interrupted(ctx); err != nil {
		return Entry{}, err
	}
	if a.parkedReady(ctx, ap, peer) {
		// A pool entry's veth, parked and proven at fill time: the
		// engine moves its free end; nothing to make, wait for or probe.
		if err := a.setIDs(ctx, &ap, map[string]string{KeyState: stateReady, KeyPID: "", KeyParked: ""}); err != nil {
			return Entry{}, err
		}
		a.log().InfoContext(ctx, "plugged", "ovs_port", ap.Name, "peer", peer, "endpoint", endpoint, "port", ap.ExternalIDs[KeyPort], "parked", true)
		return entryOf(ap), nil
	}
	if ap.ExternalIDs[KeyParked] != "" {
		// Whatever is left of the parked veth goes: a new one is made.
		if err := a.Links.DeleteLink(context.WithoutCancel(ctx), ap.Name); err != nil {
			return Entry{}, fmt.Errorf("deleting the broken parked veth %s: %w", ap.Name, err)
		}
	}
	steps := startSteps()
	// The peer is made in the VM's own namespace: the engine moves it.
	if err := a.Links.CreateVeth(context.WithoutCancel(ctx), ap.Name, ownNetns, cfg); err != nil {
		return Entry{}, fmt.Errorf("creating veth %s <-> %s: %w", ap.Name, peer, err)
	}
	steps.done("veth_ms")
	req := Request{NetnsPath: ownNetns, IfName: peer}
	if err := a.openAndProve(ctx, req, ap.Name, ap.ExternalIDs[KeyPort], cfg.MAC, d.probe); err != nil {
		return Entry{}, err
	}
	steps.done("probe_ms")
	// The engine sets the addresses on the interface after Join; the
	// announcement needs none.
	a.announce(ctx, req, ap.Name, d.cfg)
	steps.done("announce_ms")
	if err := a.setIDs(ctx, &ap, map[string]string{KeyState: stateReady, KeyPID: ""}); err != nil {
		return Entry{}, err
	}
	steps.done("ready_ms")
	a.log().InfoContext(ctx, "plugged", append([]any{"ovs_port", ap.Name, "peer", peer, "endpoint", endpoint, "port", ap.ExternalIDs[KeyPort]}, steps.kv...)...)
	return entryOf(ap), nil
}

// parkedReady: ap is a pool entry whose veth is parked with free end
// peer, both ends still in the VM and the VM end up (set up again if
// ovs-vswitchd set it down).
func (a *Attacher) parkedReady(ctx context.Context, ap AccessPort, peer string) bool {
	if ap.ExternalIDs[KeyParked] != peer {
		return false
	}
	li, ok := a.Links.(LinkInspector)
	if !ok {
		return false
	}
	if in, err := li.LinkExists(ctx, peer); err != nil || !in {
		a.log().WarnContext(ctx, "pool port's parked veth end is missing; making a veth", "ovs_port", ap.Name, "peer", peer, "err", err)
		return false
	}
	if _, err := a.Links.EnsureUp(ctx, ap.Name); err != nil {
		a.log().WarnContext(ctx, "pool port's parked veth has no VM end; making a veth", "ovs_port", ap.Name, "err", err)
		return false
	}
	return true
}

// ownNetns is this process's network namespace (the VM's).
const ownNetns = "/proc/self/ns/net"

// Unplug deletes the endpoint's veth (wherever its other end is now) and
// makes the entry reserved again. An endpoint without entry or veth is
// not an error.
func (a *Attacher) Unplug(ctx context.Context, endpoint string) error {
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEndpoint] == endpoint })
	if errors.Is(err, ErrNoEntry) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.Links.DeleteLink(ctx, ap.Name); err != nil {
		return fmt.Errorf("deleting veth %s: %w", ap.Name, err)
	}
	return a.Switch.SetExternalIDs(ctx, ap.Name, map[string]string{KeyState: stateReserved, KeyPID: "", KeyPeer: "", KeyEndpoint: "", KeyParked: ""})
}

// Free ends the reservation ref: veth deleted if any, the port given back
// to the pool when the network's pool is below target, else deleted with
// its VLAN. A reservation already gone is not an error.
func (a *Attacher) Free(ctx context.Context, ref string) error {
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEngineRef] == ref })
	if errors.Is(err, ErrNoEntry) {
		return nil
	}
	if err != nil {
		return err
	}
	return a.detachOne(ctx, ap)
}

// Freed is what FreeIf freed.
type Freed struct {
	// Ports are the access ports freed.
	Ports []string
	// Settle is until when a Neutron port create for one of them, sent
	// by a process killed since, may still complete in the cloud (zero:
	// none can): FreeOrphans after it deletes such ports.
	Settle time.Time
}

// FreeIf frees the entries for which keep says false, except those a live
// process is working on: the engine's reconciliation after a restart.
func (a *Attacher) FreeIf(ctx context.Context, keep func(Entry) bool) (Freed, error) {
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return Freed{}, err
	}
	var out Freed
	var inFlight settle
	var errs []error
	for _, ap := range aps {
		if ap.ExternalIDs[KeyEngineRef] == "" || isAttachment(ap) {
			continue
		}
		if s := ap.ExternalIDs[KeyState]; (s == stateReserving || s == statePlugging) && alivePID(ap) && ap.ExternalIDs[KeyPID] != a.pid() {
			continue
		}
		if keep(entryOf(ap)) {
			continue
		}
		if err := a.detachOne(ctx, ap); err != nil {
			errs = append(errs, err)
			continue
		}
		out.Ports = append(out.Ports, ap.Name)
		if ap.ExternalIDs[KeyState] == stateReserving && a.trunkMode() {
			// Only a trunk-mode port names its claim (its description),
			// which is how FreeOrphans finds it.
			inFlight.note(ap)
		}
	}
	out.Settle = inFlight.until
	return out, errors.Join(errs...)
}

// FreeOrphans deletes the Neutron ports (taken off the VM's trunk first)
// made for the access ports claims, which FreeIf freed while their
// process's port create may still have been under way in the cloud: such
// a port completes with no claim left to record it. Call it after
// Freed.Settle. Ports an access port records are left alone. It returns
// the ports deleted.
func (a *Attacher) FreeOrphans(ctx context.Context, claims []string) ([]string, error) {
	gone := map[string]bool{}
	for _, c := range claims {
		gone[c] = true
	}
	ps, err := a.Cloud.ListPorts(ctx, cloud.PortFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing ports for the orphans of freed reservations: %w", err)
	}
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return nil, err
	}
	recorded := map[string]bool{}
	for _, ap := range aps {
		recorded[ap.ExternalIDs[KeyPort]] = true
	}
	var out []string
	var errs []error
	var trunk *cloud.Trunk
	for _, p := range ps {
		if !gone[a.claimOf(p)] || recorded[p.ID] {
			continue
		}
		if trunk == nil {
			t, err := a.Cloud.FindTrunk(ctx, a.VM.VIFID)
			if err != nil && !errors.Is(err, cloud.ErrNotFound) {
				return out, fmt.Errorf("the trunk of the VM's port %s: %w", a.VM.VIFID, err)
			}
			trunk = &t
		}
		if trunk.ID != "" && slices.ContainsFunc(trunk.Subports, func(s cloud.Subport) bool { return s.PortID == p.ID }) {
			if err := a.Cloud.RemoveSubport(ctx, trunk.ID, p.ID); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := a.Cloud.DeletePort(ctx, p.ID); err != nil && !errors.Is(err, cloud.ErrNotFound) {
			errs = append(errs, fmt.Errorf("deleting Neutron port %s of freed claim %s: %w", p.ID, a.claimOf(p), err))
			continue
		}
		a.log().Info("deleted the Neutron port of a freed reservation, created after its process died", "port", p.ID, "ovs_port", a.claimOf(p))
		out = append(out, p.ID)
	}
	return out, errors.Join(errs...)
}
