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
