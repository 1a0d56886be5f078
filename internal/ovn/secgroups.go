package ovn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Security groups are stored as ML2/OVN stores them: a Port_Group
// pg_<id with _ for -> per group whose ports are the group's members, an
// ACL per rule in it (allow-related, priority 1002), and the Port_Group
// neutron_pg_drop that holds every port with port security and drops
// the IP traffic no rule allows (priority 1001). OVN derives the address
// sets $pg_<id>_ip4 / _ip6 that rules with remote_group_id match on.
// The group's attributes are the Port_Group's external_ids, a rule's its
// ACL's (neutron:security_group_rule_id, as ML2/OVN, and the rule
// itself as JSON).

const (
	pgPrefix   = "pg_"
	pgDropName = "neutron_pg_drop"
	// ML2/OVN's ACL priorities.
	aclPriorityAllow = 1002
	aclPriorityDrop  = 1001

	keySecurityGroupID   = "neutron:security_group_id"
	keySecurityGroupName = "neutron:security_group_name"
	keyStateful          = "neutron:stateful"
	keyRuleID            = "neutron:security_group_rule_id"
	keyRule              = "neutron:security_group_rule"
	// on a Logical_Switch_Port: its groups, space-separated (ML2/OVN's key)
	keyPortSecurityGroups = "neutron:security_group_ids"
)

// DefaultGroupName is the name of each project's default group.
const DefaultGroupName = "default"

// SecurityGroup is a Neutron security group.
type SecurityGroup struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	Stateful    bool
	Rules       []*SecurityGroupRule
	Tags        []string
	Revision    int64
	CreatedAt   time.Time
	UpdatedAt   time.Time

	uuid string
	ext  map[string]string
}

// SecurityGroupRule is one rule of a group. Nil ports and "" strings are
// Neutron's null.
type SecurityGroupRule struct {
	ID        string `json:"id"`
	GroupID   string `json:"security_group_id"`
	ProjectID string `json:"project_id"`
	Direction string `json:"direction"`
	EtherType string `json:"ethertype"`
	Protocol  string `json:"protocol,omitempty"`
	PortMin   *int   `json:"port_range_min,omitempty"`
	PortMax   *int   `json:"port_range_max,omitempty"`
	// RemoteIPPrefix is kept as given (a mask added when it had none),
	// as Neutron keeps it; NormalizedCIDR is what it matches.
	RemoteIPPrefix string    `json:"remote_ip_prefix,omitempty"`
	RemoteGroupID  string    `json:"remote_group_id,omitempty"`
	Description    string    `json:"description,omitempty"`
	CreatedAt      time.Time `json:"created_at"`

	uuid string
}

// NormalizedCIDR is the network of the rule's remote_ip_prefix (host
// bits cleared), "" without one: Neutron's normalized_cidr, which
// ML2/OVN's ACL matches.
func (r *SecurityGroupRule) NormalizedCIDR() string {
	p, err := netip.ParsePrefix(r.RemoteIPPrefix)
	if err != nil {
		return ""
	}
	return p.Masked().String()
}

// pgName is ML2/OVN's Port_Group name of a security group.
func pgName(sgID string) string { return pgPrefix + strings.ReplaceAll(sgID, "-", "_") }

// defaultGroupID is the id of a project's default group: derived from
// the project, so that NB's unique index on Port_Group names lets only
// one of two racing first uses (in any replica) create it.
func defaultGroupID(projectID string) string {
	return uuid.NewSHA1(segmentNamespace, []byte("default-security-group/"+projectID)).String()
}

