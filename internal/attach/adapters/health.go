package adapters

import (
	"context"
	"net/netip"
)

// LinkInNetns makes Links an attach.NetnsLinks.
func (l Links) LinkInNetns(ctx context.Context, nsPath, name string) (bool, error) {
	return l.N.LinkInNetns(ctx, nsPath, name)
}

// LinkExists makes Links an attach.LinkInspector.
func (l Links) LinkExists(ctx context.Context, name string) (bool, error) {
	return l.N.LinkExists(ctx, name)
}

// LinkDown makes Links an attach.LinkInspector.
func (l Links) LinkDown(ctx context.Context, name string) (bool, error) {
	return l.N.LinkDown(ctx, name)
}

// LinkAddrs makes Links an attach.AddrInspector.
func (l Links) LinkAddrs(ctx context.Context, nsPath, name string) ([]netip.Prefix, error) {
	return l.N.LinkAddrs(ctx, nsPath, name)
}

// VethPeers: the namespace's veths whose other end is in the VM, by name.
func (l Links) VethPeers(ctx context.Context, nsPath string) (map[string]string, error) {
	return l.N.VethPeers(ctx, nsPath)
}
