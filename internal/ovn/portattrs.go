package ovn

import (
	"encoding/json"
	"slices"
	"strings"
)

// external_ids keys of the attributes Neutron keeps in its own database
// and ML2/OVN does not write to NB; ovn-neutrond has no other database.
const (
	keyAllowedAddressPairs = "neutron:allowed_address_pairs"
	keyExtraDHCPOpts       = "neutron:extra_dhcp_opts"
	keyTags                = "neutron:tags"
	keyServiceTypes        = "neutron:service_types"
	// keyDHCPPortID marks a DHCP_Options row that belongs to one port (its
	// extra DHCP options), as ML2/OVN marks it.
	keyDHCPPortID = "port_id"
)

// AddressPair is one allowed_address_pairs entry: IP is an address or a
// CIDR, MAC defaults to the port's own.
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// DHCPOpt is one extra_dhcp_opts entry.
type DHCPOpt struct {
	Name      string  `json:"opt_name"`
	Value     *string `json:"opt_value"`
	IPVersion int     `json:"ip_version"`
}

func jsonList[T any](s string) []T {
	var out []T
	_ = json.Unmarshal([]byte(s), &out)
	if out == nil {
		out = []T{}
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// lspAddresses computes Logical_Switch_Port addresses and port_security
// as ML2/OVN's _get_port_options and _get_allowed_addresses_from_port do:
// with port security, allowed address pairs with the port's own MAC
// extend its address entry and pairs with another MAC get entries of
// their own (their MACs join addresses); without it, "unknown" lets the
// port use any address.
func lspAddresses(p *Port, ips []string) (addresses, portSecurity []string) {
	own := strings.Join(append([]string{p.MAC}, ips...), " ")
	if !p.PortSecurity {
		return []string{own, "unknown"}, nil
	}
	sec := own
	var other, macs []string
	for _, ap := range p.AllowedAddressPairs {
		if ap.MACAddress == p.MAC {
			sec += " " + ap.IPAddress
			continue
		}
		if e := ap.MACAddress + " " + ap.IPAddress; !slices.Contains(other, e) {
			other = append(other, e)
		}
		if !slices.Contains(macs, ap.MACAddress) {
			macs = append(macs, ap.MACAddress)
		}
	}
	return append([]string{own}, macs...), append([]string{sec}, other...)
}

// dhcpOptNames maps Neutron's extra DHCP option names to OVN's, per IP
// version (ML2/OVN's SUPPORTED_DHCP_OPTS_MAPPING); others are ignored,
// as ML2/OVN ignores them.
var dhcpOptNames = map[int]map[string]string{
	4: {
		"arp-timeout": "arp_cache_timeout", "tcp-keepalive": "tcp_keepalive_interval",
		"netmask": "netmask", "router": "router", "dns-server": "dns_server",
		"log-server": "log_server", "lpr-server": "lpr_server", "domain-name": "domain_name",
		"domain-search": "domain_search_list", "swap-server": "swap_server",
		"policy-filter": "policy_filter", "router-solicitation": "router_solicitation",
		"nis-server": "nis_server", "ntp-server": "ntp_server", "server-id": "server_id",
		"tftp-server": "tftp_server", "classless-static-route": "classless_static_route",
		"ms-classless-static-route": "ms_classless_static_route", "ip-forward-enable": "ip_forward_enable",
		"router-discovery": "router_discovery", "ethernet-encap": "ethernet_encap",
		"default-ttl": "default_ttl", "tcp-ttl": "tcp_ttl", "mtu": "mtu", "lease-time": "lease_time",
		"T1": "T1", "T2": "T2", "bootfile-name": "bootfile_name", "bootfile-name-alt": "bootfile_name_alt",
		"wpad": "wpad", "path-prefix": "path_prefix", "tftp-server-address": "tftp_server_address",
		"server-ip-address": "next_server",
		"1":                 "netmask", "3": "router", "6": "dns_server", "7": "log_server", "9": "lpr_server",
		"15": "domain_name", "16": "swap_server", "21": "policy_filter", "32": "router_solicitation",
		"35": "arp_cache_timeout", "38": "tcp_keepalive_interval", "41": "nis_server",
		"42": "ntp_server", "54": "server_id", "66": "tftp_server", "121": "classless_static_route",
		"249": "ms_classless_static_route", "19": "ip_forward_enable", "31": "router_discovery",
		"36": "ethernet_encap", "23": "default_ttl", "37": "tcp_ttl", "26": "mtu", "51": "lease_time",
		"58": "T1", "59": "T2", "67": "bootfile_name", "119": "domain_search_list", "252": "wpad",
		"210": "path_prefix", "150": "tftp_server_address", "255": "next_server",
	},
	6: {
		"server-id": "server_id", "dns-server": "dns_server", "domain-search": "domain_search",
		"ia-addr": "ia_addr", "2": "server_id", "5": "ia_addr", "24": "domain_search", "23": "dns_server",
	},
}

// dhcpStringOpts are OVN options of string type: their values are quoted.
var dhcpStringOpts = []string{"domain_name", "domain_search_list", "bootfile_name", "bootfile_name_alt", "path_prefix", "wpad", "tftp_server"}

// portDHCPOpts is ML2/OVN's get_lsp_dhcp_opts: whether the port's native
// DHCP of ipVersion is disabled (option dhcp_disabled=true), else the OVN
// options its extra DHCP options add.
func portDHCPOpts(p *Port, ipVersion int) (disabled bool, opts map[string]string) {
	opts = map[string]string{}
	for _, o := range p.ExtraDHCPOpts {
		if o.IPVersion != ipVersion || o.Value == nil {
			continue
		}
		if o.Name == "dhcp_disabled" && strings.ToLower(*o.Value) == "true" {
			return true, nil
		}
		name, ok := dhcpOptNames[ipVersion][o.Name]
		if !ok {
			continue
		}
		v := *o.Value
		if slices.Contains(dhcpStringOpts, name) && !(strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`)) {
			v = `"` + v + `"`
		}
		opts[name] = v
	}
	return false, opts
}

// resolvePairs gives pairs without a MAC the port's MAC, as Neutron does
// when it stores them.
func resolvePairs(pairs []AddressPair, mac string) []AddressPair {
	out := make([]AddressPair, len(pairs))
	for i, ap := range pairs {
		if ap.MACAddress == "" {
			ap.MACAddress = mac
		}
		out[i] = ap
	}
	return out
}

// checkPairs refuses allowed address pairs on a port without port
// security (Neutron: 409 AddressPairAndPortSecurityRequired).
func checkPairs(p *Port) error {
	if !p.PortSecurity && len(p.AllowedAddressPairs) > 0 {
		return newErr(ErrConflict, "AddressPairAndPortSecurityRequired",
			"Port Security must be enabled in order to have allowed address pairs on a port.")
	}
	return nil
}

// newMAC checks a new MAC for port p: allowed only while the port is
// unbound (no binding:host_id; Neutron: 409 PortBound), and unique on
// the network. Caller holds the view's read lock.
func (s *Store) newMAC(p *Port, requested string) (string, error) {
	if p.HostID != "" {
		return "", newErr(ErrConflict, "PortBound",
			"Unable to complete operation on port %s, port is already bound, port type: ovs, old_mac %s, new_mac %s.",
			p.ID, p.MAC, requested)
	}
	return s.pickMAC(p.NetworkID, requested)
}

// serviceSubnets narrows a network's subnets to those that serve ports of
// deviceOwner, as Neutron's subnet-service-types does: subnets without
// service types serve every port, subnets naming deviceOwner (or any
// DHCP-enabled subnet, for a DHCP port) serve it and come first.
func serviceSubnets(networkID string, subnets []*Subnet, deviceOwner string) ([]*Subnet, error) {
	var typed, open []*Subnet
	for _, sn := range subnets {
		switch {
		case len(sn.ServiceTypes) == 0:
			open = append(open, sn)
		case slices.Contains(sn.ServiceTypes, deviceOwner) || (deviceOwner == "network:dhcp" && sn.EnableDHCP):
			typed = append(typed, sn)
		}
	}
	if len(subnets) > 0 && len(typed)+len(open) == 0 {
		return nil, newErr(ErrConflict, "IpAddressGenerationFailureNoMatchingSubnet",
			"No valid service subnet for the given device owner, network %s, service type %s.", networkID, deviceOwner)
	}
	return append(typed, open...), nil
}

// validDHCPValue is Neutron's _is_valid_opt_value: router and
// classless-static-route may be empty, others need a value.
func validDHCPValue(o DHCPOpt) bool {
	if o.Name == "router" || o.Name == "classless-static-route" {
		return o.Value != nil
	}
	return o.Value != nil && *o.Value != ""
}

// mergeDHCPOpts applies requested extra DHCP options to the current ones
// as Neutron does on update: an option (by name and IP version) with a
// null value is removed, one with a value replaces or joins the others;
// on create (cur nil) options without a valid value are dropped.
func mergeDHCPOpts(cur, req []DHCPOpt) []DHCPOpt {
	out := slices.Clone(cur)
	for _, r := range req {
		i := slices.IndexFunc(out, func(o DHCPOpt) bool { return o.Name == r.Name && o.IPVersion == r.IPVersion })
		switch {
		case i >= 0 && r.Value == nil:
			out = slices.Delete(out, i, i+1)
		case i >= 0 && validDHCPValue(r):
			out[i] = r
		case i < 0 && validDHCPValue(r):
			out = append(out, r)
		}
	}
	return out
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
