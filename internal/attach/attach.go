package attach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/proc"
)

// Sentinel errors.
var (
	ErrMTU       = errors.New("network MTU exceeds the VM NIC's MTU")
	ErrNotActive = errors.New("port did not become ACTIVE")
	ErrNoNetns   = errors.New("network namespace does not exist")
	ErrNoAddress = errors.New("port has no address")
	// ErrNoDataPath: the port is up in OVN but its traffic is not
	// forwarded yet (the DHCP probe got no answer in time).
	ErrNoDataPath = errors.New("port's data path does not work")
)

// Attacher attaches network namespaces of one VM.
type Attacher struct {
	Switch Switch
	Links  Links
	Cloud  Cloud
	VM     VM
	Log    *slog.Logger
	// WaitActive bounds the wait for Neutron to report the port ACTIVE
	// (zero: 60s). Poll is the longest interval between two checks (zero:
	// 250ms); the first ones come sooner (10ms, doubling), since OVN
	// usually binds a port within tens of milliseconds.
	// The same bound applies to the data-path probe (probeDataPath).
	WaitActive time.Duration
	Poll       time.Duration
	// PID is recorded on claimed ports so GC leaves attaches in progress
	// alone (zero: this process, as a proc.Ref, which pid reuse can't
	// fake).
	PID int
	// Pool enables the port pool (see pool.go): Attach takes a pooled
	// port when the network has one, Detach gives pool ports back while
	// the pool is below its target. Nil: every Attach creates a Neutron
	// port and every Detach deletes it.
	Pool PoolSwitch
	// Mode says how ports are made children of the VM's port (zero:
	// ModeBindingProfile). Only in trunk mode does Neutron report the
	// ports ACTIVE, so only then does attach wait for it; the data-path
	// probe is made in both.
	Mode PortMode
	// DNS, when set (the cloud has dns-integration), gives each port the
	// container's name as dns_name, so that containers on one network
	// resolve each other through OVN's DNS. Nil: ports get no dns_name.
	DNS PortNamer

	mu      sync.Mutex
	trunkID string // the VM's trunk, once known
	// naming: port id → closed when its background naming is done
	naming map[string]chan struct{}
}

// Request says which namespace to attach to which network.
type Request struct {
	NetnsPath   string
	IfName      string // default eth0
	Network     string // name or id
	ContainerID string // the namespace's owner, if a container
	// Name is the container's name, for the Neutron port's name, so that
	// `openstack port list` tells whose port it is; "": the owner's id.
	Name string
	// SecurityGroups (names or ids of the project's groups) are the
	// port's; none: the project's default group. A pooled port is taken
	// only if it was made for exactly this set.
	SecurityGroups []string
	// Tags are the caller's own external_ids for the attachment (a CNI
	// runtime's container id, say), recorded on the access port in the
	// transaction that claims it, so that no attachment exists without
	// them, and removed with the attachment (see KeyTags). Their keys
	// must not be attach's own.
	Tags map[string]string
}

// Attachment is one interface of a namespace on a network.
type Attachment struct {
	PortName    string         `json:"ovs_port"`
	Bridge      string         `json:"bridge"`
	VLAN        int            `json:"vlan"`
	ContainerID string         `json:"container,omitempty"`
	NetnsPath   string         `json:"netns"`
	IfName      string         `json:"ifname"`
	NetworkID   string         `json:"network_id"`
	NetworkName string         `json:"network,omitempty"`
	PortID      string         `json:"port_id"`
	MAC         string         `json:"mac,omitempty"`
	Addresses   []netip.Prefix `json:"addresses,omitempty"`
	Gateways    []netip.Addr   `json:"gateways,omitempty"`
	MTU         int            `json:"mtu,omitempty"`
	// DNS are the dns_nameservers of the port's subnets.
	DNS []netip.Addr `json:"dns,omitempty"`
	// SecurityGroups are the groups (ids) asked for; none: the default.
	SecurityGroups []string `json:"security_groups,omitempty"`
	Status         string   `json:"status,omitempty"`
	State          string   `json:"state,omitempty"`
	// Endpoint is the Docker endpoint of an attachment the Docker driver
	// (ovn-docker daemon) made; "" for the command line's.
	Endpoint string `json:"endpoint,omitempty"`
}

