package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/mtu"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Network is a Neutron network with its subnets.
type Network struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	ProjectID string   `json:"project_id"`
	Status    string   `json:"status"`
	Shared    bool     `json:"shared"`
	MTU       int      `json:"mtu"`
	Subnets   []Subnet `json:"subnets"`
}

// Subnet is a Neutron subnet.
type Subnet struct {
	ID        string       `json:"id"`
	NetworkID string       `json:"network_id"`
	CIDR      netip.Prefix `json:"cidr"`
	Gateway   netip.Addr   `json:"gateway_ip"`
	IPVersion int          `json:"ip_version"`
	// EnableDHCP: the network answers DHCP for the subnet's ports (with
	// OVN, native DHCP: attach uses it to probe a port's data path).
	EnableDHCP bool `json:"enable_dhcp"`
	// DNSNameservers are the subnet's dns_nameservers: the resolvers its
	// ports are given (a container's /etc/resolv.conf).
	DNSNameservers []netip.Addr `json:"dns_nameservers,omitempty"`
}

// CreateNetworkOpts: a network with one IPv4 and optionally one IPv6 subnet.
type CreateNetworkOpts struct {
	Name     string
	IPv4CIDR netip.Prefix
	IPv6CIDR netip.Prefix // optional
}

type networkWithMTU struct {
	networks.Network
	mtu.NetworkMTUExt
}

// CreateNetwork makes the network and its subnets; if a subnet fails the
// network is deleted again, so nothing half-made is left.
func (c *Client) CreateNetwork(ctx context.Context, o CreateNetworkOpts) (_ Network, err error) {
	up := true
	var n networkWithMTU
	if err := networks.Create(ctx, c.net, networks.CreateOpts{Name: o.Name, AdminStateUp: &up}).ExtractInto(&n); err != nil {
		return Network{}, c.apiError(fmt.Sprintf("creating network %q", o.Name), err)
	}
	defer func() {
		if err != nil {
			if derr := networks.Delete(context.WithoutCancel(ctx), c.net, n.ID).ExtractErr(); derr != nil {
				c.log.Warn("rollback: deleting network failed", "network", n.ID, "err", derr)
			}
		}
	}()
	for _, p := range []netip.Prefix{o.IPv4CIDR, o.IPv6CIDR} {
		if !p.IsValid() {
			continue
		}
		opts := subnets.CreateOpts{NetworkID: n.ID, CIDR: p.Masked().String(), Name: o.Name + "-v" + map[bool]string{true: "4", false: "6"}[p.Addr().Is4()]}
		if p.Addr().Is4() {
			opts.IPVersion = 4
		} else {
			// Addresses are configured statically in the container, so
			// Neutron only has to allocate them: no RA/DHCPv6 modes.
			opts.IPVersion = 6
		}
		if _, err := subnets.Create(ctx, c.net, opts).Extract(); err != nil {
			return Network{}, c.apiError(fmt.Sprintf("creating subnet %s on network %q", p, o.Name), err)
		}
	}
	return c.GetNetwork(ctx, n.ID)
}

// ListNetworks lists the networks the caller can see, with their subnets.
func (c *Client) ListNetworks(ctx context.Context) ([]Network, error) {
	pages, err := networks.List(c.net, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, c.apiError("listing networks", err)
	}
	var ns []networkWithMTU
	if err := networks.ExtractNetworksInto(pages, &ns); err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	subs, err := c.listSubnets(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Network, 0, len(ns))
	for _, n := range ns {
		out = append(out, toNetwork(n, subs))
	}
	return out, nil
}

// GetNetwork fetches one network by id.
func (c *Client) GetNetwork(ctx context.Context, id string) (Network, error) {
	var n networkWithMTU
	if err := networks.Get(ctx, c.net, id).ExtractInto(&n); err != nil {
		return Network{}, c.apiError(fmt.Sprintf("getting network %s", id), err)
	}
	subs, err := c.listSubnets(ctx, id)
	if err != nil {
		return Network{}, err
	}
	return toNetwork(n, subs), nil
}

