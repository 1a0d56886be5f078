package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// DeviceOwner marks the ports the plugin makes for containers in
// binding-profile mode, so that `openstack port list --device-owner`
// tells an operator whose they are (subports get Neutron's own
// trunk:subport; their name and description say it there).
const DeviceOwner = "compute:ovn-docker"

// LegacyDeviceOwner is what earlier versions gave those ports: still
// recognised, so that their ports are cleaned up too.
const LegacyDeviceOwner = "compute:container"

// IsContainerOwner: owner marks a container port of the plugin.
func IsContainerOwner(owner string) bool { return owner == DeviceOwner || owner == LegacyDeviceOwner }

// Port is a Neutron port as the plugin needs it.
type Port struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	NetworkID   string           `json:"network_id"`
	MAC         net.HardwareAddr `json:"-"`
	FixedIPs    []FixedIP        `json:"fixed_ips"`
	Status      string           `json:"status"`
	DeviceID    string           `json:"device_id"`
	DeviceOwner string           `json:"device_owner"`
	// ParentName and Tag come from binding:profile: the VM port this port
	// is a child of, and the VLAN that tells it apart inside the VM. Real
	// Neutron shows binding:profile to admins only: for a member they are
	// empty, also on trunk subports (see Trunk for those).
	ParentName string `json:"parent_name,omitempty"`
	Tag        int    `json:"tag,omitempty"`
	// SecurityGroups are the port's groups (ids).
	SecurityGroups []string `json:"security_groups,omitempty"`
	// CreatedAt is zero if Neutron does not say.
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// FixedIP is one address of a port, on one subnet.
type FixedIP struct {
	SubnetID string     `json:"subnet_id"`
	IP       netip.Addr `json:"ip_address"`
}

// ChildPortOpts describe a container's port: a child of the VM's port.
type ChildPortOpts struct {
	NetworkID string
	Name      string
	ParentID  string // the VM's port (vif-id)
	Tag       int    // the VLAN inside the VM
	DeviceID  string
	// FixedIP, if valid, is the address asked for (e.g. docker run --ip);
	// Neutron picks the subnet that holds it.
	FixedIP netip.Addr
	// SecurityGroups are the port's groups (ids); nil: the project's
	// default group, as Neutron gives it.
	SecurityGroups []string
	// DNSName, if set, is the port's dns_name (only where the cloud has
	// ExtDNSIntegration).
	DNSName string
}

// PortOpts describe a plain port (trunk mode: it becomes a child of the
// VM's port when added to the VM's trunk).
type PortOpts struct {
	NetworkID   string
	Name        string
	Description string
	FixedIP     netip.Addr // see ChildPortOpts
	// SecurityGroups and DNSName: see ChildPortOpts.
	SecurityGroups []string
	DNSName        string
}

// PortFilter selects ports; empty fields do not filter.
type PortFilter struct {
	NetworkID   string
	DeviceOwner string
	DeviceID    string
	MAC         string
	Description string
}

type portWithBinding struct {
	ports.Port
	portsbinding.PortsBindingExt
}

// CreateChildPort creates the container's port with binding:profile
// {parent_name, tag} (binding-profile mode). ovn-neutrond checks that the
// parent belongs to the caller's project; real Neutron does not (it only
// checks that the parent exists), forbids members to set binding:profile
// by default, and never makes such a port ACTIVE. Neutron allocates IP and
// MAC.
func (c *Client) CreateChildPort(ctx context.Context, o ChildPortOpts) (Port, error) {
	up := true
	opts := portsbinding.CreateOptsExt{
		CreateOptsBuilder: withDNSName(ports.CreateOpts{
			NetworkID:      o.NetworkID,
			Name:           o.Name,
			AdminStateUp:   &up,
			DeviceOwner:    DeviceOwner,
			DeviceID:       o.DeviceID,
			FixedIPs:       fixedIPs(o.FixedIP),
			SecurityGroups: securityGroups(o.SecurityGroups),
		}, o.DNSName),
		Profile: map[string]any{"parent_name": o.ParentID, "tag": o.Tag},
	}
	var p portWithBinding
	if err := ports.Create(ctx, c.net, opts).ExtractInto(&p); err != nil {
		err = c.apiError(fmt.Sprintf("creating a port on network %s as child of VM port %s with VLAN %d", o.NetworkID, o.ParentID, o.Tag), err)
		if errors.Is(err, ErrForbidden) {
			return Port{}, fmt.Errorf("%w (Neutron's policy forbids members to set binding:profile: rule create_port:binding:profile): "+
				"use trunk mode (--port-mode=trunk, the default where the cloud has the trunk extension) or ask the operator; "+
				"relaxing that policy is unsafe on real Neutron, which does not check who owns the parent port", err)
		}
		return Port{}, err
	}
	return toPort(p)
}