func (a *Attacher) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

// Attach connects req.NetnsPath to req.Network. A ready port of the
// network's pool made for req's security groups is taken if there is one
// (no Neutron call at all when the groups are given by id, or none);
// otherwise a port is created. On failure every step already done is
// undone, in reverse order.
func (a *Attacher) Attach(ctx context.Context, req Request) (Attachment, error) {
	if req.IfName == "" {
		req.IfName = "eth0"
	}
	if _, err := os.Stat(req.NetnsPath); err != nil {
		return Attachment{}, fmt.Errorf("%w: %s: %v", ErrNoNetns, req.NetnsPath, err)
	}
	byID := allIDs(req.SecurityGroups)
	if byID {
		if at, ok, err := a.attachFromPool(ctx, req, groupsKey(req.SecurityGroups)); ok || err != nil {
			return at, err
		}
	}
	groups, err := a.resolveGroups(ctx, req.SecurityGroups)
	if err != nil {
		return Attachment{}, err
	}
	if !byID {
		if at, ok, err := a.attachFromPool(ctx, req, groupsKey(groups)); ok || err != nil {
			return at, err
		}
	}
	return a.attachNew(ctx, req, groupsKey(groups))
}

// networkMTU is the MTU a network's interfaces get in this VM.
func (a *Attacher) networkMTU(nw cloud.Network) (int, error) {
	mtu := nw.MTU
	if a.VM.UplinkMTU > 0 {
		if mtu > a.VM.UplinkMTU {
			return 0, fmt.Errorf("%w: network %s has MTU %d but the VM NIC %s has %d: raise the NIC's MTU or lower the network's", ErrMTU, nw.Name, mtu, a.VM.Uplink, a.VM.UplinkMTU)
		}
		if mtu == 0 {
			mtu = a.VM.UplinkMTU
		}
	}
	return mtu, nil
}

// pid is what claims record as their maker: this process, by a proc.Ref
// that a later process reusing the pid does not match.
func (a *Attacher) pid() string {
	if a.PID != 0 {
		return strconv.Itoa(a.PID)
	}
	return string(proc.Self())
}

// rollback runs undo steps in reverse order, even if ctx was cancelled:
// leaving a half-made attachment is worse than a late rollback.
func (a *Attacher) rollback(ctx context.Context, undo []func(context.Context) error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for i := len(undo) - 1; i >= 0; i-- {
		if uerr := undo[i](rctx); uerr != nil {
			a.log().Warn("rollback step failed; `ovn-docker gc` will clean up", "err", uerr)
		}
	}
}

// interrupted: steps that create something are not cut short by ctx (the
// other side -- OVSDB, Neutron, kernel -- could complete them unknown to
// us, and nothing would undo them); ctx is checked between steps instead.
func interrupted(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	return nil
}

