package attach

import (
	"context"
	"errors"
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
	ExternalIDs  map[string]string
}

// ErrPortTaken: a guarded transition of an access port found it changed
// (another process took or removed it first).
var ErrPortTaken = errors.New("access port changed meanwhile")

// ErrProbeUnavailable: Links.ProbeDHCP could not probe at all (e.g. the
// namespace already has a DHCP client holding UDP port 68).
var ErrProbeUnavailable = errors.New("data-path probe not possible")

// PoolSwitch is what the port pool needs from the VM's OVS on top of
// Switch.
type PoolSwitch interface {
	// UpdateExternalIDsIf changes the port's external_ids (a "" value
	// removes the key) in one transaction that applies only if the
	// port's external_ids still include expect; otherwise, or if the port
	// is gone, it fails with an error wrapping ErrPortTaken.
	UpdateExternalIDsIf(ctx context.Context, portName string, expect, ids map[string]string) error
	// RenewInterface replaces the port's Interface by a fresh one of the
	// same name once OVS has let go of the old one, so that waiting for
	// the next veth of that name to come up means something.
	RenewInterface(ctx context.Context, portName string) error
	BridgeExternalIDs(ctx context.Context, bridge string) (map[string]string, error)
	// SetBridgeExternalIDs sets keys ("" removes) on the bridge.
	SetBridgeExternalIDs(ctx context.Context, bridge string, ids map[string]string) error
}

// Switch is what attach needs from the VM's OVS.
type Switch interface {
	Bridges(ctx context.Context) ([]Bridge, error)
	// ClaimVLAN claims a free VLAN other than those in avoid (VLANs
	// Neutron holds under the VM's port) with an access port.
	ClaimVLAN(ctx context.Context, bridge string, externalIDs map[string]string, avoid map[int]bool) (AccessPort, error)
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
	// NoIPv6AddrGen: IPv6 address generation off (a parked peer, with
	// no address, then sends nothing).
	NoIPv6AddrGen bool
}

// Links is what attach needs from the kernel.
type Links interface {
	CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) error
	DeleteLink(ctx context.Context, name string) error
	LinkMTU(ctx context.Context, name string) (int, error)
	LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error)
	// ProbeDHCP returns once a DHCP server answered a request for ip
	// sent from ifName (MAC mac) in the namespace, retrying until ctx
	// ends. With OVN native DHCP the answer comes from the logical
	// port's own flows, so it proves they are installed. An error
	// wrapping ErrProbeUnavailable means the probe could not be made
	// (not that the data path is broken).
	ProbeDHCP(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, ip netip.Addr) error
	// EnsureUp sets a link of the VM up if it is down and reports
	// whether it was.
	EnsureUp(ctx context.Context, name string) (bool, error)
}

// PeerMover may be implemented by Links; the pool parks each entry's
// veth, proven, in the VM only if it is (see pool.go). MoveLink moves the
// VM's link name into the namespace at netnsPath, renames it cfg.Name and
// configures it (addresses, up, routes; MAC and MTU stay); the other end
// of the veth stays, and with it OVS's port. On failure the veth is gone.
// A missing link is an error wrapping ErrNoParkedPeer.
type PeerMover interface {
	MoveLink(ctx context.Context, name, netnsPath string, cfg IfaceConfig) error
}

// ErrNoParkedPeer: a pool entry's parked veth end is not in the VM.
var ErrNoParkedPeer = errors.New("parked veth end missing")

// Announcer may be implemented by Links. Announce tells the network that
// addrs are at mac now, from ifName in the namespace at netnsPath
// (gratuitous ARP, unsolicited neighbour advertisement). Peers may hold a
// stale neighbour entry for a reused address (a port deleted, its address
// given to a new port with another MAC: real Neutron picks addresses at
// random among the free ones), and OVN answers ARP and neighbour
// solicitations itself, so without an announcement they would not learn
// the new MAC until the entry expires: the container's first packets
// would get no reply.
type Announcer interface {
	Announce(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, addrs []netip.Addr) error
}

// Cloud is what attach needs from Neutron.
type Cloud interface {
	FindNetwork(ctx context.Context, nameOrID string) (cloud.Network, error)
	GetNetwork(ctx context.Context, id string) (cloud.Network, error)
	// CreateChildPort makes a binding:profile child (ModeBindingProfile).
	CreateChildPort(ctx context.Context, o cloud.ChildPortOpts) (cloud.Port, error)
	// CreatePort makes a plain port, a trunk's subport to be (ModeTrunk).
	CreatePort(ctx context.Context, o cloud.PortOpts) (cloud.Port, error)
	// FindTrunk: the trunk whose parent is portID, or ErrNotFound.
	FindTrunk(ctx context.Context, portID string) (cloud.Trunk, error)
	// EnsureTrunk: FindTrunk, creating the trunk if there is none.
	EnsureTrunk(ctx context.Context, portID, name string) (cloud.Trunk, error)
	GetTrunk(ctx context.Context, id string) (cloud.Trunk, error)
	AddSubport(ctx context.Context, trunkID, portID string, vlan int) error
	// RemoveSubport: a subport or trunk already gone is not an error.
	RemoveSubport(ctx context.Context, trunkID, portID string) error
	GetPort(ctx context.Context, id string) (cloud.Port, error)
	DeletePort(ctx context.Context, id string) error
	ListPorts(ctx context.Context, f cloud.PortFilter) ([]cloud.Port, error)
	// ResolveSecurityGroups: the ids of the project's groups given by
	// name or id (sorted, no repeats); ErrNotFound names a bad value.
	ResolveSecurityGroups(ctx context.Context, namesOrIDs []string) ([]string, error)
	// ProjectID is the project the credentials are scoped to: pool ports
	// are taken only by their own project.
	ProjectID() string
}
