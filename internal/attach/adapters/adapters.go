// Package adapters gives internal/attach the VM's Open vSwitch
// (internal/vswitch) and kernel (internal/netdev) in attach's own types,
// so that the core depends on neither. Every front end (the CLI, the
// benchmarks) uses these.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/netdev"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// Switch is the VM's OVS as an attach.Switch and attach.PoolSwitch.
type Switch struct{ C *vswitch.Client }

var (
	_ attach.Switch     = Switch{}
	_ attach.PoolSwitch = Switch{}
)

func (s Switch) Bridges(ctx context.Context) ([]attach.Bridge, error) {
	bs, err := s.C.Bridges(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]attach.Bridge, 0, len(bs))
	for _, b := range bs {
		out = append(out, attach.Bridge{Name: b.Name, DatapathType: b.DatapathType, Ports: b.Ports, ExternalIDs: b.ExternalIDs})
	}
	return out, nil
}

func (s Switch) ClaimVLAN(ctx context.Context, bridge string, ids map[string]string, avoid map[int]bool) (attach.AccessPort, error) {
	ap, err := s.C.ClaimVLAN(ctx, bridge, ids, avoid)
	return accessPort(ap), err
}

func (s Switch) SetExternalIDs(ctx context.Context, port string, ids map[string]string) error {
	return s.C.SetExternalIDs(ctx, port, ids)
}

func (s Switch) Release(ctx context.Context, port string) error {
	return s.C.Release(ctx, port)
}

func (s Switch) AccessPorts(ctx context.Context) ([]attach.AccessPort, error) {
	aps, err := s.C.AccessPorts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]attach.AccessPort, 0, len(aps))
	for _, ap := range aps {
		out = append(out, accessPort(ap))
	}
	return out, nil
}

func (s Switch) WaitInterfaceUp(ctx context.Context, port string) error {
	return s.C.WaitInterfaceUp(ctx, port)
}

// UpdateExternalIDsIf reports a lost race (or a port gone) as
// attach.ErrPortTaken.
func (s Switch) UpdateExternalIDsIf(ctx context.Context, port string, expect, ids map[string]string) error {
	err := s.C.UpdateExternalIDsIf(ctx, port, expect, ids)
	if errors.Is(err, vswitch.ErrChanged) || errors.Is(err, vswitch.ErrNotFound) {
		return fmt.Errorf("%w: %w", attach.ErrPortTaken, err)
	}
	return err
}

func (s Switch) RenewInterface(ctx context.Context, port string) error {
	return s.C.RenewInterface(ctx, port)
}

func (s Switch) BridgeExternalIDs(ctx context.Context, bridge string) (map[string]string, error) {
	bs, err := s.C.Bridges(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range bs {
		if b.Name == bridge {
			return maps.Clone(b.ExternalIDs), nil
		}
	}
	return nil, fmt.Errorf("%w: %q", vswitch.ErrNoBridge, bridge)
}

func (s Switch) SetBridgeExternalIDs(ctx context.Context, bridge string, ids map[string]string) error {
	return s.C.SetBridgeExternalIDs(ctx, bridge, ids)
}

func accessPort(ap vswitch.AccessPort) attach.AccessPort {
	return attach.AccessPort{Name: ap.Name, Bridge: ap.Bridge, VLAN: ap.VLAN, ExternalIDs: ap.ExternalIDs, OFPort: ap.OFPort, Error: ap.Error}
}

// Links is the kernel (netlink) as attach.Links.
type Links struct{ N *netdev.Netlink }

// NewLinks returns the kernel's links for attach.
func NewLinks(log *slog.Logger) Links { return Links{netdev.New(log)} }

func (l Links) CreateVeth(ctx context.Context, host, nsPath string, cfg attach.IfaceConfig) error {
	return l.N.CreateVeth(ctx, host, nsPath, netdev.IfaceConfig{
		Name: cfg.Name, MAC: cfg.MAC, Addresses: cfg.Addresses, Gateways: cfg.Gateways,
		MTU: cfg.MTU, DisableTxChecksum: cfg.DisableTxChecksum, NoIPv6AddrGen: cfg.NoIPv6AddrGen,
	})
}

var _ attach.PeerMover = Links{}

func (l Links) MoveLink(ctx context.Context, name, nsPath string, cfg attach.IfaceConfig) error {
	err := l.N.MoveLink(ctx, name, nsPath, netdev.IfaceConfig{
		Name: cfg.Name, MAC: cfg.MAC, Addresses: cfg.Addresses, Gateways: cfg.Gateways,
		MTU: cfg.MTU, DisableTxChecksum: cfg.DisableTxChecksum,
	})
	if errors.Is(err, netdev.ErrNoLink) {
		return fmt.Errorf("%w: %w", attach.ErrNoParkedPeer, err)
	}
	return err
}

func (l Links) DeleteLink(ctx context.Context, name string) error {
	return l.N.DeleteLink(ctx, name)
}

func (l Links) LinkMTU(ctx context.Context, name string) (int, error) {
	return l.N.LinkMTU(ctx, name)
}

func (l Links) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	return l.N.LinkMAC(ctx, name)
}

func (l Links) EnsureUp(ctx context.Context, name string) (bool, error) {
	return l.N.EnsureUp(ctx, name)
}

func (l Links) ProbeDHCP(ctx context.Context, nsPath, ifName string, mac net.HardwareAddr, ip netip.Addr) error {
	err := l.N.ProbeDHCP(ctx, nsPath, ifName, mac, ip)
	if errors.Is(err, netdev.ErrDHCPPortInUse) {
		return fmt.Errorf("%w: %w", attach.ErrProbeUnavailable, err)
	}
	return err
}
