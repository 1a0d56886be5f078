package vmproxy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// childOf: p is a child of the caller's port, made for it: a
// binding:profile child, a subport (the trunk driver writes the same
// profile), or a port made in trunk mode that names the caller's port in
// its description (not a subport yet).
func (c Caller) childOf(p port) bool {
	return p.ProjectID == c.ProjectID && p.ID != c.VIFID &&
		(p.parent() == c.VIFID || isChildDescription(p.Description, c.VIFID))
}

// sees: the VM's own port and its children.
func (c Caller) sees(p port) bool { return p.ID == c.VIFID || c.childOf(p) }

func (s *Server) port(ctx context.Context, id string) (port, json.RawMessage, bool, error) {
	var raw json.RawMessage
	found, err := get(ctx, s.up, "ports/"+id, "port", &raw)
	if err != nil || !found {
		return port{}, nil, false, err
	}
	var p port
	if err := json.Unmarshal(raw, &p); err != nil {
		return port{}, nil, false, upstreamError{err}
	}
	return p, raw, true, nil
}

// portFilters: the filters a VM may pass on a port list.
var portFilters = []string{"network_id", "device_owner", "device_id", "mac_address", "description", "id", "name", "status"}

func (s *Server) listPorts(ctx context.Context, rq request) (reply, error) {
	const action = "list_ports"
	raws, ps, err := list[port](ctx, s.up, "ports"+query(rq.query, portFilters, map[string]string{"project_id": rq.caller.ProjectID}), "ports")
	if err != nil {
		return reply{action: action}, err
	}
	out := []json.RawMessage{}
	for i, p := range ps {
		if rq.caller.sees(p) {
			out = append(out, raws[i])
		}
	}
	return ok(action, "ports", out), nil
}

func (s *Server) showPort(ctx context.Context, rq request) (reply, error) {
	const action = "show_port"
	p, raw, found, err := s.port(ctx, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	if !found || !rq.caller.sees(p) {
		return refuse(http.StatusNotFound, action, "Port %s could not be found.", rq.segs[1]), nil
	}
	return okOne(action, "port", raw), nil
}

func (s *Server) deletePort(ctx context.Context, rq request) (reply, error) {
	const action = "delete_port"
	p, _, found, err := s.port(ctx, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	switch {
	case !found:
		return refuse(http.StatusNotFound, action, "Port %s could not be found.", rq.segs[1]), nil
	case p.ID == rq.caller.VIFID:
		return forbidden(action, "a VM may not delete its own port %s", p.ID), nil
	case !rq.caller.childOf(p):
		return forbidden(action, "port %s is not a child of your port %s: a VM may delete only the children of its own port", p.ID, rq.caller.VIFID), nil
	}
	return s.pass(ctx, action, http.MethodDelete, "ports/"+p.ID, nil)
}

// Container port owners the plugin sets in binding-profile mode.
var childOwners = []string{"", "compute:ovn-docker", "compute:container"}

// createPort makes a child of the caller's port: with binding:profile
// {parent_name, tag}, parent_name must be the caller's port; without, it
// is a port that becomes a subport of the caller's trunk, and its
// description says so (the caller's marker). Either way the port is of the
// caller's project.
func (s *Server) createPort(ctx context.Context, rq request) (reply, error) {
	const action = "create_port"
	c := rq.caller
	attrs, rep := decodeBody(action, rq.body, "port", []string{"network_id", "name", "description", "admin_state_up",
		"device_owner", "device_id", "fixed_ips", "binding:profile", "security_groups"})
	if attrs == nil {
		return rep, nil
	}
	netID, _ := attrs["network_id"].(string)
	if !safeSegment.MatchString(netID) {
		return refuse(http.StatusBadRequest, action, "network_id %q is not a network id", netID), nil
	}
	owner, _ := attrs["device_owner"].(string)
	if !contains(childOwners, owner) {
		return forbidden(action, "device_owner %q may not be set through the VM proxy (allowed: compute:ovn-docker or none)", owner), nil
	}
	desc, _ := attrs["description"].(string)
	if prof, has := attrs["binding:profile"]; has {
		m, _ := prof.(map[string]any)
		parent, _ := m["parent_name"].(string)
		tag, isNum := m["tag"].(float64)
		if len(m) != 2 || parent == "" || !isNum {
			return refuse(http.StatusBadRequest, action, "binding:profile must be {\"parent_name\": YOUR_PORT, \"tag\": VLAN} and nothing else"), nil
		}
		if parent != c.VIFID {
			return forbidden(action, "parent_name %s is not your port %s: a VM may create children of its own port only", parent, c.VIFID), nil
		}
		if tag != float64(int(tag)) || tag < 1 || tag > 4094 {
			return refuse(http.StatusBadRequest, action, "tag %v is not a VLAN: use 1-4094", tag), nil
		}
	} else {
		switch {
		case desc == "":
			attrs["description"] = ChildMarker(c.VIFID)
		case !isChildDescription(desc, c.VIFID):
			return forbidden(action, "description %q does not name your port: a port without binding:profile is made to become a subport of your trunk, and its description must be %q (optionally followed by \" via NAME\")", desc, ChildMarker(c.VIFID)), nil
		}
		if owner != "" {
			return forbidden(action, "device_owner may be set only with binding:profile (a subport's owner is Neutron's)"), nil
		}
	}
	_, _, visible, err := s.network(ctx, c, netID)
	if err != nil {
		return reply{action: action}, err
	}
	if !visible {
		return refuse(http.StatusNotFound, action, "Network %s could not be found.", netID), nil
	}
	if sg, has := attrs["security_groups"]; has {
		if rep, ok, err := s.checkSecurityGroups(ctx, action, c, sg); !ok {
			return rep, err
		}
	}
	n, err := s.children(ctx, c)
	if err != nil {
		return reply{action: action}, err
	}
	if n >= s.cfg.MaxChildren {
		return refuse(http.StatusConflict, action, "your port %s has %d children already, the most this cloud allows a VM (--max-children)", c.VIFID, n), nil
	}
	attrs["project_id"] = c.ProjectID
	return s.pass(ctx, action, http.MethodPost, "ports", encode("port", attrs))
}

// children counts the child ports of the caller's port.
func (s *Server) children(ctx context.Context, c Caller) (int, error) {
	_, ps, err := list[port](ctx, s.up, "ports?"+url.Values{"project_id": {c.ProjectID}}.Encode(), "ports")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if c.childOf(p) {
			n++
		}
	}
	return n, nil
}
