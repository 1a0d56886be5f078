package attach

// The port pool: Neutron ports made ahead of need, so that an attach makes
// no Neutron call at all.
//
// A pool entry is an access port of the VM bridge (a claimed VLAN) whose
// Neutron port already exists as a child of the VM's port with that VLAN
// as tag, and was ACTIVE when the entry became ready: OVN binds a child
// port as soon as its parent is bound, so it stays up while unused. A
// ready entry also has its veth (when Links is a PeerMover): the VM end is
// the access port's interface, opened by OVS, and the other end is parked
// in the VM (PeerName, recorded as KeyParked) with the port's MAC and MTU,
// up, without addresses and with IPv6 address generation off, so it sends
// nothing; the data path was proven from it (DHCP probe) before the entry
// became ready. The engine's Plug hands the parked end over (the engine
// moves it into the container): OVS keeps its port and ofport, so the
// proven path stays proven, and Plug makes no veth, waits for no OVS and
// sends no probe. A namespace attach (CLI, CNI) prefers an entry without
// a parked veth, makes its veth in place and probes as before, since the
// kernel moves a link between namespaces more slowly than that; it moves
// a parked end in only when no other entry is left (see parkOnReturn for
// which entries go back parked).
// The access port's external_ids carry everything the attach needs
// (portData): Neutron port and network ids, MAC, addresses with prefix
// lengths, gateways, MTU, the owning project. The per-network target (how
// many ready entries the network should have) is on the VM bridge. So the
// pool lives in Neutron and the VM's OVSDB only, and survives restarts of
// anything.
//
// Taking an entry is one OVSDB transaction that flips its state from
// "pool" to "attaching", guarded by a wait on the current state: of two
// attaches racing for one entry exactly one wins, the other moves on to
// another entry (or creates a port if none is left). Giving an entry back
// (Detach, while the pool is below its target) deletes the veth, flips the
// state to "pool-returning", renews the OVS Interface (so that the next
// veth's "interface up" is observed afresh), parks a new veth, proven like
// at fill time, if the engine used the entry (see parkOnReturn), and flips
// the state to "pool".
// A crash at any point leaves a state with a dead pid, which GC finishes
// or removes.
//
// The Neutron port of a pool entry is named PoolPortName and has no
// device_id, in the pool and while attached: which container uses it is
// recorded in the VM's OVSDB (`ovn-docker ps`).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/proc"
)

// PoolPortName is the Neutron name of pool ports.
const PoolPortName = "ovn-docker-pool"

// MaxPoolSize bounds a network's pool target (VLANs are 4094 per VM).
const MaxPoolSize = 1024

// renewTimeout bounds the wait for ovs-vswitchd when a port goes back to
// the pool (it takes milliseconds when ovs-vswitchd runs).
const renewTimeout = 10 * time.Second

// fillParallel bounds the concurrent Neutron port creates of a fill.
const fillParallel = 8

// ErrNoPool: the Attacher was made without a PoolSwitch.
var ErrNoPool = errors.New("port pool not available")

// PoolStatus is one pool in this VM: a network's ports of one security
// group set.
type PoolStatus struct {
	NetworkID string `json:"network_id"`
	Network   string `json:"network,omitempty"`
	// SecurityGroups are the set's group ids; none: the project's default.
	SecurityGroups []string `json:"security_groups,omitempty"`
	Ready          int      `json:"ready"`   // can be taken
	InUse          int      `json:"in_use"`  // pool ports attached to a namespace
	Pending        int      `json:"pending"` // being made, given back or deleted
	Target         int      `json:"target"`  // ready entries wanted
}

// portData is what an attach needs besides the Neutron port's id.
type portData struct {
	networkName, project string
	cfg                  IfaceConfig  // MAC, Addresses, Gateways, MTU
	probe                netip.Addr   // see KeyDHCPProbe; invalid: no probe
	dns                  []netip.Addr // see KeyDNS
}

// entryPortData is what an entry records of its Neutron port for a later
// plug (its ids() are the external_ids): MAC, addresses with their prefix
// lengths, gateways, MTU, network and project.
func (a *Attacher) entryPortData(nw cloud.Network, port cloud.Port, mtu int) (portData, error) {
	cfg, err := ifaceConfig("", nw, port, mtu, false)
	if err != nil {
		return portData{}, err
	}
	return newPortData(nw, port, a.Cloud.ProjectID(), cfg), nil
}

// newPortData is what an attach of port (on nw, owned by project) needs.
func newPortData(nw cloud.Network, port cloud.Port, project string, cfg IfaceConfig) portData {
	return portData{networkName: nw.Name, project: project, cfg: cfg, probe: dhcpProbeAddr(nw, port), dns: nameservers(nw, port)}
}

