package vmproxy

import (
	"context"
	"encoding/json"
	"net/http"
)

// visible: what Neutron shows a member of the project: its own networks,
// shared ones and external ones.
func (n network) visibleTo(project string) bool {
	return n.ProjectID == project || n.Shared || n.External
}

// network fetches a network the caller may see (ok false: none such).
func (s *Server) network(ctx context.Context, c Caller, id string) (network, json.RawMessage, bool, error) {
	var raw json.RawMessage
	found, err := get(ctx, s.up, "networks/"+id, "network", &raw)
	if err != nil || !found {
		return network{}, nil, false, err
	}
	var n network
	if err := json.Unmarshal(raw, &n); err != nil {
		return network{}, nil, false, upstreamError{err}
	}
	return n, raw, n.visibleTo(c.ProjectID), nil
}

func (s *Server) listNetworks(ctx context.Context, rq request) (reply, error) {
	const action = "list_networks"
	raws, ns, err := list[network](ctx, s.up, "networks"+query(rq.query, []string{"name", "id", "status", "shared", "router:external"}, nil), "networks")
	if err != nil {
		return reply{action: action}, err
	}
	out := []json.RawMessage{}
	for i, n := range ns {
		if n.visibleTo(rq.caller.ProjectID) {
			out = append(out, raws[i])
		}
	}
	return ok(action, "networks", out), nil
}

func (s *Server) showNetwork(ctx context.Context, rq request) (reply, error) {
	const action = "show_network"
	_, raw, visible, err := s.network(ctx, rq.caller, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	if !visible {
		return refuse(http.StatusNotFound, action, "Network %s could not be found.", rq.segs[1]), nil
	}
	return okOne(action, "network", raw), nil
}

func (s *Server) createNetwork(ctx context.Context, rq request) (reply, error) {
	const action = "create_network"
	if !s.cfg.AllowNetworkCreate {
		return forbidden(action, "creating networks through the VM proxy is turned off on this cloud (ovn-docker-proxy --allow-network-create): ask the operator, or create it with credentials of the project"), nil
	}
	attrs, rep := decodeBody(action, rq.body, "network", []string{"name", "description", "admin_state_up", "mtu"})
	if attrs == nil {
		return rep, nil
	}
	attrs["project_id"] = rq.caller.ProjectID
	return s.pass(ctx, action, http.MethodPost, "networks", encode("network", attrs))
}

func (s *Server) deleteNetwork(ctx context.Context, rq request) (reply, error) {
	const action = "delete_network"
	if !s.cfg.AllowNetworkCreate {
		return forbidden(action, "deleting networks through the VM proxy is turned off on this cloud (ovn-docker-proxy --allow-network-create)"), nil
	}
	n, _, visible, err := s.network(ctx, rq.caller, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	if !visible {
		return refuse(http.StatusNotFound, action, "Network %s could not be found.", rq.segs[1]), nil
	}
	if n.ProjectID != rq.caller.ProjectID {
		return forbidden(action, "network %s is not of your project %s", n.ID, rq.caller.ProjectID), nil
	}
	return s.pass(ctx, action, http.MethodDelete, "networks/"+n.ID, nil)
}

type subnet struct {
	ID        string `json:"id"`
	NetworkID string `json:"network_id"`
}

func (s *Server) listSubnets(ctx context.Context, rq request) (reply, error) {
	const action = "list_subnets"
	raws, subs, err := list[subnet](ctx, s.up, "subnets"+query(rq.query, []string{"network_id", "name", "id", "ip_version", "cidr"}, nil), "subnets")
	if err != nil {
		return reply{action: action}, err
	}
	seen := map[string]bool{}
	out := []json.RawMessage{}
	for i, sn := range subs {
		v, known := seen[sn.NetworkID]
		if !known {
			_, _, v, err = s.network(ctx, rq.caller, sn.NetworkID)
			if err != nil {
				return reply{action: action}, err
			}
			seen[sn.NetworkID] = v
		}
		if v {
			out = append(out, raws[i])
		}
	}
	return ok(action, "subnets", out), nil
}

func (s *Server) showSubnet(ctx context.Context, rq request) (reply, error) {
	const action = "show_subnet"
	var raw json.RawMessage
	found, err := get(ctx, s.up, "subnets/"+rq.segs[1], "subnet", &raw)
	if err != nil {
		return reply{action: action}, err
	}
	var sn subnet
	if found {
		_ = json.Unmarshal(raw, &sn)
		_, _, found, err = s.network(ctx, rq.caller, sn.NetworkID)
		if err != nil {
			return reply{action: action}, err
		}
	}
	if !found {
		return refuse(http.StatusNotFound, action, "Subnet %s could not be found.", rq.segs[1]), nil
	}
	return okOne(action, "subnet", raw), nil
}

func (s *Server) createSubnet(ctx context.Context, rq request) (reply, error) {
	const action = "create_subnet"
	if !s.cfg.AllowNetworkCreate {
		return forbidden(action, "creating subnets through the VM proxy is turned off on this cloud (ovn-docker-proxy --allow-network-create)"), nil
	}
	attrs, rep := decodeBody(action, rq.body, "subnet", []string{"network_id", "name", "description", "ip_version", "cidr", "gateway_ip",
		"enable_dhcp", "allocation_pools", "dns_nameservers", "ipv6_address_mode", "ipv6_ra_mode"})
	if attrs == nil {
		return rep, nil
	}
	netID, _ := attrs["network_id"].(string)
	if !safeSegment.MatchString(netID) {
		return refuse(http.StatusBadRequest, action, "network_id %q is not a network id", netID), nil
	}
	n, _, visible, err := s.network(ctx, rq.caller, netID)
	if err != nil {
		return reply{action: action}, err
	}
	if !visible {
		return refuse(http.StatusNotFound, action, "Network %s could not be found.", netID), nil
	}
	if n.ProjectID != rq.caller.ProjectID {
		return forbidden(action, "network %s is not of your project %s", netID, rq.caller.ProjectID), nil
	}
	attrs["project_id"] = rq.caller.ProjectID
	return s.pass(ctx, action, http.MethodPost, "subnets", encode("subnet", attrs))
}

func ok(action, key string, items []json.RawMessage) reply {
	b, _ := json.Marshal(map[string]any{key: items})
	return reply{http.StatusOK, b, action}
}

func okOne(action, key string, item json.RawMessage) reply {
	b, _ := json.Marshal(map[string]any{key: item})
	return reply{http.StatusOK, b, action}
}

func encode(key string, attrs map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{key: attrs})
	return b
}

// decodeBody reads {"<key>": {...}} with only the allowed attributes; a
// nil map comes with the refusal to send.
func decodeBody(action string, body []byte, key string, allowed []string) (map[string]any, reply) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		return nil, refuse(http.StatusBadRequest, action, "the body is not JSON of the form {\"%s\": {...}}: %v", key, err)
	}
	inner, found := outer[key]
	if !found || len(outer) != 1 {
		return nil, refuse(http.StatusBadRequest, action, "the body must be {\"%s\": {...}} and nothing else", key)
	}
	var attrs map[string]any
	if err := json.Unmarshal(inner, &attrs); err != nil || attrs == nil {
		return nil, refuse(http.StatusBadRequest, action, "%q must be an object of attributes", key)
	}
	for k := range attrs {
		if !contains(allowed, k) {
			return nil, forbidden(action, "attribute %q may not be set through the VM proxy (allowed: %v)", k, allowed)
		}
	}
	return attrs, reply{}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
