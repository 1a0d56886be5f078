package ovn

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Network is a Neutron network as stored on its Logical_Switch.
type Network struct {
	ID           string
	Name         string
	Description  string
	ProjectID    string
	AdminStateUp bool
	Shared       bool
	MTU          int
	// PortSecurity is the default of the network's new ports.
	PortSecurity bool
	// External is router:external: routers may have their gateway here.
	External  bool
	Segment   Segment
	Tags      []string
	Revision  int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// SubnetIDs is derived from the subnets whose network is this one.
	SubnetIDs []string

	uuid string
	ext  map[string]string
}

// Subnet is a Neutron subnet as stored on its DHCP_Options row.
type Subnet struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	NetworkID   string
	IPVersion   int
	CIDR        netip.Prefix
	Gateway     netip.Addr // invalid when the subnet has no gateway
	Pools       []ipam.Pool
	EnableDHCP  bool
	DNS         []string
	HostRoutes  []HostRoute
	// ServiceTypes are the device_owner values the subnet serves (empty:
	// any).
	ServiceTypes []string
	SubnetPoolID string
	Tags         []string
	Revision     int64
	CreatedAt    time.Time
	UpdatedAt    time.Time

	uuid string
	ext  map[string]string
	// options are the row's DHCP options (a port's own row starts from them)
	options map[string]string
}

// HostRoute is a route a subnet's DHCP hands out.
type HostRoute struct {
	Destination string `json:"destination"`
	NextHop     string `json:"nexthop"`
}

// FixedIP is one address of a port.
type FixedIP struct {
	SubnetID  string     `json:"subnet_id"`
	IPAddress netip.Addr `json:"ip_address"`
}

// Port is a Neutron port as stored on its Logical_Switch_Port.
type Port struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	NetworkID   string
	MAC         string
	FixedIPs    []FixedIP
	DeviceID    string
	DeviceOwner string
	// DNSName is dns_name (dns-integration).
	DNSName string
	// HostID is binding:host_id, kept for clients that read it back
	// (no requested-chassis: the VM's chassis binds the port by iface-id).
	HostID       string
	AdminStateUp bool
	PortSecurity bool
	// Profile is binding:profile exactly as the client set it (JSON
	// object), so GET returns what was written.
	Profile             json.RawMessage
	ParentName          string
	Tag                 int
	AllowedAddressPairs []AddressPair
	ExtraDHCPOpts       []DHCPOpt
	// SecurityGroups are the ids of the port's security groups.
	SecurityGroups []string
	Tags           []string
	// Trunk is set when the port is a trunk's parent; SubportOf names
	// the trunk the port is a subport of.
	Trunk     *TrunkRecord
	SubportOf string
	Up        bool
	// Derived when the port is read (see view.present), not stored.
	Status       string // ACTIVE or DOWN
	VIFType      string // binding:vif_type
	TrunkDetails *TrunkDetails
	Revision     int64
	CreatedAt    time.Time
	UpdatedAt    time.Time

	uuid string
	ext  map[string]string
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func networkFromRow(ls *nbdb.LogicalSwitch) (*Network, bool) {
	id, ok := strings.CutPrefix(ls.Name, lsPrefix)
	if !ok || ls.ExternalIDs[keyProjectID] == "" {
		return nil, false // not ours
	}
	e := ls.ExternalIDs
	mtu, _ := strconv.Atoi(e[keyMTU])
	return &Network{
		ID:           id,
		Name:         e[keyNetworkName],
		Description:  e[keyDescription],
		ProjectID:    e[keyProjectID],
		AdminStateUp: e[keyAdminStateUp] != "false",
		Shared:       e[keyShared] == "true",
		MTU:          mtu,
		PortSecurity: e[keyPortSecurity] != "false",
		External:     e[keyRouterExternal] == "true",
		Segment:      segmentFromExt(e),
		Tags:         jsonList[string](e[keyTags]),
		Revision:     atoi64(e[keyRevision]),
		CreatedAt:    parseTime(e[keyCreatedAt]),
		UpdatedAt:    parseTime(e[keyUpdatedAt]),
		uuid:         ls.UUID,
		ext:          e,
	}, true
}