// nameservers are the dns_nameservers of the subnets the port has
// addresses on, in the order of its addresses, without repeats.
func nameservers(nw cloud.Network, p cloud.Port) []netip.Addr {
	var out []netip.Addr
	for _, ip := range p.FixedIPs {
		if s, ok := nw.SubnetByID(ip.SubnetID); ok {
			for _, d := range s.DNSNameservers {
				if !slices.Contains(out, d) {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

func (d portData) ids() map[string]string {
	join := func(n int, f func(int) string) string {
		s := make([]string, n)
		for i := range s {
			s[i] = f(i)
		}
		return strings.Join(s, ",")
	}
	probe := "none"
	if d.probe.IsValid() {
		probe = d.probe.String()
	}
	return map[string]string{
		KeyNetworkName: d.networkName,
		KeyProject:     d.project,
		KeyMAC:         d.cfg.MAC.String(),
		KeyAddresses:   join(len(d.cfg.Addresses), func(i int) string { return d.cfg.Addresses[i].String() }),
		KeyGateways:    join(len(d.cfg.Gateways), func(i int) string { return d.cfg.Gateways[i].String() }),
		KeyMTU:         strconv.Itoa(d.cfg.MTU),
		KeyDHCPProbe:   probe,
		KeyDNS:         join(len(d.dns), func(i int) string { return d.dns[i].String() }),
	}
}

// parsePortData reads portData back; an entry without it is not usable.
func parsePortData(ids map[string]string) (portData, error) {
	d := portData{networkName: ids[KeyNetworkName], project: ids[KeyProject]}
	var err error
	if ids[KeyPort] == "" || ids[KeyNetwork] == "" {
		return d, errors.New("no Neutron port or network recorded")
	}
	if d.cfg.MAC, err = net.ParseMAC(ids[KeyMAC]); err != nil {
		return d, fmt.Errorf("MAC: %w", err)
	}
	if d.cfg.MTU, err = strconv.Atoi(ids[KeyMTU]); err != nil {
		return d, fmt.Errorf("MTU: %w", err)
	}
	for _, s := range strings.Split(ids[KeyAddresses], ",") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return d, fmt.Errorf("address: %w", err)
		}
		d.cfg.Addresses = append(d.cfg.Addresses, p)
	}
	if g := ids[KeyGateways]; g != "" {
		for _, s := range strings.Split(g, ",") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return d, fmt.Errorf("gateway: %w", err)
			}
			d.cfg.Gateways = append(d.cfg.Gateways, a)
		}
	}
	if s := ids[KeyDNS]; s != "" {
		for _, x := range strings.Split(s, ",") {
			a, err := netip.ParseAddr(x)
			if err != nil {
				return d, fmt.Errorf("DNS server: %w", err)
			}
			d.dns = append(d.dns, a)
		}
	}
	if s := ids[KeyDHCPProbe]; s != "" && s != "none" {
		if d.probe, err = netip.ParseAddr(s); err != nil {
			return d, fmt.Errorf("DHCP probe address: %w", err)
		}
	}
	return d, nil
}

func isAttachment(ap AccessPort) bool {
	_, ok := ap.ExternalIDs[KeyNetns]
	return ok
}

func isPoolState(s string) bool {
	switch s {
	case stateFilling, statePool, stateReturning, stateDraining:
		return true
	}
	return false
}

// vmPorts: every access port this plugin made for this VM (attachments
// and pool entries).
func (a *Attacher) vmPorts(ctx context.Context) ([]AccessPort, error) {
	aps, err := a.Switch.AccessPorts(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the VM's access ports: %w", err)
	}
	out := aps[:0:0]
	for _, ap := range aps {
		if v := ap.ExternalIDs[KeyVIF]; v != "" && a.VM.VIFID != "" && v != a.VM.VIFID {
			continue
		}
		out = append(out, ap)
	}
	return out, nil
}

// poolEntries: this VM's access ports that are pool entries (any pool
// state), not attachments.
func (a *Attacher) poolEntries(ctx context.Context) ([]AccessPort, error) {
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return nil, err
	}
	out := aps[:0:0]
	for _, ap := range aps {
		if !isAttachment(ap) && isPoolState(ap.ExternalIDs[KeyState]) {
			out = append(out, ap)
		}
	}
	return out, nil
}

func (a *Attacher) poolTargets(ctx context.Context) (map[poolKey]int, error) {
	ids, err := a.Pool.BridgeExternalIDs(ctx, a.VM.Bridge)
	if err != nil {
		return nil, fmt.Errorf("reading the pool targets of bridge %s: %w", a.VM.Bridge, err)
	}
	out := map[poolKey]int{}
	for k, v := range ids {
		if key, ok := parseTargetKey(k); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				out[key] = n
			}
		}
	}
	return out, nil
}

// poolTarget is the pool's target; 0 also when it cannot be read.
func (a *Attacher) poolTarget(ctx context.Context, k poolKey) int {
	t, err := a.poolTargets(ctx)
	if err != nil {
		a.log().Warn("no pool target", "err", err)
		return 0
	}
	return t[k]
}

// alivePID reports whether the process recorded on ap still runs.
func alivePID(ap AccessPort) bool {
	return proc.Ref(ap.ExternalIDs[KeyPID]).Alive()
}

