package neutron

import (
	"net/http"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Attributes a client may send for a network (others are refused).
var networkAttrs = []string{"name", "description", "admin_state_up", "shared", "mtu", "project_id", "tenant_id", "port_security_enabled",
	"router:external", attrNetworkType, attrPhysicalNetwork, attrSegmentationID}

func networkJSON(n *ovn.Network, c Caller) obj {
	return addProvider(networkFields(n), n, c)
}

func networkFields(n *ovn.Network) obj {
	status := "ACTIVE"
	if !n.AdminStateUp {
		status = "DOWN"
	}
	subnets := n.SubnetIDs
	if subnets == nil {
		subnets = []string{}
	}
	return obj{
		"id":                      n.ID,
		"name":                    n.Name,
		"description":             n.Description,
		"tenant_id":               n.ProjectID,
		"project_id":              n.ProjectID,
		"admin_state_up":          n.AdminStateUp,
		"status":                  status,
		"subnets":                 subnets,
		"shared":                  n.Shared,
		"mtu":                     n.MTU,
		"router:external":         n.External,
		"port_security_enabled":   n.PortSecurity,
		"availability_zone_hints": []string{},
		"availability_zones":      []string{},
		"ipv4_address_scope":      nil,
		"ipv6_address_scope":      nil,
		"l2_adjacency":            true,
		"tags":                    nonNilTags(n.Tags),
		"revision_number":         n.Revision,
		"created_at":              timeJSON(n.CreatedAt),
		"updated_at":              timeJSON(n.UpdatedAt),
	}
}

func (s *server) listNetworks(w http.ResponseWriter, r *http.Request, c Caller) {
	ns := s.store.ListNetworks(r.Context(), scope(c))
	out := make([]obj, len(ns))
	for i, n := range ns {
		out[i] = networkJSON(n, c)
	}
	writeList(w, r, "networks", out)
}

func (s *server) showNetwork(w http.ResponseWriter, r *http.Request, c Caller) {
	n, err := s.store.GetNetwork(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "network", networkJSON(n, c))
}

// networkSpec reads the settable attributes of a network; action is
// "create" or "update" (as in the names of Neutron's policy rules).
func networkSpec(a attrs, c Caller, action string) (ovn.NetworkSpec, error) {
	var spec ovn.NetworkSpec
	var err error
	if spec.Name, err = a.str("name"); err != nil {
		return spec, err
	}
	if spec.Description, err = a.str("description"); err != nil {
		return spec, err
	}
	if spec.AdminStateUp, err = a.boolean("admin_state_up"); err != nil {
		return spec, err
	}
	if spec.Shared, err = a.boolean("shared"); err != nil {
		return spec, err
	}
	if spec.Shared != nil && *spec.Shared && !c.Admin {
		return spec, &forbidden{msg: "(rule:" + action + "_network:shared) is disallowed by policy: only an admin may share a network."}
	}
	if spec.PortSecurity, err = a.boolean("port_security_enabled"); err != nil {
		return spec, err
	}
	if spec.External, err = a.boolean("router:external"); err != nil {
		return spec, err
	}
	if spec.External != nil && !c.Admin {
		return spec, &forbidden{msg: "(rule:" + action + "_network:router:external) is disallowed by policy: only an admin may make a network external."}
	}
	if spec.Provider, err = providerSpec(a, c, action); err != nil {
		return spec, err
	}
	if a.has("mtu") {
		// 68 is the IPv4 minimum; 9216 the largest jumbo frame OVS takes.
		mtu, err := convertInt("mtu", a["mtu"], 68, 9216)
		if err != nil {
			return spec, err
		}
		spec.MTU = &mtu
	}
	return spec, nil
}

func (s *server) createNetwork(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "network", networkAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := networkSpec(a, c, "create")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.store.CreateNetwork(r.Context(), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "network", networkJSON(n, c))
}

func (s *server) updateNetwork(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "network", networkAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if a.has("project_id") || a.has("tenant_id") {
		s.fail(w, r, invalid("Cannot update read-only attribute project_id"))
		return
	}
	spec, err := networkSpec(a, c, "update")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.store.UpdateNetwork(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "network", networkJSON(n, c))
}

func (s *server) deleteNetwork(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.store.DeleteNetwork(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
