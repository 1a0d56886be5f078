package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/netdev"
)

// linksAdapter gives attach the kernel (internal/netdev) in attach's types.
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