// groups reads the security groups from the client cache.
func (s *Store) groups(ctx context.Context) (map[string]*SecurityGroup, error) {
	var pgs []nbdb.PortGroup
	if err := s.nb.List(ctx, &pgs); err != nil {
		return nil, fmt.Errorf("list Port_Group: %w", err)
	}
	var acls []nbdb.ACL
	if err := s.nb.List(ctx, &acls); err != nil {
		return nil, fmt.Errorf("list ACL: %w", err)
	}
	byUUID := make(map[string]*nbdb.ACL, len(acls))
	for i := range acls {
		byUUID[acls[i].UUID] = &acls[i]
	}
	out := map[string]*SecurityGroup{}
	for i := range pgs {
		pg := &pgs[i]
		e := pg.ExternalIDs
		id := e[keySecurityGroupID]
		if id == "" || e[keyProjectID] == "" {
			continue
		}
		g := &SecurityGroup{ID: id, Name: e[keySecurityGroupName], Description: e[keyDescription], ProjectID: e[keyProjectID],
			Stateful: e[keyStateful] != "false", Tags: jsonList[string](e[keyTags]), Revision: atoi64(e[keyRevision]),
			CreatedAt: parseTime(e[keyCreatedAt]), UpdatedAt: parseTime(e[keyUpdatedAt]), uuid: pg.UUID, ext: e}
		for _, u := range pg.ACLs {
			a := byUUID[u]
			if a == nil || a.ExternalIDs[keyRule] == "" {
				continue
			}
			r := &SecurityGroupRule{}
			if json.Unmarshal([]byte(a.ExternalIDs[keyRule]), r) != nil {
				continue
			}
			r.uuid = a.UUID
			g.Rules = append(g.Rules, r)
		}
		slices.SortFunc(g.Rules, func(a, b *SecurityGroupRule) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
		out[id] = g
	}
	return out, nil
}

// ListSecurityGroups returns the groups the caller may see, creating
// the caller's default group on first use as Neutron does.
func (s *Store) ListSecurityGroups(ctx context.Context, sc Scope) ([]*SecurityGroup, error) {
	if !sc.Admin {
		if _, err := s.EnsureDefaultGroup(ctx, sc.ProjectID); err != nil {
			return nil, err
		}
	}
	all, err := s.groups(ctx)
	if err != nil {
		return nil, err
	}
	var out []*SecurityGroup
	for _, g := range all {
		if sc.owns(g.ProjectID) {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b *SecurityGroup) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out, nil
}

func sgNotFound(id string) *Error {
	return newErr(ErrNotFound, "SecurityGroupNotFound", "Security group %s does not exist", id)
}

// GetSecurityGroup returns one group the caller may see.
func (s *Store) GetSecurityGroup(ctx context.Context, sc Scope, id string) (*SecurityGroup, error) {
	all, err := s.groups(ctx)
	if err != nil {
		return nil, err
	}
	g := all[id]
	if g == nil || !sc.owns(g.ProjectID) {
		return nil, sgNotFound(id)
	}
	return g, nil
}

// SecurityGroupSpec is what a client may set on a group.
type SecurityGroupSpec struct {
	Name        *string
	Description *string
	ProjectID   string // create only
	Stateful    *bool
}

// defaultRules are the rules Neutron gives a new group: all egress; a
// default group also takes ingress from its own members.
func defaultRules(g *SecurityGroup, isDefault bool, now time.Time) []*SecurityGroupRule {
	var out []*SecurityGroupRule
	for _, et := range []string{"IPv4", "IPv6"} {
		out = append(out, &SecurityGroupRule{ID: uuid.NewString(), GroupID: g.ID, ProjectID: g.ProjectID, Direction: "egress", EtherType: et, CreatedAt: now})
		if isDefault {
			out = append(out, &SecurityGroupRule{ID: uuid.NewString(), GroupID: g.ID, ProjectID: g.ProjectID, Direction: "ingress", EtherType: et, RemoteGroupID: g.ID, CreatedAt: now})
		}
	}
	return out
}

// CreateSecurityGroup writes a new group with Neutron's default rules.
func (s *Store) CreateSecurityGroup(ctx context.Context, sc Scope, spec SecurityGroupSpec) (*SecurityGroup, error) {
	if deref(spec.Name, "") == DefaultGroupName {
		return nil, newErr(ErrConflict, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
	}
	if !sc.Admin {
		// A project's first group call makes its default group too.
		if _, err := s.EnsureDefaultGroup(ctx, spec.ProjectID); err != nil {
			return nil, err
		}
	}
	return s.createGroup(ctx, uuid.NewString(), spec, false)
}

// EnsureDefaultGroup returns the project's default group id, creating
// the group if it does not exist yet.
func (s *Store) EnsureDefaultGroup(ctx context.Context, projectID string) (string, error) {
	id := defaultGroupID(projectID)
	if s.groupExists(ctx, id) {
		return id, nil
	}
	desc := "Default security group"
	_, err := s.createGroup(ctx, id, SecurityGroupSpec{Name: ptrTo(DefaultGroupName), Description: &desc, ProjectID: projectID}, true)
	if err != nil && !s.groupExists(ctx, id) {
		return "", err
	}
	return id, nil
}

func ptrTo[T any](v T) *T { return &v }

func (s *Store) groupExists(ctx context.Context, id string) bool {
	pg := &nbdb.PortGroup{Name: pgName(id)}
	return s.nb.Get(ctx, pg) == nil
}

func (s *Store) createGroup(ctx context.Context, id string, spec SecurityGroupSpec, isDefault bool) (*SecurityGroup, error) {
	now := time.Now()
	g := &SecurityGroup{ID: id, Name: deref(spec.Name, ""), Description: deref(spec.Description, ""), ProjectID: spec.ProjectID,
		Stateful: deref(spec.Stateful, true), Revision: 1}
	nowS := fmtTime(now)
	pg := &nbdb.PortGroup{UUID: "pg", Name: pgName(id), ExternalIDs: map[string]string{
		keySecurityGroupID: id, keySecurityGroupName: g.Name, keyDescription: g.Description, keyProjectID: g.ProjectID,
		keyStateful: strconv.FormatBool(g.Stateful), keyRevision: "1", keyCreatedAt: nowS, keyUpdatedAt: nowS,
	}}
	var ops []ovsdb.Operation
	for i, r := range defaultRules(g, isDefault, now) {
		acl := ruleACL(g, r)
		acl.UUID = fmt.Sprintf("acl%d", i)
		more, err := s.nb.Create(acl)
		if err != nil {
			return nil, err
		}
		ops = append(ops, more...)
		pg.ACLs = append(pg.ACLs, acl.UUID)
	}
	more, err := s.nb.Create(pg)
	if err != nil {
		return nil, err
	}
	if err := s.transact(ctx, append(ops, more...)); err != nil {
		return nil, err
	}
	var out *SecurityGroup
	err = s.settleCache(ctx, func() bool {
		all, err := s.groups(ctx)
		out = all[id]
		return err == nil && out != nil
	})
	return out, err
}

// settleCache waits (bounded) until cond holds on the client cache, so
// that a client that writes and then reads sees its write.
func (s *Store) settleCache(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for !cond() {
		if err := sleepCtx(ctx, 2*time.Millisecond); err != nil {
			return fmt.Errorf("%w: committed, but NB did not report the change back: %v", ErrUnavailable, err)
		}
	}
	return nil
}

// UpdateSecurityGroup changes a group's name or description.
func (s *Store) UpdateSecurityGroup(ctx context.Context, sc Scope, id string, spec SecurityGroupSpec) (*SecurityGroup, error) {
	g, err := s.GetSecurityGroup(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if err := checkRevision(ctx, g.Revision); err != nil {
		return nil, err
	}
	if g.Name == DefaultGroupName && spec.Name != nil && *spec.Name != DefaultGroupName {
		return nil, newErr(ErrConflict, "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
	}
	ext := copyMap(g.ext)
	setIf(ext, keySecurityGroupName, spec.Name)
	setIf(ext, keyDescription, spec.Description)
	if spec.Stateful != nil {
		ext[keyStateful] = strconv.FormatBool(*spec.Stateful)
	}
	rev := g.Revision + 1
	ext[keyRevision] = strconv.FormatInt(rev, 10)
	ext[keyUpdatedAt] = fmtTime(time.Now())
	ops, err := s.guardPG(g)
	if err != nil {
		return nil, err
	}
	pg := &nbdb.PortGroup{UUID: g.uuid, ExternalIDs: ext}
	upd, err := s.nb.Where(pg).Update(pg, &pg.ExternalIDs)
	if err != nil {
		return nil, err
	}
	if err := s.transact(ctx, append(ops, upd...)); err != nil {
		if err == errGuard {
			return nil, newErr(ErrConflict, "SecurityGroupConflict", "Error concurrent update while attempting the operation.")
		}
		return nil, err
	}
	var out *SecurityGroup
	err = s.settleCache(ctx, func() bool {
		out, _ = s.GetSecurityGroup(ctx, Scope{Admin: true}, id)
		return out != nil && out.Revision >= rev
	})
	return out, err
}

func (s *Store) guardPG(g *SecurityGroup) ([]ovsdb.Operation, error) {
	m := &nbdb.PortGroup{UUID: g.uuid, ExternalIDs: g.ext}
	return s.nb.Where(m).Wait(ovsdb.WaitConditionEqual, &timeout0, m, &m.ExternalIDs)
}

// DeleteSecurityGroup removes a group no port uses. A member cannot
// remove its default group (once no port uses it either).
func (s *Store) DeleteSecurityGroup(ctx context.Context, sc Scope, id string) error {
	g, err := s.GetSecurityGroup(ctx, sc, id)
	if err != nil {
		return err
	}
	if err := checkRevision(ctx, g.Revision); err != nil {
		return err
	}
	// Neutron asks whether ports use the group before whether it is the
	// default one.
	if users := s.groupUsers(id); len(users) > 0 {
		return newErr(ErrConflict, "SecurityGroupInUse", "Security Group %s in use.", id)
	}
	if g.Name == DefaultGroupName && !sc.Admin {
		return newErr(ErrConflict, "SecurityGroupCannotRemoveDefault", "Insufficient rights for removing default security group.")
	}
	var pg nbdb.PortGroup
	pg.UUID = g.uuid
	// The ports column is not monitored: wait until it is still empty
	// in NB itself, so a port that joined meanwhile aborts the delete.
	w := ovsdb.Operation{Op: ovsdb.OperationWait, Table: nbdb.PortGroupTable, Timeout: &timeout0,
		Where:   []ovsdb.Condition{ovsdb.NewCondition("_uuid", ovsdb.ConditionEqual, ovsdb.UUID{GoUUID: g.uuid})},
		Columns: []string{"ports"}, Until: string(ovsdb.WaitConditionEqual),
		Rows: []ovsdb.Row{{"ports": ovsdb.OvsSet{GoSet: []any{}}}}}
	del, err := s.nb.Where(&pg).Delete()
	if err != nil {
		return err
	}
	if err := s.transact(ctx, append([]ovsdb.Operation{w}, del...)); err != nil {
		if err == errGuard {
			return newErr(ErrConflict, "SecurityGroupInUse", "Security Group %s in use.", id)
		}
		return err
	}
	return s.settleCache(ctx, func() bool { return !s.groupExists(ctx, id) })
}

// groupUsers returns the ports that name the group.
func (s *Store) groupUsers(id string) []string {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	var out []string
	for _, p := range s.view.ports {
		if slices.Contains(p.SecurityGroups, id) {
			out = append(out, p.ID)
		}
	}
	return out
}
