package attach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// Sentinel errors.
var (
	ErrMTU       = errors.New("network MTU exceeds the VM NIC's MTU")
	ErrNotActive = errors.New("port did not become ACTIVE")
	ErrNoNetns   = errors.New("network namespace does not exist")
	ErrNoAddress = errors.New("port has no address")
)

// Attacher attaches network namespaces of one VM.
type Attacher struct {
	Switch Switch
	Links  Links
	Cloud  Cloud
	VM     VM
	Log    *slog.Logger
	// WaitActive bounds the wait for Neutron to report the port ACTIVE
	// (zero: 60s); Poll is the interval (zero: 250ms).
	WaitActive time.Duration
	Poll       time.Duration
	// PID is recorded on claimed ports so GC leaves attaches in progress
	// alone (zero: os.Getpid()).
	PID int
}

// Request says which namespace to attach to which network.
type Request struct {
	NetnsPath   string
	IfName      string // default eth0
	Network     string // name or id
	ContainerID string // the namespace's owner, if a container
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
	Status      string         `json:"status,omitempty"`
	State       string         `json:"state,omitempty"`
}

func (a *Attacher) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

// Attach connects req.NetnsPath to req.Network. On failure every step
// already done is undone, in reverse order.
func (a *Attacher) Attach(ctx context.Context, req Request) (_ Attachment, err error) {
	if req.IfName == "" {
		req.IfName = "eth0"
	}
	if _, err := os.Stat(req.NetnsPath); err != nil {
		return Attachment{}, fmt.Errorf("%w: %s: %v", ErrNoNetns, req.NetnsPath, err)
	}
	nw, err := a.Cloud.FindNetwork(ctx, req.Network)
	if err != nil {
		return Attachment{}, err
	}
	mtu := nw.MTU
	if a.VM.UplinkMTU > 0 {
		if mtu > a.VM.UplinkMTU {
			return Attachment{}, fmt.Errorf("%w: network %s has MTU %d but the VM NIC %s has %d: raise the NIC's MTU or lower the network's", ErrMTU, nw.Name, mtu, a.VM.Uplink, a.VM.UplinkMTU)
		}
		if mtu == 0 {
			mtu = a.VM.UplinkMTU
		}
	}
	var undo []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		// Undo even if ctx was cancelled: leaving a half-made attachment
		// is worse than a late rollback.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](rctx); uerr != nil {
				a.log().Warn("rollback step failed; `ovn-docker gc` will clean up", "err", uerr)
			}
		}
	}()

	pid := a.PID
	if pid == 0 {
		pid = os.Getpid()
	}
	// Steps that create something are not cut short by ctx: the other
	// side (OVSDB, Neutron, kernel) could complete them unknown to us, and
	// nothing would undo them. ctx is checked between steps instead.
	nc := context.WithoutCancel(ctx)
	interrupted := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted: %w", err)
		}
		return nil
	}
	ap, err := a.Switch.ClaimVLAN(nc, a.VM.Bridge, map[string]string{
		KeyContainer: req.ContainerID,
		KeyNetns:     req.NetnsPath,
		KeyIfName:    req.IfName,
		KeyNetwork:   nw.ID,
		KeyVIF:       a.VM.VIFID,
		KeyState:     stateAttaching,
		KeyPID:       strconv.Itoa(pid),
	})
	if err != nil {
		return Attachment{}, fmt.Errorf("claiming a VLAN on bridge %s: %w", a.VM.Bridge, err)
	}
	undo = append(undo, func(ctx context.Context) error { return a.Switch.Release(ctx, ap.Name) })
	log := a.log().With("ovs_port", ap.Name, "vlan", ap.VLAN, "network", nw.ID)
	log.Debug("claimed VLAN")

	if err := interrupted(); err != nil {
		return Attachment{}, err
	}
	port, err := a.Cloud.CreateChildPort(nc, cloud.ChildPortOpts{
		NetworkID: nw.ID,
		Name:      portName(req),
		ParentID:  a.VM.VIFID,
		Tag:       ap.VLAN,
		DeviceID:  req.ContainerID,
	})
	if err != nil {
		return Attachment{}, err
	}
	undo = append(undo, func(ctx context.Context) error { return a.Cloud.DeletePort(ctx, port.ID) })
	log = log.With("port", port.ID)
	if err := a.Switch.SetExternalIDs(nc, ap.Name, map[string]string{KeyPort: port.ID}); err != nil {
		return Attachment{}, fmt.Errorf("recording port %s on OVS port %s: %w", port.ID, ap.Name, err)
	}

	cfg, err := ifaceConfig(req.IfName, nw, port, mtu, a.VM.DatapathType == "netdev")
	if err != nil {
		return Attachment{}, err
	}
	// The namespace's first interface carries the default route; a second
	// network is reached on its subnet only.
	if first, err := a.firstInNetns(ctx, req, ap.Name); err != nil {
		return Attachment{}, err
	} else if !first {
		cfg.Gateways = nil
	}
	if err := interrupted(); err != nil {
		return Attachment{}, err
	}
	if err := a.Links.CreateVeth(nc, ap.Name, req.NetnsPath, cfg); err != nil {
		return Attachment{}, fmt.Errorf("creating veth %s <-> %s in %s: %w", ap.Name, req.IfName, req.NetnsPath, err)
	}
	undo = append(undo, func(ctx context.Context) error { return a.Links.DeleteLink(ctx, ap.Name) })
	log.Debug("veth created")

	// ovs-vswitchd opens the new veth within milliseconds; a long wait
	// means it is not running.
	octx, ocancel := context.WithTimeout(ctx, 15*time.Second)
	defer ocancel()
	if err := a.Switch.WaitInterfaceUp(octx, ap.Name); err != nil {
		if ierr := interrupted(); ierr != nil {
			return Attachment{}, ierr
		}
		return Attachment{}, fmt.Errorf("OVS did not bring up %s: %w", ap.Name, err)
	}
	wctx, cancel := context.WithTimeout(ctx, a.waitActive())
	defer cancel()
	status, err := a.waitActiveStatus(wctx, port.ID)
	if err != nil {
		if ierr := interrupted(); ierr != nil {
			return Attachment{}, ierr
		}
		return Attachment{}, err
	}
	if err := a.Switch.SetExternalIDs(ctx, ap.Name, map[string]string{KeyState: stateReady, KeyPID: ""}); err != nil {
		return Attachment{}, fmt.Errorf("marking OVS port %s ready: %w", ap.Name, err)
	}
	log.Info("attached", "netns", req.NetnsPath, "ifname", req.IfName)
	return Attachment{
		PortName: ap.Name, Bridge: a.VM.Bridge, VLAN: ap.VLAN,
		ContainerID: req.ContainerID, NetnsPath: req.NetnsPath, IfName: req.IfName,
		NetworkID: nw.ID, NetworkName: nw.Name, PortID: port.ID, MAC: port.MAC.String(),
		Addresses: cfg.Addresses, Gateways: cfg.Gateways, MTU: cfg.MTU, Status: status, State: stateReady,
	}, nil
}

func (a *Attacher) waitActive() time.Duration {
	if a.WaitActive > 0 {
		return a.WaitActive
	}
	return 60 * time.Second
}

// waitActiveStatus polls Neutron until the port is ACTIVE, which (with OVN)
// means ovn-controller has bound it on the hypervisor: only then can the
// container's traffic flow.
func (a *Attacher) waitActiveStatus(ctx context.Context, portID string) (string, error) {
	poll := a.Poll
	if poll == 0 {
		poll = 250 * time.Millisecond
	}
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
	}
}

// portName names the Neutron port after its owner, for humans.
func portName(req Request) string {
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