// attachNew is the attach with a port made for it, in the security
// groups of the set groups (a groupsKey).
func (a *Attacher) attachNew(ctx context.Context, req Request, groups string) (_ Attachment, err error) {
	nw, err := a.Cloud.FindNetwork(ctx, req.Network)
	if err != nil {
		return Attachment{}, err
	}
	mtu, err := a.networkMTU(nw)
	if err != nil {
		return Attachment{}, err
	}
	var undo []func(context.Context) error
	defer func() {
		if err != nil {
			a.rollback(ctx, undo)
		}
	}()
	nc := context.WithoutCancel(ctx)
	// On a network with a pool, the port is made like a pool port, so
	// that it can join the pool when this attachment ends.
	pooled := a.Pool != nil && a.poolTarget(ctx, poolKey{network: nw.ID, groups: groups}) > 0
	ap, err := a.Switch.ClaimVLAN(nc, a.VM.Bridge, withTags(map[string]string{
		KeyContainer:      req.ContainerID,
		KeyNetns:          req.NetnsPath,
		KeyIfName:         req.IfName,
		KeyNetwork:        nw.ID,
		KeyVIF:            a.VM.VIFID,
		KeyVIFMAC:         a.VM.MAC,
		KeyState:          stateAttaching,
		KeyPID:            a.pid(),
		KeyClaimed:        claimedNow(),
		KeySecurityGroups: groups,
	}, req.Tags), nil)
	if err != nil {
		if ap.Name != "" {
			_ = a.Switch.Release(nc, ap.Name)
		}
		return Attachment{}, fmt.Errorf("claiming a VLAN on bridge %s: %w", a.VM.Bridge, err)
	}
	// ap is read when the undo runs: newChild may move to another VLAN.
	undo = append(undo, func(ctx context.Context) error { return a.Switch.Release(ctx, ap.Name) })
	if err := interrupted(ctx); err != nil {
		return Attachment{}, err
	}
	spec := childSpec{networkID: nw.ID, name: portName(req), deviceID: req.ContainerID, groups: groupsOf(groups)}
	if pooled {
		spec.name, spec.deviceID = PoolPortName, ""
	}
	if a.trunkMode() {
		spec.deviceID = "" // Neutron refuses a subport with a device_id
	}
	// The dns_name goes with the create when the port has its owner as
	// device_id; a port made without one (a pool port, a subport) is
	// named with its owner once attached (see nameInBackground).
	dnsName, nameLater := a.dnsNameFor(req), ""
	if spec.deviceID != "" {
		spec.dnsName = dnsName
	} else if req.ContainerID != "" {
		nameLater = dnsName
	}
	port, err := a.newChild(ctx, &ap, spec, &undo)
	if err != nil {
		return Attachment{}, err
	}
	log := a.log().With("ovs_port", ap.Name, "vlan", ap.VLAN, "network", nw.ID, "port", port.ID)
	cfg, cerr := ifaceConfig(req.IfName, nw, port, mtu, a.VM.DatapathType == "netdev")
	ids := map[string]string{KeyPort: port.ID}
	if nameLater != "" {
		ids[KeyDNSName] = nameLater // a pool port's is cleared when it goes back
	}
	d := newPortData(nw, port, a.Cloud.ProjectID(), cfg)
	if cerr == nil {
		maps.Copy(ids, d.ids())
		if pooled {
			ids[KeyPooled] = "true"
		}
	}
	if err := a.Switch.SetExternalIDs(nc, ap.Name, ids); err != nil {
		return Attachment{}, fmt.Errorf("recording port %s on OVS port %s: %w", port.ID, ap.Name, err)
	}
	if cerr != nil {
		return Attachment{}, cerr
	}
	if cfg, err = a.plug(ctx, req, ap, cfg, nil); err != nil {
		return Attachment{}, err
	}
	undo = append(undo, func(ctx context.Context) error { return a.Links.DeleteLink(ctx, ap.Name) })
	status, err := a.waitActiveIfReported(ctx, port)
	if err != nil {
		return Attachment{}, err
	}
	if err := a.openAndProve(ctx, req, ap.Name, port.ID, cfg.MAC, dhcpProbeAddr(nw, port)); err != nil {
		return Attachment{}, err
	}
	a.announce(ctx, req, ap.Name, cfg)
	if err := a.Switch.SetExternalIDs(ctx, ap.Name, map[string]string{KeyState: stateReady, KeyPID: ""}); err != nil {
		return Attachment{}, fmt.Errorf("marking OVS port %s ready: %w", ap.Name, err)
	}
	log.Info("attached", "netns", req.NetnsPath, "ifname", req.IfName)
	// One more Neutron update (about 0.5 s on real Neutron): not waited for.
	a.nameInBackground(nc, port.ID, nameLater, req.ContainerID)
	return Attachment{
		PortName: ap.Name, Bridge: a.VM.Bridge, VLAN: ap.VLAN,
		ContainerID: req.ContainerID, NetnsPath: req.NetnsPath, IfName: req.IfName,
		NetworkID: nw.ID, NetworkName: nw.Name, PortID: port.ID, MAC: port.MAC.String(),
		Addresses: cfg.Addresses, Gateways: cfg.Gateways, MTU: cfg.MTU, DNS: d.dns, SecurityGroups: groupsOf(groups),
		Status: status, State: stateReady,
	}, nil
}

