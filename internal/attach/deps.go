package attach

import (
	"context"
	"net"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// AccessPort is a VLAN access port of the VM bridge.
type AccessPort struct {
	Name        string
	Bridge      string
	VLAN        int
	ExternalIDs map[string]string
	OFPort      int
	Error       string
}

// Bridge is an OVS bridge of the VM.
type Bridge struct {
	Name         string
	DatapathType string
	Ports        []string
}

// Switch is what attach needs from the VM's OVS.
type Switch interface {
	Bridges(ctx context.Context) ([]Bridge, error)
	ClaimVLAN(ctx context.Context, bridge string, externalIDs map[string]string) (AccessPort, error)
	SetExternalIDs(ctx context.Context, portName string, ids map[string]string) error
	Release(ctx context.Context, portName string) error
	AccessPorts(ctx context.Context) ([]AccessPort, error)
	WaitInterfaceUp(ctx context.Context, portName string) error
}

// IfaceConfig is the container end of the veth.
type IfaceConfig struct {
	Name              string
	MAC               net.HardwareAddr
	Addresses         []netip.Prefix
	Gateways          []netip.Addr
	MTU               int
	DisableTxChecksum bool
}

// Links is what attach needs from the kernel.
type Links interface {
	CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) error
	DeleteLink(ctx context.Context, name string) error
	LinkMTU(ctx context.Context, name string) (int, error)
	LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error)
}

// Cloud is what attach needs from Neutron.
type Cloud interface {
	FindNetwork(ctx context.Context, nameOrID string) (cloud.Network, error)
	GetNetwork(ctx context.Context, id string) (cloud.Network, error)
	CreateChildPort(ctx context.Context, o cloud.ChildPortOpts) (cloud.Port, error)
	GetPort(ctx context.Context, id string) (cloud.Port, error)
	DeletePort(ctx context.Context, id string) error
	ListPorts(ctx context.Context, f cloud.PortFilter) ([]cloud.Port, error)
}