// CreatePort creates a plain port on a network (no binding, no parent).
func (c *Client) CreatePort(ctx context.Context, o PortOpts) (Port, error) {
	up := true
	var p portWithBinding
	opts := ports.CreateOpts{NetworkID: o.NetworkID, Name: o.Name, Description: o.Description, AdminStateUp: &up, FixedIPs: fixedIPs(o.FixedIP),
		SecurityGroups: securityGroups(o.SecurityGroups)}
	if err := ports.Create(ctx, c.net, withDNSName(opts, o.DNSName)).ExtractInto(&p); err != nil {
		return Port{}, c.apiError(fmt.Sprintf("creating a port on network %s", o.NetworkID), err)
	}
	return toPort(p)
}

// GetPort fetches a port by id (ErrNotFound if it is gone).
func (c *Client) GetPort(ctx context.Context, id string) (Port, error) {
	var p portWithBinding
	if err := ports.Get(ctx, c.net, id).ExtractInto(&p); err != nil {
		return Port{}, c.apiError(fmt.Sprintf("getting port %s", id), err)
	}
	return toPort(p)
}

// DeletePort deletes a port; a port that is already gone is not an error.
func (c *Client) DeletePort(ctx context.Context, id string) error {
	if err := ports.Delete(ctx, c.net, id).ExtractErr(); err != nil {
		err = c.apiError(fmt.Sprintf("deleting port %s", id), err)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// ListPorts lists the caller's ports matching f.
func (c *Client) ListPorts(ctx context.Context, f PortFilter) ([]Port, error) {
	pages, err := ports.List(c.net, ports.ListOpts{NetworkID: f.NetworkID, DeviceOwner: f.DeviceOwner, DeviceID: f.DeviceID, MACAddress: f.MAC, Description: f.Description}).AllPages(ctx)
	if err != nil {
		return nil, c.apiError("listing ports", err)
	}
	var ps []portWithBinding
	if err := ports.ExtractPortsInto(pages, &ps); err != nil {
		return nil, fmt.Errorf("listing ports: %w", err)
	}
	out := make([]Port, 0, len(ps))
	for _, p := range ps {
		q, err := toPort(p)
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

func toPort(p portWithBinding) (Port, error) {
	out := Port{ID: p.ID, Name: p.Name, Description: p.Description, NetworkID: p.NetworkID, Status: p.Status, DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner, CreatedAt: p.CreatedAt,
		SecurityGroups: p.SecurityGroups}
	if p.MACAddress != "" {
		mac, err := net.ParseMAC(p.MACAddress)
		if err != nil {
			return Port{}, fmt.Errorf("port %s has an invalid MAC %q: %w", p.ID, p.MACAddress, err)
		}
		out.MAC = mac
	}
	for _, ip := range p.FixedIPs {
		a, err := netip.ParseAddr(ip.IPAddress)
		if err != nil {
			return Port{}, fmt.Errorf("port %s has an invalid address %q: %w", p.ID, ip.IPAddress, err)
		}
		out.FixedIPs = append(out.FixedIPs, FixedIP{SubnetID: ip.SubnetID, IP: a})
	}
	if s, ok := p.Profile["parent_name"].(string); ok {
		out.ParentName = s
	}
	switch t := p.Profile["tag"].(type) {
	case float64:
		out.Tag = int(t)
	case string: // some clients store it as a string
		fmt.Sscan(t, &out.Tag)
	}
	return out, nil
}

// fixedIPs is the fixed_ips of a port create asking for ip (nil: any).
func fixedIPs(ip netip.Addr) any {
	if !ip.IsValid() {
		return nil
	}
	return []ports.IP{{IPAddress: ip.String()}}
}

// securityGroups is the security_groups of a port create: nil (not sent)
// leaves the choice to Neutron, which gives the project's default group.
func securityGroups(ids []string) *[]string {
	if len(ids) == 0 {
		return nil
	}
	return &ids
}
