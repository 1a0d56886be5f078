package neutron

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

var portCreateAttrs = []string{
	"name", "description", "network_id", "mac_address", "fixed_ips", "device_id",
	"device_owner", "admin_state_up", "port_security_enabled", "binding:profile",
	"binding:host_id", "binding:vnic_type", "project_id", "tenant_id",
	"security_groups", "allowed_address_pairs", "extra_dhcp_opts", "tags",
	"dns_name",
}

var portUpdateAttrs = []string{
	"name", "description", "fixed_ips", "mac_address", "device_id", "device_owner",
	"admin_state_up", "port_security_enabled", "binding:profile", "binding:host_id",
	"binding:vnic_type", "security_groups", "allowed_address_pairs", "extra_dhcp_opts",
	"dns_name",
}

// vnicTypes are neutron-lib's VNIC_TYPES.
var vnicTypes = []string{"normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder", "smart-nic", "vdpa", "accelerator-direct", "accelerator-direct-physical", "remote-managed"}

type fixedIPJSON struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

func (s *server) portJSON(p *ovn.Port) obj {
	fixed := make([]fixedIPJSON, len(p.FixedIPs))
	for i, f := range p.FixedIPs {
		fixed[i] = fixedIPJSON{SubnetID: f.SubnetID, IPAddress: f.IPAddress.String()}
	}
	profile := json.RawMessage("{}")
	if len(p.Profile) > 0 {
		profile = p.Profile
	}
	o := obj{
		"id":                    p.ID,
		"name":                  p.Name,
		"description":           p.Description,
		"network_id":            p.NetworkID,
		"tenant_id":             p.ProjectID,
		"project_id":            p.ProjectID,
		"mac_address":           p.MAC,
		"fixed_ips":             fixed,
		"device_id":             p.DeviceID,
		"device_owner":          p.DeviceOwner,
		"admin_state_up":        p.AdminStateUp,
		"status":                p.Status,
		"port_security_enabled": p.PortSecurity,
		"binding:profile":       profile,
		"binding:host_id":       p.HostID,
		"binding:vnic_type":     "normal",
		"binding:vif_type":      p.VIFType,
		"binding:vif_details":   obj{},
		"security_groups":       nonNilTags(p.SecurityGroups),
		"allowed_address_pairs": pairsJSON(p.AllowedAddressPairs),
		"extra_dhcp_opts":       dhcpOptsJSON(p.ExtraDHCPOpts),
		"tags":                  nonNilTags(p.Tags),
		"dns_name":              portDNSName(p, s.dnsDomain),
		"dns_assignment":        ovn.PortDNSAssignment(p, s.dnsDomain),
		"revision_number":       p.Revision,
		"created_at":            timeJSON(p.CreatedAt),
		"updated_at":            timeJSON(p.UpdatedAt),
	}
	// Like Neutron, only a trunk's parent has trunk_details.
	if d := trunkDetailsJSON(p.TrunkDetails); d != nil {
		o["trunk_details"] = d
	}
	return o
}

func (s *server) listPorts(w http.ResponseWriter, r *http.Request, c Caller) {
	// A single network_id filter narrows the scan through the index.
	netID := ""
	if ids := r.URL.Query()["network_id"]; len(ids) == 1 {
		netID = ids[0]
	}
	ports := s.store.ListPorts(r.Context(), scope(c), netID)
	out := make([]obj, len(ports))
	for i, p := range ports {
		out[i] = s.portJSON(p)
	}
	writeList(w, r, "ports", out)
}

func (s *server) showPort(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := s.store.GetPort(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "port", s.portJSON(p))
}

// parseProfile validates binding:profile: a JSON object (or null, which
// clears it); parent_name and tag go together, tag is an integer 1–4094.
func parseProfile(raw json.RawMessage) (*ovn.Profile, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return &ovn.Profile{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, httpBadReq("Invalid input for binding:profile. Reason: '%s' is not a dictionary.", clip(raw))
	}
	prof := &ovn.Profile{}
	if len(m) > 0 {
		var compact bytes.Buffer
		_ = json.Compact(&compact, raw)
		prof.Raw = compact.Bytes()
		if n := utf8.RuneCount(prof.Raw); n > maxProfileLen {
			return nil, invalid("Invalid input for binding:profile. Reason: it is %d characters long as JSON, more than the maximum of %d.", n, maxProfileLen)
		}
	}
	rawParent, hasParent := m["parent_name"]
	rawTag, hasTag := m["tag"]
	if hasParent != hasTag {
		return nil, invalid("Invalid binding:profile. parent_name and tag are both required (got only %s).",
			map[bool]string{true: "parent_name", false: "tag"}[hasParent])
	}
	if !hasParent {
		return prof, nil
	}
	if err := json.Unmarshal(rawParent, &prof.ParentName); err != nil || prof.ParentName == "" {
		return nil, invalid("Invalid binding:profile. parent_name %s must be a port id (a non-empty string).", clip(rawParent))
	}
	tag, err := integer("binding:profile tag", rawTag, 1, 4094)
	if err != nil {
		return nil, invalid("Invalid binding:profile. tag %s must be an integer from 1 to 4094.", clip(rawTag))
	}
	prof.Tag = tag
	return prof, nil
}

