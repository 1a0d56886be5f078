package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Records on the VM bridge's external_ids.
const (
	// keyPoolPrefix + pool CIDR: "pending" from RequestPool until
	// CreateNetwork binds the pool to a Neutron subnet ("<network id>
	// <subnet id>", then " <group id>,<group id>…" when the network was
	// created with -o security_groups): a pool serves one Docker network
	// of this VM.
	keyPoolPrefix = "ovn-docker:docker-pool:"
	// keyNetworkPrefix + Docker network id: "<network id> <subnet id>
	// <pool CIDR> <created>", created being "created" when this VM made
	// the Neutron network (so `docker network rm` may delete it) or "found".
	keyNetworkPrefix = "ovn-docker:docker-network:"
	poolPending      = "pending"
	netCreated       = "created"
	netFound         = "found"
)

// Bridge is the VM bridge's external_ids.
type Bridge interface {
	BridgeExternalIDs(ctx context.Context, bridge string) (map[string]string, error)
	// SetBridgeExternalIDs sets keys ("" removes).
	SetBridgeExternalIDs(ctx context.Context, bridge string, ids map[string]string) error
}

// network is a Docker network's record.
type network struct {
	NeutronID, SubnetID string
	Pool                netip.Prefix
	Created             bool
}

func (n network) String() string {
	c := netFound
	if n.Created {
		c = netCreated
	}
	return strings.Join([]string{n.NeutronID, n.SubnetID, n.Pool.String(), c}, " ")
}

func parseNetwork(s string) (network, error) {
	f := strings.Fields(s)
	if len(f) != 4 {
		return network{}, fmt.Errorf("record %q: want 4 fields", s)
	}
	p, err := netip.ParsePrefix(f[2])
	if err != nil {
		return network{}, fmt.Errorf("record %q: %w", s, err)
	}
	return network{NeutronID: f[0], SubnetID: f[1], Pool: p, Created: f[3] == netCreated}, nil
}