// plug creates the veth whose VM end is ap and whose other end is
// req.IfName in req's namespace, configured by cfg; openAndProve then
// waits for OVS and proves the data path. The namespace's first interface
// carries the default route; a second network is reached on its subnet
// only, so the gateways are dropped for it: plug returns the
// configuration used. On failure no veth is left.
func (a *Attacher) plug(ctx context.Context, req Request, ap AccessPort, cfg IfaceConfig, steps *stepTimes) (IfaceConfig, error) {
	if first, err := a.firstInNetns(ctx, req, ap.Name); err != nil {
		return cfg, err
	} else if !first {
		cfg.Gateways = nil
	}
	if err := interrupted(ctx); err != nil {
		return cfg, err
	}
	if err := a.Links.CreateVeth(context.WithoutCancel(ctx), ap.Name, req.NetnsPath, cfg); err != nil {
		return cfg, fmt.Errorf("creating veth %s <-> %s in %s: %w", ap.Name, req.IfName, req.NetnsPath, err)
	}
	steps.done("veth_ms")
	return cfg, nil
}

// openAndProve waits until ovs-vswitchd has opened hostName, the VM end
// of a veth just made, then proves the data path from req's end
// (probeDataPath). The probe starts only once the port is open: a request
// sent before is lost, and its resend comes 20 ms later (resending after
// 5 ms instead left the first ping of 3 of 60 containers unanswered
// against real Neutron, 0 of 40 at 20 ms; the cause was not found). The
// veth is left to the caller.
func (a *Attacher) openAndProve(ctx context.Context, req Request, hostName, portID string, mac net.HardwareAddr, ip netip.Addr) error {
	// ovs-vswitchd opens a new veth within milliseconds; a long wait
	// means it is not running.
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := a.Switch.WaitInterfaceUp(octx, hostName)
	cancel()
	if err != nil {
		if ierr := interrupted(ctx); ierr != nil {
			return ierr
		}
		return fmt.Errorf("OVS did not bring up %s: %w", hostName, err)
	}
	return a.probeDataPath(ctx, req, hostName, portID, mac, ip)
}

// announce tells the network the port's addresses (cfg.Addresses, at
// cfg.MAC) from req.IfName, once the data path is proven: sent before the
// port's flows are in, or while ovs-vswitchd has the VM end down, it
// would be lost, and a peer with a stale neighbour entry for a reused
// address would not reach the new MAC.
func (a *Attacher) announce(ctx context.Context, req Request, portName string, cfg IfaceConfig) {
	an, ok := a.Links.(Announcer)
	if !ok {
		return
	}
	addrs := make([]netip.Addr, len(cfg.Addresses))
	for i, p := range cfg.Addresses {
		addrs[i] = p.Addr()
	}
	if err := an.Announce(ctx, req.NetnsPath, req.IfName, cfg.MAC, addrs); err != nil {
		a.log().Warn("announcing the addresses failed; peers may answer late", "ovs_port", portName, "err", err)
	}
}

// firstPoll is the first interval of waitActiveStatus.
const firstPoll = 10 * time.Millisecond

func (a *Attacher) waitActive() time.Duration {
	if a.WaitActive > 0 {
		return a.WaitActive
	}
	return 60 * time.Second
}