// FindNetwork resolves a network by id or by name (names must be unique
// among what the caller sees): a GET of the id when it looks like one,
// else a list filtered by name, then the network's subnets. Two requests
// whatever the cloud holds.
func (c *Client) FindNetwork(ctx context.Context, nameOrID string) (Network, error) {
	if LooksLikeID(nameOrID) {
		n, err := c.GetNetwork(ctx, nameOrID)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
	pages, err := networks.List(c.net, networks.ListOpts{Name: nameOrID}).AllPages(ctx)
	if err != nil {
		return Network{}, c.apiError(fmt.Sprintf("looking for network %q", nameOrID), err)
	}
	var ns []networkWithMTU
	if err := networks.ExtractNetworksInto(pages, &ns); err != nil {
		return Network{}, fmt.Errorf("looking for network %q: %w", nameOrID, err)
	}
	ns = slices.DeleteFunc(ns, func(n networkWithMTU) bool { return n.Name != nameOrID })
	switch len(ns) {
	case 0:
		// An id prefix, as docker takes one, if exactly one network's id
		// starts with it.
		if ns, err = c.networksByIDPrefix(ctx, nameOrID); err != nil {
			return Network{}, err
		}
		if len(ns) == 0 {
			return Network{}, fmt.Errorf("network %q: %w (see `ovn-docker list networks`, or create it with `ovn-docker create network %s`)", nameOrID, ErrNotFound, nameOrID)
		}
	}
	if len(ns) > 1 {
		var ids []string
		for _, n := range ns {
			ids = append(ids, n.ID)
		}
		return Network{}, fmt.Errorf("network %q: %w: %d networks match (%s): use the id", nameOrID, ErrAmbiguous, len(ns), strings.Join(ids, ", "))
	}
	subs, err := c.listSubnets(ctx, ns[0].ID)
	if err != nil {
		return Network{}, err
	}
	return toNetwork(ns[0], subs), nil
}

// minIDPrefix is the shortest id prefix taken for a network (shorter
// ones match too much to be meant).
const minIDPrefix = 4

// networksByIDPrefix: the networks the caller sees whose id starts with
// prefix.
func (c *Client) networksByIDPrefix(ctx context.Context, prefix string) ([]networkWithMTU, error) {
	if len(prefix) < minIDPrefix || strings.Trim(strings.ToLower(prefix), "0123456789abcdef-") != "" {
		return nil, nil
	}
	pages, err := networks.List(c.net, networks.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, c.apiError(fmt.Sprintf("looking for network %q", prefix), err)
	}
	var ns []networkWithMTU
	if err := networks.ExtractNetworksInto(pages, &ns); err != nil {
		return nil, fmt.Errorf("looking for network %q: %w", prefix, err)
	}
	return slices.DeleteFunc(ns, func(n networkWithMTU) bool { return !strings.HasPrefix(n.ID, strings.ToLower(prefix)) }), nil
}

// LooksLikeID: Neutron ids are UUIDs (36 characters with dashes), so a
// string of that shape is taken for an id, anything else for a name.
func LooksLikeID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'):
			return false
		}
	}
	return true
}

// DeleteNetwork deletes a network (Neutron deletes its subnets).
func (c *Client) DeleteNetwork(ctx context.Context, id string) error {
	if err := networks.Delete(ctx, c.net, id).ExtractErr(); err != nil {
		return c.apiError(fmt.Sprintf("deleting network %s", id), err)
	}
	return nil
}

func (c *Client) listSubnets(ctx context.Context, networkID string) ([]Subnet, error) {
	pages, err := subnets.List(c.net, subnets.ListOpts{NetworkID: networkID}).AllPages(ctx)
	if err != nil {
		return nil, c.apiError("listing subnets", err)
	}
	ss, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, fmt.Errorf("listing subnets: %w", err)
	}
	out := make([]Subnet, 0, len(ss))
	for _, s := range ss {
		p, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			return nil, fmt.Errorf("subnet %s has an invalid cidr %q: %w", s.ID, s.CIDR, err)
		}
		gw, _ := netip.ParseAddr(s.GatewayIP) // no gateway is allowed
		sn := Subnet{ID: s.ID, NetworkID: s.NetworkID, CIDR: p, Gateway: gw, IPVersion: s.IPVersion, EnableDHCP: s.EnableDHCP}
		for _, d := range s.DNSNameservers {
			a, err := netip.ParseAddr(d)
			if err != nil {
				return nil, fmt.Errorf("subnet %s has an invalid dns_nameservers entry %q: %w", s.ID, d, err)
			}
			sn.DNSNameservers = append(sn.DNSNameservers, a)
		}
		out = append(out, sn)
	}
	return out, nil
}

func toNetwork(n networkWithMTU, subs []Subnet) Network {
	out := Network{ID: n.ID, Name: n.Name, ProjectID: n.ProjectID, Status: n.Status, Shared: n.Shared, MTU: n.MTU}
	for _, s := range subs {
		if s.NetworkID == n.ID {
			out.Subnets = append(out.Subnets, s)
		}
	}
	return out
}

// SubnetByID finds one of the network's subnets.
func (n Network) SubnetByID(id string) (Subnet, bool) {
	for _, s := range n.Subnets {
		if s.ID == id {
			return s, true
		}
	}
	return Subnet{}, false
}