// counts: the entry is or will be ready (being made or given back by a
// live process); what GC will remove does not count.
func counts(e AccessPort) bool {
	switch e.ExternalIDs[KeyState] {
	case statePool:
		return true
	case stateFilling, stateReturning:
		return alivePID(e)
	}
	return false
}

// candidates: the ready entries of network (id or name) made for the
// security group set groups (a groupsKey) that this project may take.
// With entries of several networks of that name, none: the attach then
// asks Neutron, which says the name is ambiguous.
func (a *Attacher) candidates(ctx context.Context, network, groups string) ([]AccessPort, error) {
	es, err := a.poolEntries(ctx)
	if err != nil {
		return nil, err
	}
	project := a.Cloud.ProjectID()
	var out []AccessPort
	nets := map[string]bool{}
	for _, e := range es {
		ids := e.ExternalIDs
		if ids[KeyState] != statePool || ids[KeyProject] != project || ids[KeyVIF] != a.VM.VIFID ||
			(ids[KeyNetwork] != network && ids[KeyNetworkName] != network) || ids[KeySecurityGroups] != groups {
			continue
		}
		if _, err := parsePortData(ids); err != nil {
			continue // GC removes it
		}
		out = append(out, e)
		nets[ids[KeyNetwork]] = true
	}
	if len(nets) > 1 {
		return nil, nil
	}
	return out, nil
}

// HasPoolPort reports whether network (id or name) has a ready pool port
// of the security groups given (ids; none: the default set) that this
// project may take, i.e. whether Attach would make no Neutron call.
// Groups given by name are resolved by Neutron first: false.
func (a *Attacher) HasPoolPort(ctx context.Context, network string, groups []string) bool {
	if a.Pool == nil || !allIDs(groups) {
		return false
	}
	c, err := a.candidates(ctx, network, groupsKey(groups))
	return err == nil && len(c) > 0
}

// attachFromPool takes a ready pool entry of req.Network made for the
// group set groups (a groupsKey) and plugs it into the namespace. ok is
// false if there was none to take.
func (a *Attacher) attachFromPool(ctx context.Context, req Request, groups string) (at Attachment, ok bool, err error) {
	if a.Pool == nil {
		return Attachment{}, false, nil
	}
	steps := startSteps()
	cands, err := a.candidates(ctx, req.Network, groups)
	if err != nil || len(cands) == 0 {
		return Attachment{}, false, err
	}
	// Concurrent attaches start at different entries, so they rarely
	// collide; a loser just tries the next.
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	// Entries without a parked veth first: making the veth in the
	// namespace costs less than moving a parked end there (see
	// parkOnReturn), and parked ones are best left to the engine.
	preferParked(cands, false)
	pid := a.pid()
	nc := context.WithoutCancel(ctx)
	steps.done("candidates_ms")
	for _, e := range cands {
		if err := interrupted(ctx); err != nil {
			return Attachment{}, false, err
		}
		take := withTags(map[string]string{
			KeyState: stateAttaching, KeyPID: pid,
			KeyContainer: req.ContainerID, KeyNetns: req.NetnsPath, KeyIfName: req.IfName,
		}, req.Tags)
		// Recorded before the port is named, so that its return to the
		// pool clears a name set by an attach that then crashed.
		dnsName := ""
		if req.ContainerID != "" {
			dnsName = a.dnsNameFor(req)
			take[KeyDNSName] = dnsName
		}
		err := a.Pool.UpdateExternalIDsIf(nc, e.Name, map[string]string{KeyState: statePool, KeyPort: e.ExternalIDs[KeyPort]}, take)
		if errors.Is(err, ErrPortTaken) {
			a.log().Debug("pool port taken by another attach, trying the next", "ovs_port", e.Name)
			continue
		}
		if err != nil {
			return Attachment{}, false, fmt.Errorf("taking pool port %s: %w", e.Name, err)
		}
		maps.Copy(e.ExternalIDs, take)
		steps.done("take_ms")
		at, err := a.plugPooled(ctx, req, e, steps)
		if err == nil {
			a.nameInBackground(nc, e.ExternalIDs[KeyPort], dnsName, req.ContainerID)
		}
		return at, true, err
	}
	return Attachment{}, false, nil
}

