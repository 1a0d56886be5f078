package neutron

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Routers (Neutron's router and extraroute extensions).

// RouterStore is the storage of routers (implemented by *ovn.Store).
type RouterStore interface {
	ListRouters(ctx context.Context, sc ovn.Scope) ([]*ovn.Router, error)
	GetRouter(ctx context.Context, sc ovn.Scope, id string) (*ovn.Router, error)
	CreateRouter(ctx context.Context, sc ovn.Scope, spec ovn.RouterSpec) (*ovn.Router, error)
	UpdateRouter(ctx context.Context, sc ovn.Scope, id string, spec ovn.RouterSpec) (*ovn.Router, error)
	DeleteRouter(ctx context.Context, sc ovn.Scope, id string) error
	AddRouterInterface(ctx context.Context, sc ovn.Scope, routerID, subnetID, portID string) (*ovn.RouterInterface, error)
	RemoveRouterInterface(ctx context.Context, sc ovn.Scope, routerID, subnetID, portID string) (*ovn.RouterInterface, error)
	RouterPorts(routerID string) (ifaces []*ovn.Port, gw *ovn.Port)
}

var routerAttrs = []string{"name", "description", "admin_state_up", "external_gateway_info", "routes", "project_id", "tenant_id"}

func (s *server) routerRoutes(mux *http.ServeMux) {
	if s.routers == nil {
		return
	}
	mux.HandleFunc("GET /v2.0/routers", s.authed(s.listRouters))
	mux.HandleFunc("POST /v2.0/routers", s.authed(s.createRouter))
	mux.HandleFunc("GET /v2.0/routers/{id}", s.authed(s.showRouter))
	mux.HandleFunc("PUT /v2.0/routers/{id}", s.authed(s.updateRouter))
	mux.HandleFunc("DELETE /v2.0/routers/{id}", s.authed(s.deleteRouter))
	mux.HandleFunc("PUT /v2.0/routers/{id}/add_router_interface", s.authed(s.routerInterface(true)))
	mux.HandleFunc("PUT /v2.0/routers/{id}/remove_router_interface", s.authed(s.routerInterface(false)))
}

func (s *server) routerJSON(rt *ovn.Router, c Caller) obj {
	var gwInfo any
	if rt.GatewayNetworkID != "" {
		_, gw := s.routers.RouterPorts(rt.ID)
		fixed := []fixedIPJSON{}
		if gw != nil {
			for _, f := range gw.FixedIPs {
				fixed = append(fixed, fixedIPJSON{SubnetID: f.SubnetID, IPAddress: f.IPAddress.String()})
			}
		}
		gwInfo = obj{"network_id": rt.GatewayNetworkID, "enable_snat": rt.EnableSNAT, "external_fixed_ips": fixed}
	}
	routes := make([]obj, len(rt.Routes))
	for i, x := range rt.Routes {
		routes[i] = obj{"destination": x.Destination.String(), "nexthop": x.NextHop.String()}
	}
	status := "ACTIVE"
	if !rt.AdminStateUp {
		status = "DOWN"
	}
	o := obj{
		"id":                      rt.ID,
		"name":                    rt.Name,
		"description":             rt.Description,
		"tenant_id":               rt.ProjectID,
		"project_id":              rt.ProjectID,
		"admin_state_up":          rt.AdminStateUp,
		"status":                  status,
		"external_gateway_info":   gwInfo,
		"routes":                  routes,
		"availability_zone_hints": []string{},
		"availability_zones":      []string{},
		"flavor_id":               nil,
		"tags":                    []string{},
		"revision_number":         rt.Revision,
		"created_at":              timeJSON(rt.CreatedAt),
		"updated_at":              timeJSON(rt.UpdatedAt),
	}
	if c.Admin {
		// Neutron shows these to admins only.
		o["distributed"], o["ha"] = false, false
	}
	return o
}

func (s *server) listRouters(w http.ResponseWriter, r *http.Request, c Caller) {
	rs, err := s.routers.ListRouters(r.Context(), scope(c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]obj, len(rs))
	for i, x := range rs {
		out[i] = s.routerJSON(x, c)
	}
	writeList(w, r, "routers", out)
}

func (s *server) showRouter(w http.ResponseWriter, r *http.Request, c Caller) {
	x, err := s.routers.GetRouter(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "router", s.routerJSON(x, c))
}

// routerSpec reads a router's settable attributes; action is "create"
// or "update" (Neutron's policy names).
func routerSpec(a attrs, c Caller, action string) (ovn.RouterSpec, error) {
	var spec ovn.RouterSpec
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
	if a.has("external_gateway_info") {
		var gw *ovn.RouterGateway
		if !a.isNull("external_gateway_info") {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(a["external_gateway_info"], &m); err != nil || m == nil {
				return spec, invalid("Invalid input for external_gateway_info. Reason: '%s' is not a dictionary.", clip(a["external_gateway_info"]))
			}
			ga := attrs(m)
			for k := range ga {
				switch k {
				case "network_id":
				case "enable_snat", "external_fixed_ips":
					// Neutron's default policy: admin only.
					if !c.Admin {
						return spec, &forbidden{msg: "(rule:" + action + "_router:external_gateway_info:" + k + ") is disallowed by policy"}
					}
					if k == "external_fixed_ips" {
						return spec, invalid("external_fixed_ips are not supported by this server; the gateway address is allocated.")
					}
				default:
					return spec, invalid("Invalid input for external_gateway_info. Reason: Validation of dictionary's keys failed. Expected keys: {'network_id'} Provided keys: {'%s'}.", k)
				}
			}
			netID, err := optStr(ga, "network_id")
			if err != nil {
				return spec, err
			}
			if netID == "" {
				return spec, invalid("Invalid input for external_gateway_info. Reason: network_id is required.")
			}
			gw = &ovn.RouterGateway{NetworkID: netID}
			if gw.EnableSNAT, err = ga.boolean("enable_snat"); err != nil {
				return spec, err
			}
		}
		spec.Gateway = &gw
	}
	if a.has("routes") {
		routes := []ovn.Route{}
		var raw []map[string]string
		if !a.isNull("routes") {
			if err := json.Unmarshal(a["routes"], &raw); err != nil {
				return spec, invalid("Invalid input for routes. Reason: '%s' is not a list of {destination, nexthop}.", clip(a["routes"]))
			}
		}
		for _, m := range raw {
			dst, err1 := netip.ParsePrefix(m["destination"])
			hop, err2 := netip.ParseAddr(m["nexthop"])
			if err1 != nil || err2 != nil || dst.Addr().Is4() != hop.Is4() {
				return spec, newInvalidRoutes(m)
			}
			routes = append(routes, ovn.Route{Destination: dst.Masked(), NextHop: hop})
		}
		spec.Routes = &routes
	}
	return spec, nil
}

func newInvalidRoutes(m map[string]string) error {
	b, _ := json.Marshal(m)
	return &badRequest{typ: "InvalidRoutes", msg: "Invalid format for routes: " + string(b) + ", want a destination CIDR and a nexthop address of the same IP version"}
}

func (s *server) createRouter(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "router", routerAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := routerSpec(a, c, "create")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	x, err := s.routers.CreateRouter(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "router", s.routerJSON(x, c))
}

func (s *server) updateRouter(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "router", routerAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if a.has("project_id") || a.has("tenant_id") {
		s.fail(w, r, invalid("Cannot update read-only attribute project_id"))
		return
	}
	spec, err := routerSpec(a, c, "update")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	x, err := s.routers.UpdateRouter(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "router", s.routerJSON(x, c))
}

func (s *server) deleteRouter(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.routers.DeleteRouter(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// routerInterface answers add_router_interface and
// remove_router_interface (bodies not wrapped in a resource key).
func (s *server) routerInterface(add bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c Caller) {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body == nil {
			s.fail(w, r, badReq("Malformed request body: want {\"subnet_id\": ...} or {\"port_id\": ...}."))
			return
		}
		a := attrs(body)
		for k := range a {
			if k != "subnet_id" && k != "port_id" {
				s.fail(w, r, httpBadReq("Unrecognized attribute(s) '%s'", k))
				return
			}
		}
		subnetID, err := optStr(a, "subnet_id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		portID, err := optStr(a, "port_id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var ri *ovn.RouterInterface
		if add {
			if subnetID != "" && portID != "" {
				s.fail(w, r, badReq("Bad router request: Cannot specify both subnet-id and port-id"))
				return
			}
			ri, err = s.routers.AddRouterInterface(r.Context(), scope(c), r.PathValue("id"), subnetID, portID)
		} else {
			ri, err = s.routers.RemoveRouterInterface(r.Context(), scope(c), r.PathValue("id"), subnetID, portID)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		subnet := ""
		if len(ri.SubnetIDs) > 0 {
			subnet = ri.SubnetIDs[0]
		}
		writeJSON(w, http.StatusOK, obj{"id": ri.RouterID, "tenant_id": ri.ProjectID, "project_id": ri.ProjectID,
			"port_id": ri.PortID, "network_id": ri.NetworkID, "subnet_id": subnet, "subnet_ids": ri.SubnetIDs})
	}
}

// routerOwned refuses to delete a router's port through the port API,
// as Neutron does.
func routerOwned(p *ovn.Port) error {
	if p.DeviceOwner == ovn.OwnerRouterInterface || p.DeviceOwner == ovn.OwnerRouterGateway || p.DeviceOwner == ovn.OwnerFloatingIP {
		return &conflict{typ: "ServicePortInUse", msg: "Port " + p.ID + " cannot be deleted directly via the port API: has device owner " + p.DeviceOwner + "."}
	}
	return nil
}
