package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/netdev"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// The same thin adapters as cmd/ovn-docker's (switchAdapter, linksAdapter):
// attach's interfaces over internal/vswitch and internal/netdev.

type switchAdapter struct{ c *vswitch.Client }

func (s switchAdapter) Bridges(ctx context.Context) ([]attach.Bridge, error) {
	bs, err := s.c.Bridges(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]attach.Bridge, 0, len(bs))
	for _, b := range bs {
		out = append(out, attach.Bridge{Name: b.Name, DatapathType: b.DatapathType, Ports: b.Ports})
	}
	return out, nil
}

func (s switchAdapter) ClaimVLAN(ctx context.Context, bridge string, ids map[string]string) (attach.AccessPort, error) {
	ap, err := s.c.ClaimVLAN(ctx, bridge, ids)
	return accessPort(ap), err
}

func (s switchAdapter) SetExternalIDs(ctx context.Context, port string, ids map[string]string) error {
	return s.c.SetExternalIDs(ctx, port, ids)
}

func (s switchAdapter) Release(ctx context.Context, port string) error {
	return s.c.Release(ctx, port)
}

func (s switchAdapter) AccessPorts(ctx context.Context) ([]attach.AccessPort, error) {
	aps, err := s.c.AccessPorts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]attach.AccessPort, 0, len(aps))
	for _, ap := range aps {
		out = append(out, accessPort(ap))
	}
	return out, nil
}

func (s switchAdapter) WaitInterfaceUp(ctx context.Context, port string) error {
	return s.c.WaitInterfaceUp(ctx, port)
}

func accessPort(ap vswitch.AccessPort) attach.AccessPort {
	return attach.AccessPort{Name: ap.Name, Bridge: ap.Bridge, VLAN: ap.VLAN, ExternalIDs: ap.ExternalIDs, OFPort: ap.OFPort, Error: ap.Error}
}

type linksAdapter struct{ n *netdev.Netlink }

func newLinks(log *slog.Logger) attach.Links { return linksAdapter{netdev.New(log)} }

func (l linksAdapter) CreateVeth(ctx context.Context, host, nsPath string, cfg attach.IfaceConfig) error {
	return l.n.CreateVeth(ctx, host, nsPath, netdev.IfaceConfig{
		Name: cfg.Name, MAC: cfg.MAC, Addresses: cfg.Addresses, Gateways: cfg.Gateways,
		MTU: cfg.MTU, DisableTxChecksum: cfg.DisableTxChecksum,
	})
}

func (l linksAdapter) DeleteLink(ctx context.Context, name string) error {
	return l.n.DeleteLink(ctx, name)
}

func (l linksAdapter) LinkMTU(ctx context.Context, name string) (int, error) {
	return l.n.LinkMTU(ctx, name)
}

func (l linksAdapter) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	return l.n.LinkMAC(ctx, name)
}
