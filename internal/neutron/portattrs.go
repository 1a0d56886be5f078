package neutron

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// maxAddressPairs is Neutron's default max_allowed_address_pair.
const maxAddressPairs = 10

// addressPairs reads allowed_address_pairs as neutron-lib validates them:
// a list of {ip_address (address or CIDR), mac_address (optional)}.
func addressPairs(raw json.RawMessage) (*[]ovn.AddressPair, error) {
	out := []ovn.AddressPair{}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return &out, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badReq("Allowed address pairs must be a list.")
	}
	if len(list) > maxAddressPairs {
		return nil, badReq("The number of allowed address pair exceeds the maximum %d.", maxAddressPairs)
	}
	seen := map[ovn.AddressPair]bool{}
	for _, m := range list {
		var keys []string
		for k := range m {
			if k != "ip_address" && k != "mac_address" {
				keys = append(keys, k)
			}
		}
		var ap ovn.AddressPair
		if rawMAC, ok := m["mac_address"]; ok {
			if err := json.Unmarshal(rawMAC, &ap.MACAddress); err != nil {
				return nil, badReq("'%s' is not a valid MAC address", rawMAC)
			}
			hw, err := ipam.ParseMAC(ap.MACAddress)
			if err != nil {
				return nil, badReq("'%s' is not a valid MAC address", ap.MACAddress)
			}
			ap.MACAddress = hw.String()
		}
		rawIP, ok := m["ip_address"]
		if !ok {
			return nil, &badRequest{typ: "AllowedAddressPairsMissingIP", msg: "AllowedAddressPair must contain ip_address"}
		}
		if err := json.Unmarshal(rawIP, &ap.IPAddress); err != nil {
			return nil, badReq("'%s' is not a valid IP address", rawIP)
		}
		if seen[ap] {
			return nil, &badRequest{typ: "DuplicateAddressPairInRequest", msg: fmt.Sprintf(
				"Invalid input for operation: Request contains duplicate address pair: mac_address %s ip_address %s.", ap.MACAddress, ap.IPAddress)}
		}
		seen[ap] = true
		if len(keys) > 0 {
			slices.Sort(keys)
			return nil, httpBadReq("Unrecognized attribute(s) '%s'", strings.Join(keys, ", "))
		}
		if strings.Contains(ap.IPAddress, "/") {
			if _, err := netip.ParsePrefix(ap.IPAddress); err != nil {
				return nil, badReq("'%s' is not a valid IP subnet", ap.IPAddress)
			}
		} else if _, err := parseAddr("allowed_address_pairs", ap.IPAddress); err != nil {
			return nil, badReq("'%s' is not a valid IP address", ap.IPAddress)
		}
		out = append(out, ap)
	}
	return &out, nil
}

// blankDHCPOpts may have an empty value (neutron-lib's
// VALID_BLANK_EXTRA_DHCP_OPTS).
var blankDHCPOpts = []string{"router", "classless-static-route"}

// extraDHCPOpts reads extra_dhcp_opts: a list of {opt_name, opt_value
// (string or null), ip_version (4 or 6, default 4)}.
func extraDHCPOpts(raw json.RawMessage) (*[]ovn.DHCPOpt, error) {
	out := []ovn.DHCPOpt{}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return &out, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("Invalid input for extra_dhcp_opts. Reason: '%s' is not a list of {\"opt_name\", \"opt_value\", \"ip_version\"}.", raw)
	}
	for _, m := range list {
		o := ovn.DHCPOpt{IPVersion: 4}
		for k, v := range m {
			switch k {
			case "opt_name":
				if err := json.Unmarshal(v, &o.Name); err != nil || strings.TrimSpace(o.Name) == "" || strings.ContainsAny(o.Name, "\r\n") || len(o.Name) > 64 {
					return nil, invalid("Invalid input for extra_dhcp_opts. Reason: opt_name %s must be a non-empty one-line string of at most 64 characters.", v)
				}
			case "opt_value":
				if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
					continue
				}
				var s string
				if err := json.Unmarshal(v, &s); err != nil || strings.ContainsAny(s, "\r\n") || len(s) > 255 {
					return nil, invalid("Invalid input for extra_dhcp_opts. Reason: opt_value %s must be a one-line string of at most 255 characters, or null.", v)
				}
				o.Value = &s
			case "ip_version":
				n, err := integer("extra_dhcp_opts ip_version", v, 4, 6)
				if err != nil {
					var s string
					if json.Unmarshal(v, &s) == nil && (s == "4" || s == "6") {
						n, err = int(s[0]-'0'), nil
					}
				}
				if err != nil || (n != 4 && n != 6) {
					return nil, invalid("Invalid input for extra_dhcp_opts. Reason: ip_version %s is not in [4, 6].", v)
				}
				o.IPVersion = n
			default:
				return nil, invalid("Invalid input for extra_dhcp_opts. Reason: unknown key '%s' (want opt_name, opt_value, ip_version).", k)
			}
		}
		if _, ok := m["opt_name"]; !ok {
			return nil, invalid("Invalid input for extra_dhcp_opts. Reason: opt_name is required.")
		}
		if _, ok := m["opt_value"]; !ok {
			return nil, invalid("Invalid input for extra_dhcp_opts. Reason: opt_value is required.")
		}
		if o.Value != nil && *o.Value == "" && !slices.Contains(blankDHCPOpts, o.Name) {
			return nil, invalid("Invalid input for extra_dhcp_opts. Reason: opt_value of %s must not be empty.", o.Name)
		}
		out = append(out, o)
	}
	return &out, nil
}

func pairsJSON(pairs []ovn.AddressPair) []ovn.AddressPair {
	if pairs == nil {
		return []ovn.AddressPair{}
	}
	return pairs
}

func dhcpOptsJSON(opts []ovn.DHCPOpt) []ovn.DHCPOpt {
	if opts == nil {
		return []ovn.DHCPOpt{}
	}
	return opts
}
