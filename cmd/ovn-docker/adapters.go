package main

import (
	"context"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// switchAdapter gives attach the VM's OVS in attach's own types, so the
// core does not depend on the OVSDB client.
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