// plugPooled finishes an attach with the taken entry e; on failure the
// entry goes back to the pool (or, if that fails, is deleted).
func (a *Attacher) plugPooled(ctx context.Context, req Request, e AccessPort, steps *stepTimes) (Attachment, error) {
	ids := e.ExternalIDs
	d, err := parsePortData(ids) // checked by candidates
	if err != nil {
		return Attachment{}, err
	}
	d.cfg.Name = req.IfName
	d.cfg.DisableTxChecksum = a.VM.DatapathType == "netdev"
	var cfg IfaceConfig
	parked := false
	if mover, ok := a.Links.(PeerMover); ok && ids[KeyParked] != "" {
		cfg, err = a.moveParked(ctx, mover, req, e, d.cfg)
		parked = err == nil
		if errors.Is(err, ErrNoParkedPeer) {
			// Deleted behind our back (gc removes such entries, but
			// this one was taken first): plug it the slow way.
			a.log().Warn("pool port's parked veth end is missing; making a veth", "ovs_port", e.Name, "peer", ids[KeyParked])
			err = a.Links.DeleteLink(context.WithoutCancel(ctx), e.Name)
		}
	}
	// plugged: a veth exists, which a failure from here on deletes.
	plugged := parked
	if err == nil && !parked {
		cfg, err = a.plug(ctx, req, e, d.cfg, steps)
		plugged = err == nil
		if err == nil {
			// A pool port was ACTIVE when it was made, but its flows on
			// the hypervisor are what the container needs.
			err = a.openAndProve(ctx, req, e.Name, ids[KeyPort], cfg.MAC, d.probe)
			steps.done("probe_ms")
		}
	} else {
		steps.done("move_ms")
	}
	if plugged {
		if err == nil {
			a.announce(ctx, req, e.Name, cfg)
			steps.done("announce_ms")
			if err = a.Switch.SetExternalIDs(ctx, e.Name, map[string]string{KeyState: stateReady, KeyPID: "", KeyParked: ""}); err != nil {
				err = fmt.Errorf("marking OVS port %s ready: %w", e.Name, err)
			}
			steps.done("ready_ms")
		}
		if err != nil {
			a.rollbackVeth(ctx, e.Name)
		}
	}
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := a.giveBack(rctx, e); rerr != nil {
			a.log().Warn("rollback: returning the pool port failed; `ovn-docker gc` will clean up", "ovs_port", e.Name, "err", rerr)
		}
		return Attachment{}, err
	}
	a.log().Info("attached from the pool", append([]any{"ovs_port", e.Name, "port", ids[KeyPort], "netns", req.NetnsPath, "ifname", req.IfName, "parked", parked}, steps.kv...)...)
	return Attachment{
		PortName: e.Name, Bridge: a.VM.Bridge, VLAN: e.VLAN,
		ContainerID: req.ContainerID, NetnsPath: req.NetnsPath, IfName: req.IfName,
		NetworkID: ids[KeyNetwork], NetworkName: d.networkName, PortID: ids[KeyPort], MAC: cfg.MAC.String(),
		Addresses: cfg.Addresses, Gateways: cfg.Gateways, MTU: cfg.MTU, DNS: d.dns, SecurityGroups: groupsOf(ids[KeySecurityGroups]),
		// In trunk mode only ports Neutron reported ACTIVE enter the
		// pool, and a child port stays bound while its parent is.
		Status: map[bool]string{true: "ACTIVE"}[a.trunkMode()], State: stateReady,
	}, nil
}

// moveParked moves the taken entry e's parked veth end into req's
// namespace as req.IfName, configured by cfg (gateways only for the
// namespace's first interface, as plug does), and makes sure the VM end
// is still up: no veth made, no wait for OVS, no probe. On failure other
// than ErrNoParkedPeer the veth is gone.
func (a *Attacher) moveParked(ctx context.Context, mover PeerMover, req Request, e AccessPort, cfg IfaceConfig) (IfaceConfig, error) {
	if first, err := a.firstInNetns(ctx, req, e.Name); err != nil {
		return cfg, err
	} else if !first {
		cfg.Gateways = nil
	}
	if err := interrupted(ctx); err != nil {
		return cfg, err
	}
	peer := e.ExternalIDs[KeyParked]
	if err := mover.MoveLink(context.WithoutCancel(ctx), peer, req.NetnsPath, cfg); err != nil {
		return cfg, fmt.Errorf("moving veth end %s (of %s) into %s as %s: %w", peer, e.Name, req.NetnsPath, req.IfName, err)
	}
	// The OVS end did not move: its port, ofport and flows are the ones
	// proven at fill time. ovs-vswitchd could have set it down since.
	a.ensureVMEndUp(ctx, e.Name, e.ExternalIDs[KeyPort])
	return cfg, nil
}

// park gives entry ap (its Neutron port's data d) its veth: the VM end is
// the access port, the other end PeerName(ap.Name) stays in the VM with
// the port's MAC and MTU, up, without addresses and IPv6 address
// generation off. It waits for OVS to open the VM end and proves the data
// path from the parked end. It returns the parked end's name; on failure
// no veth is left.
func (a *Attacher) park(ctx context.Context, ap AccessPort, d portData) (string, error) {
	peer := PeerName(ap.Name)
	cfg := IfaceConfig{Name: peer, MAC: d.cfg.MAC, MTU: d.cfg.MTU, DisableTxChecksum: a.VM.DatapathType == "netdev", NoIPv6AddrGen: true}
	if err := interrupted(ctx); err != nil {
		return "", err
	}
	if err := a.Links.CreateVeth(context.WithoutCancel(ctx), ap.Name, ownNetns, cfg); err != nil {
		return "", fmt.Errorf("creating veth %s <-> %s: %w", ap.Name, peer, err)
	}
	req := Request{NetnsPath: ownNetns, IfName: peer}
	if err := a.openAndProve(ctx, req, ap.Name, ap.ExternalIDs[KeyPort], cfg.MAC, d.probe); err != nil {
		a.rollbackVeth(ctx, ap.Name)
		return "", err
	}
	// Now, not at use: the engine's Join hands the parked end over
	// without a word on the network (see Plug), and no other port can
	// take the addresses while this one holds them.
	a.announce(ctx, req, ap.Name, d.cfg)
	return peer, nil
}

