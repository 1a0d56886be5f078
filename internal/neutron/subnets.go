package neutron

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

var subnetCreateAttrs = []string{
	"name", "description", "network_id", "ip_version", "cidr", "gateway_ip",
	"allocation_pools", "enable_dhcp", "dns_nameservers", "host_routes",
	"project_id", "tenant_id", "ipv6_ra_mode", "ipv6_address_mode", "service_types",
	"subnetpool_id", "prefixlen",
}

var subnetUpdateAttrs = []string{"name", "description", "enable_dhcp", "dns_nameservers", "host_routes", "gateway_ip", "service_types", "allocation_pools"}

func subnetJSON(sn *ovn.Subnet) obj {
	var gw any
	if sn.Gateway.IsValid() {
		gw = sn.Gateway.String()
	}
	pools := sn.Pools
	if pools == nil {
		pools = []ipam.Pool{}
	}
	return obj{
		"id":                sn.ID,
		"name":              sn.Name,
		"description":       sn.Description,
		"tenant_id":         sn.ProjectID,
		"project_id":        sn.ProjectID,
		"network_id":        sn.NetworkID,
		"ip_version":        sn.IPVersion,
		"cidr":              sn.CIDR.String(),
		"gateway_ip":        gw,
		"allocation_pools":  pools,
		"enable_dhcp":       sn.EnableDHCP,
		"dns_nameservers":   sn.DNS,
		"host_routes":       routesJSON(sn.HostRoutes),
		"ipv6_ra_mode":      nil,
		"ipv6_address_mode": nil,
		"subnetpool_id":     nullable(sn.SubnetPoolID),
		"service_types":     nonNilTags(sn.ServiceTypes),
		"tags":              nonNilTags(sn.Tags),
		"revision_number":   sn.Revision,
		"created_at":        timeJSON(sn.CreatedAt),
		"updated_at":        timeJSON(sn.UpdatedAt),
	}
}

func (s *server) listSubnets(w http.ResponseWriter, r *http.Request, c Caller) {
	subnets := s.store.ListSubnets(r.Context(), scope(c))
	out := make([]obj, len(subnets))
	for i, sn := range subnets {
		out[i] = subnetJSON(sn)
	}
	writeList(w, r, "subnets", out)
}

