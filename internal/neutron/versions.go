package neutron

import "net/http"

// versions answers GET / (no token needed, as in Neutron).
func (s *server) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []obj{{
		"id":     "v2.0",
		"status": "CURRENT",
		"links":  []obj{{"rel": "self", "href": baseURL(r) + "/v2.0/"}},
	}}})
}

// resources answers GET /v2.0.
func (s *server) resources(w http.ResponseWriter, r *http.Request, _ Caller) {
	var out []obj
	for _, res := range [][2]string{{"network", "networks"}, {"subnet", "subnets"}, {"port", "ports"}} {
		out = append(out, obj{
			"name":       res[0],
			"collection": res[1],
			"links":      []obj{{"rel": "self", "href": baseURL(r) + "/v2.0/" + res[1]}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": out})
}

// The extensions this server implements, as Neutron names them, so that
// clients that probe for them (openstacksdk, gophercloud) use them.
var extensionList = []obj{
	ext("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
	ext("port-security", "Port Security", "Provides port security"),
	ext("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
	ext("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
	ext("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
	ext("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard attributes"),
	ext("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of neutron resources."),
	ext("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."),
	ext("revision-if-match", "If-Match constraints based on revision_number", "Extension indicating that If-Match based on revision_number is supported."),
	ext("standard-attr-tag", "Tag support for resources with standard attribute: subnet, port, network", "Enables to set tag on resources with standard attribute."),
	ext("allowed-address-pairs", "Allowed Address Pairs", "Provides allowed address pairs"),
	ext("extra_dhcp_opt", "Neutron Extra DHCP options", "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)"),
	ext("subnet-service-types", "Subnet service types", "Provides ability to set the subnet service_types field"),
	ext("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
	ext("address-scope", "Address scope", "Address scopes extension."),
	ext("sorting", "Sorting support", "Enables sorting support for resources."),
	ext("pagination", "Pagination support", "Enables pagination support for resources."),
	ext("provider", "Provider Network", "Expose mapping of virtual networks to physical networks"),
	ext("external-net", "Neutron external network", "Adds external network attribute to network resource."),
	ext("security-group", "security-group", "The security groups extension."),
	ext("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway."),
	ext("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 router"),
	ext("trunk", "Trunk Extension", "Provides support for trunk ports"),
	ext("dns-integration", "DNS Integration", "Provides integration with DNS."),
	ext("trunk-details", "Trunk port details", "Expose trunk port details"),
}

func ext(alias, name, desc string) obj {
	return obj{"alias": alias, "name": name, "description": desc, "updated": "2016-01-01T00:00:00-00:00", "links": []any{}}
}

func (s *server) extensions(w http.ResponseWriter, r *http.Request, _ Caller) {
	writeJSON(w, http.StatusOK, map[string]any{"extensions": extensionList})
}

func (s *server) extension(w http.ResponseWriter, r *http.Request, _ Caller) {
	alias := r.PathValue("alias")
	for _, e := range extensionList {
		if e["alias"] == alias {
			writeJSON(w, http.StatusOK, map[string]any{"extension": e})
			return
		}
	}
	writeError(w, http.StatusNotFound, "HTTPNotFound", "Extension with alias "+alias+" does not exist")
}