// parks: pool entries get their veth parked (see the package comment).
func (a *Attacher) parks() bool {
	_, ok := a.Links.(PeerMover)
	return ok
}

// parkOnReturn: entry ap, given back, gets a parked veth only if the
// engine used it. The engine moves the veth's free end into the
// container itself, so a parked one spares its Join the veth, the wait
// for OVS and the probe. A namespace attachment (CLI, CNI) gains nothing
// from it: moving a link into another namespace takes the kernel longer
// (it waits for every pending RCU callback, 15-30 ms here) than making
// the veth in place, waiting for OVS and probing together, so such an
// entry goes back as before, without veth, and its next attach makes one
// in place. Fill parks every entry: which kind of attach takes it is not
// known then, and each entry finds its kind after its first use.
func (a *Attacher) parkOnReturn(ap AccessPort) bool {
	return a.parks() && ap.ExternalIDs[KeyEngineRef] != ""
}

// preferParked orders entries (stably) with parked ones first, or last.
func preferParked(es []AccessPort, first bool) {
	slices.SortStableFunc(es, func(x, y AccessPort) int {
		px, py := x.ExternalIDs[KeyParked] != "", y.ExternalIDs[KeyParked] != ""
		switch {
		case px == py:
			return 0
		case px == first:
			return -1
		}
		return 1
	})
}

// giveBack returns an entry this process holds (an attachment whose veth
// is gone) to the pool, or deletes it if that fails.
func (a *Attacher) giveBack(ctx context.Context, ap AccessPort) error {
	claimed, err := a.returnToPool(ctx, ap)
	if err == nil || (!claimed && errors.Is(err, ErrPortTaken)) {
		return nil
	}
	a.log().Warn("returning to the pool failed; deleting the port", "ovs_port", ap.Name, "err", err)
	return a.removeEntry(ctx, ap)
}

// shouldReturn: ap's port is a pool port with everything recorded, and
// its network's pool is below target.
func (a *Attacher) shouldReturn(ctx context.Context, ap AccessPort) bool {
	if a.Pool == nil || ap.ExternalIDs[KeyPooled] != "true" {
		return false
	}
	if _, err := parsePortData(ap.ExternalIDs); err != nil {
		return false
	}
	key := keyOf(ap)
	target := a.poolTarget(ctx, key)
	if target == 0 {
		return false
	}
	es, err := a.poolEntries(ctx)
	if err != nil {
		return false
	}
	n := 0
	for _, e := range es {
		if keyOf(e) == key && counts(e) {
			n++
		}
	}
	// Two detaches deciding at once may both return: the pool then
	// exceeds its target by one until the next fill trims it.
	return n < target
}

// returnToPool makes the attachment ap (veth already deleted) a ready pool
// entry again. claimed reports whether this process got hold of it (the
// first transition); if another process changed it first, that one
// finishes the job and nothing is done here.
func (a *Attacher) returnToPool(ctx context.Context, ap AccessPort) (claimed bool, err error) {
	pid := a.pid()
	expect := map[string]string{KeyPort: ap.ExternalIDs[KeyPort], KeyState: ap.ExternalIDs[KeyState]}
	if ap.ExternalIDs[KeyState] == stateReturning {
		expect[KeyPID] = ap.ExternalIDs[KeyPID] // GC taking over a crashed return
	}
	err = a.Pool.UpdateExternalIDsIf(ctx, ap.Name, expect, withoutTags(map[string]string{
		KeyState: stateReturning, KeyPID: pid, KeyContainer: "", KeyNetns: "", KeyIfName: "",
		KeyEngineRef: "", KeyEndpoint: "", KeyPeer: "", KeyParked: "",
	}, ap.ExternalIDs))
	if err != nil {
		return false, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
	}
	// The container's name leaves the port before it is ready for
	// another one (its DNS records would answer for the next owner).
	a.waitNamed(ap.ExternalIDs[KeyPort])
	if name := ap.ExternalIDs[KeyDNSName]; name != "" {
		if a.DNS == nil {
			return true, fmt.Errorf("returning %s to the pool: its port has dns_name %q and this process cannot clear it", ap.Name, name)
		}
		if err := a.DNS.SetPortDNSName(ctx, ap.ExternalIDs[KeyPort], "", ""); err != nil {
			return true, fmt.Errorf("returning %s to the pool: clearing dns_name %q: %w", ap.Name, name, err)
		}
	}
	ready := map[string]string{KeyState: statePool, KeyPID: "", KeyDNSName: ""}
	park := a.parkOnReturn(ap)
	if a.parks() {
		// A return that crashed may have left the veth it was parking.
		if err := a.Links.DeleteLink(ctx, ap.Name); err != nil {
			return true, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
		}
	}
	// Bounded: without ovs-vswitchd the renewal never completes, and the
	// caller then deletes the port instead.
	rctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	if err := a.Pool.RenewInterface(rctx, ap.Name); err != nil {
		return true, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
	}
	if park {
		d, err := parsePortData(ap.ExternalIDs)
		if err != nil {
			return true, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
		}
		peer, err := a.park(ctx, ap, d)
		if err != nil {
			return true, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
		}
		ready[KeyParked] = peer
	}
	if err := a.Pool.UpdateExternalIDsIf(ctx, ap.Name, map[string]string{KeyState: stateReturning, KeyPID: pid}, ready); err != nil {
		return true, fmt.Errorf("returning %s to the pool: %w", ap.Name, err)
	}
	a.log().Info("returned to the pool", "ovs_port", ap.Name, "port", ap.ExternalIDs[KeyPort], "parked", ready[KeyParked])
	return true, nil
}

