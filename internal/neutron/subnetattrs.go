package neutron

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// serviceTypes reads a subnet's service_types: device_owner values, each
// starting with "network:", "neutron:" or "compute:" (neutron's
// subnet-service-types validator).
func serviceTypes(a attrs) ([]string, error) {
	if !a.has("service_types") || a.isNull("service_types") {
		return nil, nil
	}
	var list []any
	if err := json.Unmarshal(a["service_types"], &list); err != nil {
		return nil, &badRequest{typ: "InvalidSubnetServiceType", msg: "Subnet service type " + string(a["service_types"]) + " is not a list."}
	}
	out := []string{}
	for _, v := range list {
		st, ok := v.(string)
		if !ok {
			return nil, &badRequest{typ: "InvalidInputSubnetServiceType", msg: "Subnet service type " + string(a["service_types"]) + " is not a string."}
		}
		if !strings.HasPrefix(st, "network:") && !strings.HasPrefix(st, "neutron:") && !strings.HasPrefix(st, "compute:") {
			return nil, &badRequest{typ: "InvalidSubnetServiceType",
				msg: "Subnet service type " + st + " does not correspond to a valid device owner (want a prefix network:, neutron: or compute:)."}
		}
		out = append(out, st)
	}
	return out, nil
}

// subnetUpdateExtras reads gateway_ip (null removes it) and service_types
// of a subnet update.
func subnetUpdateExtras(a attrs, upd *ovn.SubnetUpdate) error {
	if a.has("allocation_pools") && !a.isNull("allocation_pools") {
		pools, err := allocationPools(a)
		if err != nil {
			return err
		}
		upd.Pools = &pools
	}
	if a.has("gateway_ip") {
		gw := netip.Addr{}
		if !a.isNull("gateway_ip") {
			v, err := a.str("gateway_ip")
			if err != nil {
				return err
			}
			if gw, err = parseAddr("gateway_ip", *v); err != nil {
				return err
			}
		}
		upd.Gateway = &gw
	}
	if a.has("service_types") {
		st, err := serviceTypes(a)
		if err != nil {
			return err
		}
		if st == nil {
			st = []string{}
		}
		upd.ServiceTypes = &st
	}
	return nil
}

// nullable is JSON null for "".
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// poolSubnetSpec reads a subnet create that asks a subnet pool for its
// CIDR (subnetpool_id, optional prefixlen, no cidr): the store picks the
// CIDR, and the gateway and allocation pools default from it.
func poolSubnetSpec(a attrs, c Caller) (ovn.SubnetSpec, error) {
	var spec ovn.SubnetSpec
	for _, k := range []string{"network_id", "ip_version"} {
		if !a.has(k) || a.isNull(k) {
			return spec, badReq("Invalid input for operation: '%s' is required to create a subnet.", k)
		}
	}
	for _, k := range []string{"gateway_ip", "allocation_pools"} {
		if a.has(k) && !a.isNull(k) {
			return spec, badReq("Invalid input for operation: %s needs cidr; a subnet allocated from a subnet pool by prefixlen gets the defaults.", k)
		}
	}
	var err error
	netID, err := a.str("network_id")
	if err != nil {
		return spec, err
	}
	spec.NetworkID = *netID
	if spec.IPVersion, err = integer("ip_version", a["ip_version"], 4, 6); err != nil || (spec.IPVersion != 4 && spec.IPVersion != 6) {
		return spec, invalid("Invalid input for ip_version. Reason: %s is not in [4, 6].", a["ip_version"])
	}
	pool, err := a.str("subnetpool_id")
	if err != nil {
		return spec, err
	}
	spec.SubnetPoolID = *pool
	if a.has("prefixlen") && !a.isNull("prefixlen") {
		if spec.PrefixLen, err = integer("prefixlen", a["prefixlen"], 0, 128); err != nil {
			return spec, err
		}
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		return spec, err
	}
	if v, err := a.str("name"); err != nil {
		return spec, err
	} else if v != nil {
		spec.Name = *v
	}
	if v, err := a.str("description"); err != nil {
		return spec, err
	} else if v != nil {
		spec.Description = *v
	}
	if err := dhcpAttrs(a, &spec); err != nil {
		return spec, err
	}
	if spec.ServiceTypes, err = serviceTypes(a); err != nil {
		return spec, err
	}
	return withHostRoutes(a, spec)
}
