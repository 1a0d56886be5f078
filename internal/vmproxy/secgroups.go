package vmproxy

import (
	"context"
	"encoding/json"
	"net/http"
)

// securityGroup is what the proxy reads of a Neutron security group.
type securityGroup struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
}

// listSecurityGroups lists the caller's project's groups (the plugin's
// --security-group resolves names among them): the project filter is the
// proxy's, whatever the caller asked.
func (s *Server) listSecurityGroups(ctx context.Context, rq request) (reply, error) {
	const action = "list_security_groups"
	raws, _, err := list[securityGroup](ctx, s.up, "security-groups"+query(rq.query, []string{"name", "id"},
		map[string]string{"project_id": rq.caller.ProjectID}), "security_groups")
	if err != nil {
		return reply{action: action}, err
	}
	if raws == nil {
		raws = []json.RawMessage{}
	}
	return ok(action, "security_groups", raws), nil
}

// checkSecurityGroups refuses a port's security_groups unless each is a
// group of the caller's project: a VM may not put its containers in (and
// so open another project's members to) a group that is not its own.
func (s *Server) checkSecurityGroups(ctx context.Context, action string, c Caller, v any) (reply, bool, error) {
	given, isList := v.([]any)
	if !isList {
		return refuse(http.StatusBadRequest, action, "security_groups must be a list of security group ids"), false, nil
	}
	_, own, err := list[securityGroup](ctx, s.up, "security-groups"+query(nil, nil, map[string]string{"project_id": c.ProjectID}), "security_groups")
	if err != nil {
		return reply{action: action}, false, err
	}
	for _, g := range given {
		id, _ := g.(string)
		found := false
		for _, o := range own {
			found = found || (o.ID == id && o.ProjectID == c.ProjectID)
		}
		if !found {
			return refuse(http.StatusNotFound, action, "Security group %v could not be found.", g), false, nil
		}
	}
	return reply{}, true, nil
}
