package adapters

import (
	"context"
	"net"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

var _ attach.Announcer = Links{}

func (l Links) Announce(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, addrs []netip.Addr) error {
	return l.N.Announce(ctx, netnsPath, ifName, mac, addrs)
}