func (s *server) showSubnet(w http.ResponseWriter, r *http.Request, c Caller) {
	sn, err := s.store.GetSubnet(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnet", subnetJSON(sn))
}

// dnsList reads dns_nameservers: a list of IP addresses.
func dnsList(a attrs) (*[]string, error) {
	if !a.has("dns_nameservers") {
		return nil, nil
	}
	var raw []string
	if err := json.Unmarshal(a["dns_nameservers"], &raw); err != nil {
		return nil, invalid("Invalid input for dns_nameservers. Reason: '%s' is not a list of IP addresses.", clip(a["dns_nameservers"]))
	}
	out := []string{}
	for _, d := range raw {
		addr, err := parseAddr("dns_nameservers", d)
		if err != nil {
			return nil, err
		}
		out = append(out, addr.String())
	}
	return &out, nil
}

// allocationPools reads allocation_pools: a list of {start, end}.
func allocationPools(a attrs) ([]ipam.Pool, error) {
	var raw []struct{ Start, End string }
	if err := json.Unmarshal(a["allocation_pools"], &raw); err != nil {
		return nil, invalid("Invalid input for allocation_pools. Reason: want a list of {\"start\": IP, \"end\": IP}.")
	}
	pools := []ipam.Pool{}
	for _, p := range raw {
		start, err := parseAddr("allocation_pools", p.Start)
		if err != nil {
			return nil, err
		}
		end, err := parseAddr("allocation_pools", p.End)
		if err != nil {
			return nil, err
		}
		pools = append(pools, ipam.Pool{Start: start, End: end})
	}
	return pools, nil
}

// maxHostRoutes is Neutron's default max_subnet_host_routes.
const maxHostRoutes = 20

// hostRoutes reads host_routes as neutron-lib validates them: a list of
// {destination (CIDR), nexthop (IP)}, of the subnet's IP version
// (version 0: not checked here). nil when absent.
func hostRoutes(a attrs, version int) (*[]ovn.HostRoute, error) {
	if !a.has("host_routes") {
		return nil, nil
	}
	out := []ovn.HostRoute{}
	if a.isNull("host_routes") {
		return &out, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(a["host_routes"], &list); err != nil {
		return nil, invalid("Invalid input for host_routes. Reason: '%s' is not a list of {\"destination\": CIDR, \"nexthop\": IP}.", clip(a["host_routes"]))
	}
	if len(list) > maxHostRoutes {
		return nil, &badRequest{typ: "HostRoutesExhausted", msg: fmt.Sprintf("Unable to complete operation for subnet. The number of host routes exceeds the limit %d.", maxHostRoutes)}
	}
	seen := map[ovn.HostRoute]bool{}
	for _, m := range list {
		var r ovn.HostRoute
		for k, v := range m {
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, invalid("Invalid input for host_routes. Reason: %s %s is not a string.", k, clip(v))
			}
			switch k {
			case "destination":
				r.Destination = s
			case "nexthop":
				r.NextHop = s
			default:
				return nil, invalid("Invalid input for host_routes. Reason: Unrecognized attribute '%s' (want destination and nexthop).", k)
			}
		}
		dst, err := netip.ParsePrefix(r.Destination)
		if err != nil {
			return nil, invalid("Invalid input for host_routes. Reason: '%s' is not a valid IP subnet.", r.Destination)
		}
		hop, err := netip.ParseAddr(r.NextHop)
		if err != nil {
			return nil, invalid("Invalid input for host_routes. Reason: '%s' is not a valid IP address.", r.NextHop)
		}
		if dst.Addr().Is4() != hop.Is4() || (version == 4 && !hop.Is4()) || (version == 6 && hop.Is4()) {
			return nil, invalid("Invalid input for operation: host_route %s via %s does not match the subnet's IP version.", r.Destination, r.NextHop)
		}
		r.Destination = dst.Masked().String()
		if seen[r] {
			return nil, invalid("Invalid input for host_routes. Reason: Duplicate hostroute '%s,%s'.", r.Destination, r.NextHop)
		}
		seen[r] = true
		out = append(out, r)
	}
	return &out, nil
}

// withHostRoutes sets spec's host routes from a create request.
func withHostRoutes(a attrs, spec ovn.SubnetSpec) (ovn.SubnetSpec, error) {
	routes, err := hostRoutes(a, spec.IPVersion)
	if routes != nil {
		spec.HostRoutes = *routes
	}
	return spec, err
}

// subnetSpec validates a subnet create request and resolves Neutron's
// defaults: gateway = first address, pools = the rest of the subnet.
func subnetSpec(a attrs, c Caller) (ovn.SubnetSpec, error) {
	var spec ovn.SubnetSpec
	if a.has("subnetpool_id") && !a.isNull("subnetpool_id") && !a.has("cidr") {
		return poolSubnetSpec(a, c)
	}
	for _, k := range []string{"network_id", "ip_version", "cidr"} {
		if !a.has(k) || a.isNull(k) {
			return spec, badReq("Invalid input for operation: '%s' is required to create a subnet.", k)
		}
	}
	netID, err := a.str("network_id")
	if err != nil {
		return spec, err
	}
	spec.NetworkID = *netID
	if spec.IPVersion, err = integer("ip_version", a["ip_version"], 4, 6); err != nil || (spec.IPVersion != 4 && spec.IPVersion != 6) {
		return spec, invalid("Invalid input for ip_version. Reason: %s is not in [4, 6].", clip(a["ip_version"]))
	}
	cidr, err := a.str("cidr")
	if err != nil {
		return spec, err
	}
	if spec.CIDR, err = ipam.ParsePrefix(*cidr, spec.IPVersion); err != nil {
		return spec, invalid("Invalid input for cidr. Reason: %v", err)
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		return spec, err
	}
	for _, k := range []string{"name", "description"} {
		v, err := a.str(k)
		if err != nil {
			return spec, err
		}
		if v != nil && k == "name" {
			spec.Name = *v
		} else if v != nil {
			spec.Description = *v
		}
	}
	switch {
	case !a.has("gateway_ip"):
		spec.Gateway = ipam.DefaultGateway(spec.CIDR)
	case a.isNull("gateway_ip"):
		// no gateway
	default:
		gw, err := a.str("gateway_ip")
		if err != nil {
			return spec, err
		}
		if spec.Gateway, err = parseAddr("gateway_ip", *gw); err != nil {
			return spec, err
		}
		if err := ipam.ValidateGateway(spec.CIDR, spec.Gateway); err != nil {
			return spec, invalid("Invalid input for gateway_ip. Reason: %v", err)
		}
	}
	if a.has("allocation_pools") && !a.isNull("allocation_pools") {
		var err error
		if spec.Pools, err = allocationPools(a); err != nil {
			return spec, err
		}
		if err := ipam.ValidatePools(spec.CIDR, spec.Gateway, spec.Pools); err != nil {
			return spec, ovn.PoolError(err)
		}
	} else {
		spec.Pools = ipam.DefaultPools(spec.CIDR, spec.Gateway)
	}
	if err := dhcpAttrs(a, &spec); err != nil {
		return spec, err
	}
	for _, k := range []string{"ipv6_ra_mode", "ipv6_address_mode"} {
		if a.has(k) && !a.isNull(k) {
			// OVN's native DHCPv6 is stateful; the modes are accepted only
			// when they say so.
			v, err := a.str(k)
			if err != nil {
				return spec, err
			}
			if spec.IPVersion != 6 || *v != "dhcpv6-stateful" {
				return spec, invalid("Invalid input for %s. Reason: only 'dhcpv6-stateful' on IPv6 subnets is supported.", k)
			}
		}
	}
	if spec.ServiceTypes, err = serviceTypes(a); err != nil {
		return spec, err
	}
	if pool, err := a.str("subnetpool_id"); err != nil {
		return spec, err
	} else if pool != nil {
		spec.SubnetPoolID = *pool
	}
	return withHostRoutes(a, spec)
}

func (s *server) createSubnet(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "subnet", subnetCreateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := subnetSpec(a, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sn, err := s.store.CreateSubnet(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "subnet", subnetJSON(sn))
}

func (s *server) updateSubnet(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "subnet", subnetUpdateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var upd ovn.SubnetUpdate
	if upd.Name, err = a.str("name"); err == nil {
		if upd.Description, err = a.str("description"); err == nil {
			if upd.EnableDHCP, err = a.boolean("enable_dhcp"); err == nil {
				if upd.DNS, err = dnsList(a); err == nil {
					if upd.HostRoutes, err = hostRoutes(a, 0); err == nil {
						err = subnetUpdateExtras(a, &upd)
					}
				}
			}
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sn, err := s.store.UpdateSubnet(r.Context(), scope(c), r.PathValue("id"), upd)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "subnet", subnetJSON(sn))
}

func (s *server) deleteSubnet(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.store.DeleteSubnet(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dhcpAttrs reads a subnet create's enable_dhcp (default true) and
// dns_nameservers (default none) into spec.
func dhcpAttrs(a attrs, spec *ovn.SubnetSpec) error {
	dhcp, err := a.boolean("enable_dhcp")
	if err != nil {
		return err
	}
	spec.EnableDHCP = dhcp == nil || *dhcp
	dns, err := dnsList(a)
	if err != nil {
		return err
	}
	spec.DNS = []string{}
	if dns != nil {
		spec.DNS = *dns
	}
	return nil
}

func routesJSON(r []ovn.HostRoute) []ovn.HostRoute {
	if r == nil {
		return []ovn.HostRoute{}
	}
	return r
}