// removeEntry deletes an access port this process holds, with its veth
// and Neutron port (the VLAN is released last: the port carries its tag).
func (a *Attacher) removeEntry(ctx context.Context, ap AccessPort) error {
	if err := a.Links.DeleteLink(ctx, ap.Name); err != nil {
		return fmt.Errorf("deleting veth %s: %w", ap.Name, err)
	}
	return a.removeEntryWithoutVeth(ctx, ap)
}

// removeEntryWithoutVeth is removeEntry once its veth is gone.
func (a *Attacher) removeEntryWithoutVeth(ctx context.Context, ap AccessPort) error {
	ids, err := a.childPortIDs(ctx, ap)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.removeChild(ctx, ap, id); err != nil {
			return err
		}
	}
	if err := a.Switch.Release(ctx, ap.Name); err != nil {
		return fmt.Errorf("releasing VLAN %d (%s): %w", ap.VLAN, ap.Name, err)
	}
	return nil
}

// drainEntry deletes a ready entry unless another process takes it first
// (then it reports false).
func (a *Attacher) drainEntry(ctx context.Context, e AccessPort) (bool, error) {
	err := a.Pool.UpdateExternalIDsIf(ctx, e.Name, map[string]string{KeyState: statePool, KeyPort: e.ExternalIDs[KeyPort]},
		map[string]string{KeyState: stateDraining, KeyPID: a.pid()})
	if errors.Is(err, ErrPortTaken) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := a.removeEntry(ctx, e); err != nil {
		return false, err
	}
	return true, nil
}

// FillPool sets the target of network's pool of ports in the security
// groups given (names or ids; none: the project's default group) to size
// and makes the missing ready entries: it claims their VLANs, then creates
// their Neutron ports (several at a time) and waits until each is ACTIVE.
// Entries above the target (e.g. after a concurrent fill) are deleted.
// Several fills may run at once. size 0 empties that pool.
func (a *Attacher) FillPool(ctx context.Context, network string, groups []string, size int) (PoolStatus, error) {
	if size < 0 || size > MaxPoolSize {
		return PoolStatus{}, fmt.Errorf("pool size %d: want 0 to %d", size, MaxPoolSize)
	}
	p, err := a.poolOf(ctx, network, groups)
	if err != nil {
		return PoolStatus{}, err
	}
	target := ""
	if size > 0 {
		target = strconv.Itoa(size)
	}
	if err := a.Pool.SetBridgeExternalIDs(ctx, a.VM.Bridge, map[string]string{p.key.targetKey(): target}); err != nil {
		return PoolStatus{}, fmt.Errorf("setting the pool target: %w", err)
	}
	return a.topUp(ctx, p, size)
}

// TopUpPool makes the missing ready entries of the pool of network (id
// or name) and groups up to its target as it is now, which it does not
// set: a pool drained meanwhile stays drained (the entries being made
// are deleted once made, see topUp). A pool without a target is left
// alone.
func (a *Attacher) TopUpPool(ctx context.Context, network string, groups []string) (PoolStatus, error) {
	p, err := a.poolOf(ctx, network, groups)
	if err != nil {
		return PoolStatus{}, err
	}
	targets, err := a.poolTargets(ctx)
	if err != nil {
		return PoolStatus{}, err
	}
	if targets[p.key] == 0 {
		return PoolStatus{NetworkID: p.nw.ID, Network: p.nw.Name, SecurityGroups: groupsOf(p.key.groups)}, nil
	}
	return a.topUp(ctx, p, targets[p.key])
}

// pool is one pool of the VM: its network, security groups and MTU.
type pool struct {
	nw  cloud.Network
	key poolKey
	mtu int
}