func subnetFromRow(d *nbdb.DHCPOptions) (*Subnet, bool) {
	e := d.ExternalIDs
	id := e[keySubnetID]
	if id == "" || e[keyDHCPPortID] != "" {
		return nil, false
	}
	cidr, err := netip.ParsePrefix(d.Cidr)
	if err != nil {
		return nil, false
	}
	s := &Subnet{
		ID:          id,
		Name:        e[keySubnetName],
		Description: e[keyDescription],
		ProjectID:   e[keyProjectID],
		NetworkID:   e[keyNetworkID],
		CIDR:        cidr,
		EnableDHCP:  e[keyEnableDHCP] == "true",
		Revision:    atoi64(e[keyRevision]),
		CreatedAt:   parseTime(e[keyCreatedAt]),
		UpdatedAt:   parseTime(e[keyUpdatedAt]),
		uuid:        d.UUID,
		ext:         e,
		options:     d.Options,
	}
	s.IPVersion, _ = strconv.Atoi(e[keyIPVersion])
	if gw, err := netip.ParseAddr(e[keyGateway]); err == nil {
		s.Gateway = gw
	}
	_ = json.Unmarshal([]byte(e[keyPools]), &s.Pools)
	_ = json.Unmarshal([]byte(e[keyDNS]), &s.DNS)
	if s.DNS == nil {
		s.DNS = []string{}
	}
	s.HostRoutes = jsonList[HostRoute](e[keyHostRoutes])
	s.ServiceTypes = jsonList[string](e[keyServiceTypes])
	s.SubnetPoolID = e[keyPoolID]
	s.Tags = jsonList[string](e[keyTags])
	return s, true
}

func portFromRow(lsp *nbdb.LogicalSwitchPort) (*Port, bool) {
	e := lsp.ExternalIDs
	if e[keyProjectID] == "" {
		return nil, false
	}
	p := &Port{
		ID:           lsp.Name,
		Name:         e[keyPortName],
		Description:  e[keyDescription],
		ProjectID:    e[keyProjectID],
		NetworkID:    strings.TrimPrefix(e[keyNetworkName], lsPrefix),
		MAC:          e[keyMAC],
		DeviceID:     e[keyDeviceID],
		DeviceOwner:  e[keyDeviceOwner],
		DNSName:      e[keyDNSName],
		HostID:       e[keyHostID],
		AdminStateUp: lsp.Enabled == nil || *lsp.Enabled,
		PortSecurity: e[keyPortSecurity] != "false",
		Up:           lsp.Up != nil && *lsp.Up,
		Revision:     atoi64(e[keyRevision]),
		CreatedAt:    parseTime(e[keyCreatedAt]),
		UpdatedAt:    parseTime(e[keyUpdatedAt]),
		uuid:         lsp.UUID,
		ext:          e,
	}
	_ = json.Unmarshal([]byte(e[keyFixedIPs]), &p.FixedIPs)
	if p.FixedIPs == nil {
		p.FixedIPs = []FixedIP{}
	}
	p.AllowedAddressPairs = jsonList[AddressPair](e[keyAllowedAddressPairs])
	p.ExtraDHCPOpts = jsonList[DHCPOpt](e[keyExtraDHCPOpts])
	p.Tags = jsonList[string](e[keyTags])
	p.SecurityGroups = strings.Fields(e[keyPortSecurityGroups])
	if raw := e[keyBindingProfile]; raw != "" {
		p.Profile = json.RawMessage(raw)
	}
	if lsp.ParentName != nil {
		p.ParentName = *lsp.ParentName
	}
	p.Trunk = trunkFromExt(e)
	p.SubportOf = e[keySubportOf]
	if lsp.TagRequest != nil {
		p.Tag = *lsp.TagRequest
	}
	return p, true
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
