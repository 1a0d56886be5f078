package neutron

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Security groups (Neutron's security-group extension).

// SecurityGroupStore is the storage of security groups (implemented by
// *ovn.Store).
type SecurityGroupStore interface {
	ListSecurityGroups(ctx context.Context, sc ovn.Scope) ([]*ovn.SecurityGroup, error)
	GetSecurityGroup(ctx context.Context, sc ovn.Scope, id string) (*ovn.SecurityGroup, error)
	CreateSecurityGroup(ctx context.Context, sc ovn.Scope, spec ovn.SecurityGroupSpec) (*ovn.SecurityGroup, error)
	UpdateSecurityGroup(ctx context.Context, sc ovn.Scope, id string, spec ovn.SecurityGroupSpec) (*ovn.SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, sc ovn.Scope, id string) error
	ListSecurityGroupRules(ctx context.Context, sc ovn.Scope) ([]*ovn.SecurityGroupRule, error)
	GetSecurityGroupRule(ctx context.Context, sc ovn.Scope, id string) (*ovn.SecurityGroupRule, error)
	CreateSecurityGroupRule(ctx context.Context, sc ovn.Scope, r ovn.SecurityGroupRule) (*ovn.SecurityGroupRule, error)
	DeleteSecurityGroupRule(ctx context.Context, sc ovn.Scope, id string) error
}

var (
	sgAttrs   = []string{"name", "description", "stateful", "project_id", "tenant_id"}
	ruleAttrs = []string{"security_group_id", "direction", "ethertype", "protocol", "port_range_min", "port_range_max",
		"remote_ip_prefix", "remote_group_id", "remote_address_group_id", "description", "project_id", "tenant_id"}
)

func (s *server) sgRoutes(mux *http.ServeMux) {
	if s.groups == nil {
		return
	}
	mux.HandleFunc("GET /v2.0/security-groups", s.authed(s.listGroups))
	mux.HandleFunc("POST /v2.0/security-groups", s.authed(s.createGroup))
	mux.HandleFunc("GET /v2.0/security-groups/{id}", s.authed(s.showGroup))
	mux.HandleFunc("PUT /v2.0/security-groups/{id}", s.authed(s.updateGroup))
	mux.HandleFunc("DELETE /v2.0/security-groups/{id}", s.authed(s.deleteGroup))
	mux.HandleFunc("GET /v2.0/security-group-rules", s.authed(s.listRules))
	mux.HandleFunc("POST /v2.0/security-group-rules", s.authed(s.createRule))
	mux.HandleFunc("GET /v2.0/security-group-rules/{id}", s.authed(s.showRule))
	mux.HandleFunc("DELETE /v2.0/security-group-rules/{id}", s.authed(s.deleteRule))
}

func ruleJSON(r *ovn.SecurityGroupRule) obj {
	var pmin, pmax any
	if r.PortMin != nil {
		pmin = *r.PortMin
	}
	if r.PortMax != nil {
		pmax = *r.PortMax
	}
	return obj{
		"id":                      r.ID,
		"security_group_id":       r.GroupID,
		"tenant_id":               r.ProjectID,
		"project_id":              r.ProjectID,
		"direction":               r.Direction,
		"ethertype":               r.EtherType,
		"protocol":                nullable(r.Protocol),
		"port_range_min":          pmin,
		"port_range_max":          pmax,
		"remote_ip_prefix":        nullable(r.RemoteIPPrefix),
		"normalized_cidr":         nullable(r.NormalizedCIDR()),
		"remote_group_id":         nullable(r.RemoteGroupID),
		"remote_address_group_id": nil,
		"description":             r.Description,
		"revision_number":         0,
		"created_at":              timeJSON(r.CreatedAt),
		"updated_at":              timeJSON(r.CreatedAt),
	}
}

func groupJSON(g *ovn.SecurityGroup) obj {
	rules := make([]obj, len(g.Rules))
	for i, r := range g.Rules {
		rules[i] = ruleJSON(r)
	}
	return obj{
		"id":                   g.ID,
		"name":                 g.Name,
		"description":          g.Description,
		"tenant_id":            g.ProjectID,
		"project_id":           g.ProjectID,
		"stateful":             g.Stateful,
		"security_group_rules": rules,
		"tags":                 nonNilTags(g.Tags),
		"revision_number":      g.Revision,
		"created_at":           timeJSON(g.CreatedAt),
		"updated_at":           timeJSON(g.UpdatedAt),
	}
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request, c Caller) {
	gs, err := s.groups.ListSecurityGroups(r.Context(), scope(c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]obj, len(gs))
	for i, g := range gs {
		out[i] = groupJSON(g)
	}
	writeList(w, r, "security_groups", out)
}

func (s *server) showGroup(w http.ResponseWriter, r *http.Request, c Caller) {
	g, err := s.groups.GetSecurityGroup(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group", groupJSON(g))
}

func groupSpec(a attrs) (ovn.SecurityGroupSpec, error) {
	var spec ovn.SecurityGroupSpec
	var err error
	if spec.Name, err = a.str("name"); err != nil {
		return spec, err
	}
	if spec.Description, err = a.str("description"); err != nil {
		return spec, err
	}
	if spec.Stateful, err = a.boolean("stateful"); err != nil {
		return spec, err
	}
	return spec, nil
}

func (s *server) createGroup(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "security_group", sgAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := groupSpec(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.ProjectID, err = projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.groups.CreateSecurityGroup(r.Context(), scope(c), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "security_group", groupJSON(g))
}

func (s *server) updateGroup(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "security_group", []string{"name", "description", "stateful"})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	spec, err := groupSpec(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.groups.UpdateSecurityGroup(r.Context(), scope(c), r.PathValue("id"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group", groupJSON(g))
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.groups.DeleteSecurityGroup(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) listRules(w http.ResponseWriter, r *http.Request, c Caller) {
	rs, err := s.groups.ListSecurityGroupRules(r.Context(), scope(c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]obj, len(rs))
	for i, x := range rs {
		out[i] = ruleJSON(x)
	}
	writeList(w, r, "security_group_rules", out)
}

func (s *server) showRule(w http.ResponseWriter, r *http.Request, c Caller) {
	x, err := s.groups.GetSecurityGroupRule(r.Context(), scope(c), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusOK, "security_group_rule", ruleJSON(x))
}

// optInt reads an integer attribute that may be null or a string of
// digits (Neutron's convert_to_int_if_not_none).
func optInt(a attrs, k string) (*int, error) {
	if !a.has(k) || a.isNull(k) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(a[k], &s) == nil {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, invalid("Invalid input for %s. Reason: '%s' is not an integer.", k, clip(s))
		}
		return &n, nil
	}
	n, err := integer(k, a[k], -1<<31, 1<<31-1)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// optStr reads a string attribute that may be null.
func optStr(a attrs, k string) (string, error) {
	if a.isNull(k) {
		return "", nil
	}
	v, err := a.str(k)
	if err != nil || v == nil {
		return "", err
	}
	return *v, nil
}

func (s *server) createRule(w http.ResponseWriter, r *http.Request, c Caller) {
	a, err := readBody(r, "security_group_rule", ruleAttrs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rule, err := ruleSpec(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := projectFor(a, c); err != nil {
		s.fail(w, r, err)
		return
	}
	x, err := s.groups.CreateSecurityGroupRule(r.Context(), scope(c), rule)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeOne(w, r, http.StatusCreated, "security_group_rule", ruleJSON(x))
}

func ruleSpec(a attrs) (ovn.SecurityGroupRule, error) {
	var rule ovn.SecurityGroupRule
	var err error
	for _, k := range []string{"security_group_id", "direction"} {
		if !a.has(k) {
			return rule, httpBadReq("Failed to parse request. Required attribute '%s' not specified", k)
		}
	}
	if rule.GroupID, err = optStr(a, "security_group_id"); err != nil {
		return rule, err
	}
	if rule.Direction, err = optStr(a, "direction"); err != nil {
		return rule, err
	}
	if rule.EtherType, err = optStr(a, "ethertype"); err != nil {
		return rule, err
	}
	if a.has("protocol") && !a.isNull("protocol") {
		var n float64
		if json.Unmarshal(a["protocol"], &n) == nil {
			rule.Protocol = strconv.Itoa(int(n))
		} else if rule.Protocol, err = optStr(a, "protocol"); err != nil {
			return rule, err
		}
		rule.Protocol = strings.ToLower(rule.Protocol)
	}
	if rule.PortMin, err = optInt(a, "port_range_min"); err != nil {
		return rule, err
	}
	if rule.PortMax, err = optInt(a, "port_range_max"); err != nil {
		return rule, err
	}
	if rule.RemoteIPPrefix, err = optStr(a, "remote_ip_prefix"); err != nil {
		return rule, err
	}
	if rule.RemoteGroupID, err = optStr(a, "remote_group_id"); err != nil {
		return rule, err
	}
	if rule.Description, err = optStr(a, "description"); err != nil {
		return rule, err
	}
	if g, _ := optStr(a, "remote_address_group_id"); g != "" {
		return rule, invalid("remote_address_group_id is not supported by this server (address groups are not implemented)")
	}
	return rule, nil
}

func (s *server) deleteRule(w http.ResponseWriter, r *http.Request, c Caller) {
	if err := s.groups.DeleteSecurityGroupRule(r.Context(), scope(c), r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// portGroups reads a port's security_groups (nil when not given).
func portGroups(a attrs) (*[]string, error) {
	if !a.has("security_groups") {
		return nil, nil
	}
	if a.isNull("security_groups") {
		return &[]string{}, nil
	}
	var ids []string
	if err := json.Unmarshal(a["security_groups"], &ids); err != nil {
		return nil, invalid("Invalid input for security_groups. Reason: '%s' is not a list of security group ids.", clip(a["security_groups"]))
	}
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return &out, nil
}