// waitActiveIfReported waits for ACTIVE in trunk mode; in binding-profile
// mode it returns the port's status as created: real Neutron never makes
// such a port ACTIVE (nothing binds it), so the data-path probe is the
// proof there.
func (a *Attacher) waitActiveIfReported(ctx context.Context, port cloud.Port) (string, error) {
	if !a.trunkMode() {
		return port.Status, nil
	}
	wctx, cancel := context.WithTimeout(ctx, a.waitActive())
	defer cancel()
	status, err := a.waitActiveStatus(wctx, port.ID)
	if err != nil {
		if ierr := interrupted(ctx); ierr != nil {
			return "", ierr
		}
		return "", err
	}
	return status, nil
}

// waitActiveStatus polls Neutron until the port is ACTIVE, which (with OVN)
// means ovn-controller has bound it on the hypervisor: only then can the
// container's traffic flow.
func (a *Attacher) waitActiveStatus(ctx context.Context, portID string) (string, error) {
	maxPoll := a.Poll
	if maxPoll == 0 {
		maxPoll = 250 * time.Millisecond
	}
	poll := min(firstPoll, maxPoll)
	last := ""
	for {
		p, err := a.Cloud.GetPort(ctx, portID)
		if err == nil {
			last = p.Status
			if p.Status == "ACTIVE" {
				return p.Status, nil
			}
		} else if ctx.Err() == nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w within %s: port %s is %q (is ovn-controller running on the VM's hypervisor, and the VM port bound?)", ErrNotActive, a.waitActive(), portID, last)
		case <-time.After(poll):
		}
		poll = min(2*poll, maxPoll)
	}
}

// A probe round lasts firstProbeRound, doubling up to probeRound, before
// attach checks the VM end of the veth and probes again: an answer
// normally comes within milliseconds, and a VM end set down is found
// soon.
const (
	firstProbeRound = 25 * time.Millisecond
	probeRound      = 500 * time.Millisecond
)

// probeDataPath waits until the port's traffic is forwarded, proven by an
// answer of OVN native DHCP to a request from the container's interface
// for ip (see netdev.ProbeDHCP). ACTIVE is not enough: for a child port,
// ovn-controller marks the binding up when it claims it, which can be
// before the port's flows are installed, and the container's first
// packets would be dropped. An invalid ip (no IPv4 subnet with DHCP, or
// a pool entry recorded before the probe existed) skips the probe: there
// is nothing on the network to answer it. Bounded like the wait for
// ACTIVE.
//
// Between rounds without an answer it makes sure the VM end (hostName)
// is up: ovs-vswitchd, closing the previous interface of the same name,
// restores that one's flags by name and can set the new veth down (seen:
// no packet ever left the VM then).
func (a *Attacher) probeDataPath(ctx context.Context, req Request, hostName, portID string, mac net.HardwareAddr, ip netip.Addr) error {
	if !ip.IsValid() {
		// Nothing to probe, but the VM end must still be up: on a
		// network without DHCP (a provider network) a veth set down by
		// ovs-vswitchd left the container without a packet out, and
		// ps and doctor saw nothing wrong.
		a.ensureVMEndUp(ctx, hostName, portID)
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, a.waitActive())
	defer cancel()
	start := time.Now()
	var err error
	for round := firstProbeRound; ; round = min(2*round, probeRound) {
		rctx, rcancel := context.WithTimeout(pctx, round)
		err = a.Links.ProbeDHCP(rctx, req.NetnsPath, req.IfName, mac, ip)
		noReply := rctx.Err() != nil
		rcancel()
		if err == nil {
			a.log().Debug("data path works", "port", portID, "took", time.Since(start))
			return nil
		}
		if errors.Is(err, ErrProbeUnavailable) {
			// The namespace's own DHCP client, if any, will find out.
			a.log().Warn("cannot probe the data path; the first packets may be lost", "port", portID, "ifname", req.IfName, "err", err)
			return nil
		}
		if pctx.Err() != nil || !noReply {
			break
		}
		a.ensureVMEndUp(pctx, hostName, portID)
	}
	if ierr := interrupted(ctx); ierr != nil {
		return ierr
	}
	return fmt.Errorf("%w: port %s (%s, MAC %s, %s in %s) got no answer from the network's DHCP within %s: %w "+
		"(is ovn-controller on the VM's hypervisor running and connected? does the port's Logical_Switch_Port have dhcpv4_options?)",
		ErrNoDataPath, portID, ip, mac, req.IfName, req.NetnsPath, a.waitActive(), err)
}