// poolOf is the pool of network (id or name) and groups (names or ids;
// none: the project's default group), checked as one to fill.
func (a *Attacher) poolOf(ctx context.Context, network string, groups []string) (pool, error) {
	if a.Pool == nil {
		return pool{}, ErrNoPool
	}
	if a.VM.VIFID == "" {
		return pool{}, fmt.Errorf("%w: pool ports are children of the VM's port: pass --vif-id", ErrNoVIF)
	}
	gids, err := a.resolveGroups(ctx, groups)
	if err != nil {
		return pool{}, err
	}
	nw, err := a.Cloud.FindNetwork(ctx, network)
	if err != nil {
		return pool{}, err
	}
	mtu, err := a.networkMTU(nw)
	if err != nil {
		return pool{}, err
	}
	if len(nw.Subnets) == 0 {
		return pool{}, fmt.Errorf("%w: network %s has no subnet", ErrNoAddress, nw.Name)
	}
	return pool{nw: nw, key: poolKey{network: nw.ID, groups: groupsKey(gids)}, mtu: mtu}, nil
}

// topUp makes p's missing ready entries up to size, then deletes its
// ready entries above the target as it is once they are made: a
// concurrent fill or drain that set another target has the last word.
func (a *Attacher) topUp(ctx context.Context, p pool, size int) (PoolStatus, error) {
	nw, key, mtu := p.nw, p.key, p.mtu
	es, err := a.poolEntries(ctx)
	if err != nil {
		return PoolStatus{}, err
	}
	have := 0
	for _, e := range es {
		if keyOf(e) == key && counts(e) {
			have++
		}
	}
	// Claims one by one (each is one fast transaction), ports in parallel.
	var errs []error
	var claimed []AccessPort
	pid := a.pid()
	nc := context.WithoutCancel(ctx)
	for range size - have {
		if err := interrupted(ctx); err != nil {
			errs = append(errs, err)
			break
		}
		ap, err := a.Switch.ClaimVLAN(nc, a.VM.Bridge, map[string]string{
			KeyNetwork: nw.ID, KeyNetworkName: nw.Name, KeyVIF: a.VM.VIFID, KeyVIFMAC: a.VM.MAC, KeyProject: a.Cloud.ProjectID(),
			KeyState: stateFilling, KeyPID: pid, KeyPooled: "true", KeyClaimed: claimedNow(),
			KeySecurityGroups: key.groups,
		}, nil)
		if err != nil {
			if ap.Name != "" {
				_ = a.Switch.Release(nc, ap.Name)
			}
			errs = append(errs, fmt.Errorf("claiming a VLAN on bridge %s: %w", a.VM.Bridge, err))
			break
		}
		claimed = append(claimed, ap)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, fillParallel)
	for _, ap := range claimed {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := a.makeEntry(ctx, nw, mtu, key.groups, ap); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if targets, err := a.poolTargets(ctx); err != nil {
		errs = append(errs, err)
	} else if err := a.trimPool(ctx, key, targets[key]); err != nil {
		errs = append(errs, err)
	}
	st, err := a.PoolStatus(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	out := PoolStatus{NetworkID: nw.ID, Network: nw.Name, SecurityGroups: groupsOf(key.groups), Target: size}
	for _, s := range st {
		if s.NetworkID == nw.ID && groupsKey(s.SecurityGroups) == key.groups {
			out = s
		}
	}
	return out, errors.Join(errs...)
}

// makeEntry creates the Neutron port of a claimed entry (a subport in
// trunk mode) in the security groups of the set groups (a groupsKey),
// waits until it is ACTIVE (trunk mode) and makes the entry ready; on
// failure it removes what it made, in reverse order.
func (a *Attacher) makeEntry(ctx context.Context, nw cloud.Network, mtu int, groups string, ap AccessPort) (err error) {
	nc := context.WithoutCancel(ctx)
	// ap is read when the undo runs: newChild may move to another VLAN.
	undo := []func(context.Context) error{func(ctx context.Context) error { return a.Switch.Release(ctx, ap.Name) }}
	defer func() {
		if err != nil {
			a.rollback(ctx, undo)
		}
	}()
	if err := interrupted(ctx); err != nil {
		return err
	}
	port, err := a.newChild(ctx, &ap, childSpec{networkID: nw.ID, name: PoolPortName, groups: groupsOf(groups)}, &undo)
	if err != nil {
		return err
	}
	if err := a.setIDs(nc, &ap, map[string]string{KeyPort: port.ID}); err != nil {
		return err
	}
	d, err := a.entryPortData(nw, port, mtu)
	if err != nil {
		return err
	}
	ids := d.ids()
	if _, err := a.waitActiveIfReported(ctx, port); err != nil {
		return err
	}
	if a.parks() {
		ap.ExternalIDs = maps.Clone(ap.ExternalIDs)
		ap.ExternalIDs[KeyPort] = port.ID
		peer, err := a.park(ctx, ap, d)
		if err != nil {
			return fmt.Errorf("pool port %s: %w", ap.Name, err)
		}
		undo = append(undo, func(ctx context.Context) error { return a.Links.DeleteLink(ctx, ap.Name) })
		ids[KeyParked] = peer
	}
	ids[KeyState], ids[KeyPID] = statePool, ""
	if err := a.Pool.UpdateExternalIDsIf(nc, ap.Name, map[string]string{KeyState: stateFilling, KeyPort: port.ID}, ids); err != nil {
		return fmt.Errorf("making pool port %s ready: %w", ap.Name, err)
	}
	a.log().Info("pool port ready", "ovs_port", ap.Name, "port", port.ID, "network", nw.ID, "parked", ids[KeyParked])
	return nil
}

// trimPool deletes ready entries of pool k beyond target.
func (a *Attacher) trimPool(ctx context.Context, k poolKey, target int) error {
	es, err := a.poolEntries(ctx)
	if err != nil {
		return err
	}
	var ready []AccessPort
	for _, e := range es {
		if keyOf(e) == k && e.ExternalIDs[KeyState] == statePool {
			ready = append(ready, e)
		}
	}
	// Keep the lowest VLANs.
	slices.SortFunc(ready, func(x, y AccessPort) int { return x.VLAN - y.VLAN })
	var errs []error
	for _, e := range ready[min(target, len(ready)):] {
		if _, err := a.drainEntry(ctx, e); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DrainPool deletes the ready pool ports of network (id or name; "" for
// every network), of every security group set, and clears their targets,
// so that ports in use are deleted rather than returned when their
// attachments end. It returns how many entries it deleted.
func (a *Attacher) DrainPool(ctx context.Context, network string) (int, error) {
	if a.Pool == nil {
		return 0, ErrNoPool
	}
	es, err := a.poolEntries(ctx)
	if err != nil {
		return 0, err
	}
	targets, err := a.poolTargets(ctx)
	if err != nil {
		return 0, err
	}
	nets := map[string]bool{}
	if network == "" {
		for k := range targets {
			nets[k.network] = true
		}
		for _, e := range es {
			nets[e.ExternalIDs[KeyNetwork]] = true
		}
	} else {
		for _, e := range es {
			if e.ExternalIDs[KeyNetwork] == network || e.ExternalIDs[KeyNetworkName] == network {
				nets[e.ExternalIDs[KeyNetwork]] = true
			}
		}
		for k := range targets {
			if k.network == network {
				nets[network] = true
			}
		}
		if len(nets) == 0 {
			nw, err := a.Cloud.FindNetwork(ctx, network)
			if err != nil {
				return 0, err
			}
			nets[nw.ID] = true
		}
		if len(nets) > 1 {
			return 0, fmt.Errorf("network %q: %w: this VM pools ports of %d networks of that name, use the id", network, cloud.ErrAmbiguous, len(nets))
		}
	}
	unset := map[string]string{}
	for id := range nets {
		unset[poolKey{network: id}.targetKey()] = ""
	}
	for k := range targets {
		if nets[k.network] {
			unset[k.targetKey()] = ""
		}
	}
	if err := a.Pool.SetBridgeExternalIDs(ctx, a.VM.Bridge, unset); err != nil {
		return 0, fmt.Errorf("clearing the pool target: %w", err)
	}
	n := 0
	var errs []error
	for _, e := range es {
		if !nets[e.ExternalIDs[KeyNetwork]] || e.ExternalIDs[KeyState] != statePool {
			continue
		}
		if err := interrupted(ctx); err != nil {
			errs = append(errs, err)
			break
		}
		ok, err := a.drainEntry(context.WithoutCancel(ctx), e)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// PoolStatus reports, per network with a pool in this VM, its ready, in
// use and pending entries and its target, from the VM's OVSDB alone.
func (a *Attacher) PoolStatus(ctx context.Context) ([]PoolStatus, error) {
	if a.Pool == nil {
		return nil, ErrNoPool
	}
	targets, err := a.poolTargets(ctx)
	if err != nil {
		return nil, err
	}
	aps, err := a.vmPorts(ctx)
	if err != nil {
		return nil, err
	}
	by := map[poolKey]*PoolStatus{}
	get := func(k poolKey) *PoolStatus {
		if by[k] == nil {
			by[k] = &PoolStatus{NetworkID: k.network, SecurityGroups: groupsOf(k.groups), Target: targets[k]}
		}
		return by[k]
	}
	for k := range targets {
		get(k)
	}
	for _, ap := range aps {
		ids := ap.ExternalIDs
		if ids[KeyPooled] != "true" {
			continue
		}
		s := get(keyOf(ap))
		if s.Network == "" {
			s.Network = ids[KeyNetworkName]
		}
		switch {
		case isAttachment(ap) || ids[KeyEngineRef] != "":
			s.InUse++
		case ids[KeyState] == statePool:
			s.Ready++
		default:
			s.Pending++
		}
	}
	out := make([]PoolStatus, 0, len(by))
	for _, s := range by {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(x, y PoolStatus) int {
		if c := strings.Compare(x.Network, y.Network); c != 0 {
			return c
		}
		if c := strings.Compare(x.NetworkID, y.NetworkID); c != 0 {
			return c
		}
		return strings.Compare(groupsKey(x.SecurityGroups), groupsKey(y.SecurityGroups))
	})
	return out, nil
}
