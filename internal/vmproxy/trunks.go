package vmproxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// trunk fetches a trunk whose parent is the caller's port (ok false:
// none such, or another port's).
func (s *Server) trunk(ctx context.Context, c Caller, id string) (trunk, json.RawMessage, bool, error) {
	var raw json.RawMessage
	found, err := get(ctx, s.up, "trunks/"+id, "trunk", &raw)
	if err != nil || !found {
		return trunk{}, nil, false, err
	}
	var t trunk
	if err := json.Unmarshal(raw, &t); err != nil {
		return trunk{}, nil, false, upstreamError{err}
	}
	return t, raw, t.PortID == c.VIFID, nil
}

func (s *Server) listTrunks(ctx context.Context, rq request) (reply, error) {
	const action = "list_trunks"
	if ids, has := rq.query["port_id"]; has && (len(ids) != 1 || ids[0] != rq.caller.VIFID) {
		return ok(action, "trunks", nil), nil
	}
	raws, ts, err := list[trunk](ctx, s.up, "trunks"+query(rq.query, []string{"name", "id", "status"}, map[string]string{"port_id": rq.caller.VIFID}), "trunks")
	if err != nil {
		return reply{action: action}, err
	}
	out := []json.RawMessage{}
	for i, t := range ts {
		if t.PortID == rq.caller.VIFID {
			out = append(out, raws[i])
		}
	}
	return ok(action, "trunks", out), nil
}

func (s *Server) showTrunk(ctx context.Context, rq request) (reply, error) {
	const action = "show_trunk"
	_, raw, mine, err := s.trunk(ctx, rq.caller, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	if !mine {
		return refuse(http.StatusNotFound, action, "Trunk %s could not be found.", rq.segs[1]), nil
	}
	return okOne(action, "trunk", raw), nil
}

func (s *Server) createTrunk(ctx context.Context, rq request) (reply, error) {
	const action = "create_trunk"
	attrs, rep := decodeBody(action, rq.body, "trunk", []string{"name", "description", "port_id", "admin_state_up", "sub_ports"})
	if attrs == nil {
		return rep, nil
	}
	if p, _ := attrs["port_id"].(string); p != rq.caller.VIFID {
		return forbidden(action, "port_id %q is not your port %s: a VM may make a trunk of its own port only", p, rq.caller.VIFID), nil
	}
	if subs, _ := attrs["sub_ports"].([]any); len(subs) > 0 {
		return forbidden(action, "a trunk is created without subports through the VM proxy: add them with add_subports"), nil
	}
	attrs["project_id"] = rq.caller.ProjectID
	return s.pass(ctx, action, http.MethodPost, "trunks", encode("trunk", attrs))
}

// changeSubports: add_subports or remove_subports on the caller's own
// trunk; added ports must be the caller's children (made through the
// proxy, or marked so), within the child cap.
func (s *Server) changeSubports(ctx context.Context, rq request) (reply, error) {
	op := rq.segs[2]
	action := op
	t, _, mine, err := s.trunk(ctx, rq.caller, rq.segs[1])
	if err != nil {
		return reply{action: action}, err
	}
	if !mine {
		if t.ID != "" {
			return forbidden(action, "trunk %s is not your port's (%s): a VM may change its own trunk only", t.ID, rq.caller.VIFID), nil
		}
		return refuse(http.StatusNotFound, action, "Trunk %s could not be found.", rq.segs[1]), nil
	}
	var body struct {
		SubPorts []map[string]any `json:"sub_ports"`
	}
	if err := json.Unmarshal(rq.body, &body); err != nil || len(body.SubPorts) == 0 {
		return refuse(http.StatusBadRequest, action, "the body must be {\"sub_ports\": [{\"port_id\": ID, ...}, ...]}"), nil
	}
	allowed := []string{"port_id"}
	if op == "add_subports" {
		allowed = append(allowed, "segmentation_type", "segmentation_id")
		if len(t.SubPorts)+len(body.SubPorts) > s.cfg.MaxChildren {
			return refuse(http.StatusConflict, action, "your trunk %s has %d subports already, the most this cloud allows a VM (--max-children) is %d", t.ID, len(t.SubPorts), s.cfg.MaxChildren), nil
		}
	}
	for _, sp := range body.SubPorts {
		for k := range sp {
			if !contains(allowed, k) {
				return forbidden(action, "attribute %q of a subport may not be set through the VM proxy (allowed: %v)", k, allowed), nil
			}
		}
		id, _ := sp["port_id"].(string)
		if !safeSegment.MatchString(id) {
			return refuse(http.StatusBadRequest, action, "port_id %q is not a port id", id), nil
		}
		if op != "add_subports" {
			continue
		}
		if typ, has := sp["segmentation_type"]; has && typ != "vlan" {
			return refuse(http.StatusBadRequest, action, "segmentation_type %v: only vlan", typ), nil
		}
		p, _, found, err := s.port(ctx, id)
		if err != nil {
			return reply{action: action}, err
		}
		if !found || !rq.caller.childOf(p) {
			return forbidden(action, "port %s is not a port made for your port %s (its description must be %q): a VM may add only its own children to its trunk", id, rq.caller.VIFID, ChildMarker(rq.caller.VIFID)), nil
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return reply{action: action}, fmt.Errorf("encoding %s: %w", op, err)
	}
	return s.pass(ctx, action, http.MethodPut, "trunks/"+t.ID+"/"+op, b)
}