// ensureVMEndUp sets the VM end of the veth up if ovs-vswitchd set it
// down, and says so.
func (a *Attacher) ensureVMEndUp(ctx context.Context, hostName, portID string) {
	if down, err := a.Links.EnsureUp(ctx, hostName); err != nil {
		a.log().Warn("checking the VM end of the veth", "veth", hostName, "err", err)
	} else if down {
		a.log().Warn("the VM end of the veth was down (set down by ovs-vswitchd); set it up again", "veth", hostName, "port", portID)
	}
}

// rollbackVeth deletes the veth name made by a failed step, even if ctx
// was cancelled (bounded to 30 s); a failure is left to gc.
func (a *Attacher) rollbackVeth(ctx context.Context, name string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.Links.DeleteLink(rctx, name); err != nil {
		a.log().Warn("rollback: deleting veth failed; `ovn-docker gc` will clean up", "veth", name, "err", err)
	}
}

// dhcpProbeAddr is the port's first IPv4 address on a subnet with DHCP
// enabled (the one OVN's DHCP answers for), or the zero Addr.
func dhcpProbeAddr(nw cloud.Network, p cloud.Port) netip.Addr {
	for _, ip := range p.FixedIPs {
		if s, ok := nw.SubnetByID(ip.SubnetID); ok && s.EnableDHCP && ip.IP.Unmap().Is4() {
			return ip.IP.Unmap()
		}
	}
	return netip.Addr{}
}

// portName names the Neutron port after its owner, for humans.
func portName(req Request) string {
	if req.Name != "" {
		return "ovn-docker-" + req.Name + "-" + req.IfName
	}
	owner := req.ContainerID
	if len(owner) > 12 {
		owner = owner[:12]
	}
	if owner == "" {
		owner = "netns"
	}
	return "ovn-docker-" + owner + "-" + req.IfName
}

// ifaceConfig derives the container interface from the Neutron port: every
// fixed IP with its subnet's prefix length, and the subnets' gateways.
func ifaceConfig(name string, nw cloud.Network, p cloud.Port, mtu int, txOff bool) (IfaceConfig, error) {
	cfg := IfaceConfig{Name: name, MAC: net.HardwareAddr(p.MAC), MTU: mtu, DisableTxChecksum: txOff}
	for _, ip := range p.FixedIPs {
		s, ok := nw.SubnetByID(ip.SubnetID)
		if !ok {
			return IfaceConfig{}, fmt.Errorf("port %s has address %s on subnet %s, which network %s does not have", p.ID, ip.IP, ip.SubnetID, nw.ID)
		}
		cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(ip.IP, s.CIDR.Bits()))
		if s.Gateway.IsValid() {
			cfg.Gateways = append(cfg.Gateways, s.Gateway)
		}
	}
	if len(cfg.Addresses) == 0 {
		return IfaceConfig{}, fmt.Errorf("%w: Neutron gave port %s no fixed IP: does network %s have a subnet?", ErrNoAddress, p.ID, nw.Name)
	}
	return cfg, nil
}

// firstInNetns reports whether no other attachment serves req's namespace.
func (a *Attacher) firstInNetns(ctx context.Context, req Request, self string) (bool, error) {
	aps, err := a.ours(ctx)
	if err != nil {
		return false, err
	}
	for _, ap := range aps {
		if ap.Name == self {
			continue
		}
		ids := ap.ExternalIDs
		if ids[KeyNetns] == req.NetnsPath || (req.ContainerID != "" && ids[KeyContainer] == req.ContainerID) {
			return false, nil
		}
	}
	return true, nil
}