// fixedIPs reads fixed_ips: a list of {subnet_id, ip_address}, each with
// at least one of the two.
func fixedIPs(raw json.RawMessage) (*[]ovn.IPRequest, error) {
	var list []map[string]string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("Invalid input for fixed_ips. Reason: want a list of {\"subnet_id\": ID, \"ip_address\": IP}.")
	}
	out := []ovn.IPRequest{}
	for _, f := range list {
		var rq ovn.IPRequest
		for k, v := range f {
			switch k {
			case "subnet_id":
				rq.SubnetID = v
			case "ip_address":
				addr, err := parseAddr("fixed_ips", v)
				if err != nil {
					return nil, err
				}
				rq.IPAddress = addr
			default:
				return nil, invalid("Invalid input for fixed_ips. Reason: unknown key '%s' (want subnet_id and/or ip_address).", k)
			}
		}
		if rq.SubnetID == "" && !rq.IPAddress.IsValid() {
			return nil, invalid("Invalid input for fixed_ips. Reason: each entry needs subnet_id or ip_address.")
		}
		out = append(out, rq)
	}
	return &out, nil
}

// portSpec reads the attributes common to create and update.
func portSpec(a attrs, dnsDomain string) (ovn.PortSpec, error) {
	var spec ovn.PortSpec
	var err error
	for _, f := range []struct {
		k string
		p **string
	}{{"name", &spec.Name}, {"description", &spec.Description}, {"device_id", &spec.DeviceID}, {"device_owner", &spec.DeviceOwner}, {"binding:host_id", &spec.HostID}} {
		if *f.p, err = a.str(f.k); err != nil {
			return spec, err
		}
	}
	if spec.AdminStateUp, err = a.boolean("admin_state_up"); err != nil {
		return spec, err
	}
	if spec.PortSecurity, err = a.boolean("port_security_enabled"); err != nil {
		return spec, err
	}
	if v, err := a.str("binding:vnic_type"); err != nil {
		return spec, err
	} else if v != nil && *v != "normal" {
		if !slices.Contains(vnicTypes, *v) {
			return spec, invalid("Invalid input for binding:vnic_type. Reason: '%s' is not in %s.", *v, strings.Join(vnicTypes, ", "))
		}
		// Deliberately narrower than Neutron: ovn-neutrond's ports are OVS
		// ports; nothing here could bind SR-IOV or vDPA.
		return spec, invalid("Invalid input for binding:vnic_type. Reason: '%s' is not supported by this server; only normal (OVS) ports are.", *v)
	}
	if a.has("binding:profile") {
		if spec.Profile, err = parseProfile(a["binding:profile"]); err != nil {
			return spec, err
		}
	}
	if a.has("fixed_ips") {
		if spec.FixedIPs, err = fixedIPs(a["fixed_ips"]); err != nil {
			return spec, err
		}
	}
	if a.has("allowed_address_pairs") {
		if spec.AllowedAddressPairs, err = addressPairs(a["allowed_address_pairs"]); err != nil {
			return spec, err
		}
	}
	if a.has("extra_dhcp_opts") {
		if spec.ExtraDHCPOpts, err = extraDHCPOpts(a["extra_dhcp_opts"]); err != nil {
			return spec, err
		}
	}
	if spec.SecurityGroups, err = portGroups(a); err != nil {
		return spec, err
	}
	if a.has("dns_name") {
		if spec.DNSName, err = dnsName(a["dns_name"], dnsDomain); err != nil {
			return spec, err
		}
	}
	return spec, nil
}

// hostIDPolicy is Neutron's default policy on binding:host_id: only an
// admin binds a port to a host (as Nova does for a VM's port). On create
// the attribute counts only when set to something other than its
// default (""); on update whenever it is present.
func hostIDPolicy(action string, spec ovn.PortSpec, c Caller) error {
	if c.Admin || spec.HostID == nil || (action == "create" && *spec.HostID == "") {
		return nil
	}
	return &forbidden{msg: fmt.Sprintf("(rule:%[1]s_port and rule:%[1]s_port:binding:host_id) is disallowed by policy", action)}
}

func (s *server) createPort(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "port", portCreateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := portSpec(a, s.dnsDomain)
	if err == nil {
		err = hostIDPolicy("create", spec, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	netID, err := a.str("network_id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if netID == nil || *netID == "" {
		s.fail(w, r, httpBadReq("Failed to parse request. Required attribute 'network_id' not specified"))
		return
	}
	spec.NetworkID = *netID
	if mac, err := a.str("mac_address"); err != nil {
		s.fail(w, r, err)
		return
	} else if mac != nil {
		spec.MAC = *mac
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	if a.has("tags") {
		if spec.Tags, err = tagList(a["tags"]); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	p, err := s.store.CreatePort(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "port", s.portJSON(p))
}

func (s *server) updatePort(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "port", portUpdateAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := portSpec(a, s.dnsDomain)
	if err == nil {
		err = hostIDPolicy("update", spec, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A new MAC: admin only (Neutron's update_port:mac_address policy
	// applies whenever the attribute is sent), and only while the port is
	// unbound (the store checks).
	if mac, err := a.str("mac_address"); err != nil {
		s.fail(w, r, err)
		return
	} else if mac != nil {
		if !c.Admin {
			s.fail(w, r, &forbidden{msg: "(rule:update_port:mac_address) is disallowed by policy"})
			return
		}
		spec.MAC = *mac
	}
	// New fixed_ips re-allocate (the store claims new addresses before
	// it frees old ones); the current values echoed back change nothing.
	p, err := s.store.UpdatePort(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "port", s.portJSON(p))
}

func (s *server) deletePort(w http.ResponseWriter, r *http.Request, c Caller) {
	if p, err := s.store.GetPort(r.Context(), scope(c), r.PathValue("id")); err == nil {
		if err := routerOwned(p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.store.DeletePort(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// portDNSName is the dns_name Neutron returns: "" where it ignores the
// attribute (see dnsName).
func portDNSName(p *ovn.Port, domain string) string {
	if !ovn.DNSNamesHonoured(domain) {
		return ""
	}
	return p.DNSName
}
