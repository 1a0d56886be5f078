package ovn

import (
	"context"
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

// ipProtocols are the protocol names Neutron takes, with their numbers
// (neutron_lib.constants.IP_PROTOCOL_MAP, the common ones).
var ipProtocols = map[string]int{
	"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "icmpv6": 58, "ipv6-icmp": 58,
	"igmp": 2, "ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-nonxt": 59, "ipv6-opts": 60,
	"ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}

// protoNumber returns the IP protocol number of a rule's protocol, -1
// for "any".
func protoNumber(p string) int {
	if p == "" || p == "any" {
		return -1
	}
	if n, err := strconv.Atoi(p); err == nil {
		return n
	}
	return ipProtocols[p]
}

// ValidateRule checks a rule as Neutron's securitygroups_db does, with
// its error types and messages, and normalises it (a mask added to a
// bare remote address, a full port range dropped).
func ValidateRule(r *SecurityGroupRule) error {
	if r.Direction != "ingress" && r.Direction != "egress" {
		// Neutron's API layer checks the attribute's values, before its
		// plugin sees the rule.
		return newErr(ErrInvalid, "HTTPBadRequest", "Invalid input for direction. Reason: %s is not in valid_values.", quoteOrNull(r.Direction))
	}
	if r.EtherType == "" {
		r.EtherType = "IPv4"
	}
	if r.EtherType != "IPv4" && r.EtherType != "IPv6" {
		return newErr(ErrInvalid, "SecurityGroupRuleInvalidEtherType", "Security group rule for ethertype '%s' not supported. Allowed values are ['IPv4', 'IPv6'].", r.EtherType)
	}
	if r.Protocol != "" && r.Protocol != "any" {
		n, err := strconv.Atoi(r.Protocol)
		_, named := ipProtocols[r.Protocol]
		if (err != nil && !named) || (err == nil && (n < 0 || n > 255)) {
			names := make([]string, 0, len(ipProtocols))
			for k := range ipProtocols {
				names = append(names, k)
			}
			slices.Sort(names)
			return newErr(ErrInvalid, "SecurityGroupRuleInvalidProtocol",
				"Security group rule protocol %s not supported. Only protocol values [None, %s] and integer representations [0 to 255] are supported.",
				r.Protocol, strings.Join(names, ", "))
		}
	}
	if r.RemoteIPPrefix != "" && r.RemoteGroupID != "" {
		return newErr(ErrInvalid, "SecurityGroupMultipleRemoteEntites", "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.")
	}
	if r.RemoteIPPrefix != "" {
		p, err := netip.ParsePrefix(r.RemoteIPPrefix)
		if err != nil {
			a, aerr := netip.ParseAddr(r.RemoteIPPrefix)
			if aerr != nil {
				return newErr(ErrInvalid, "InvalidCIDR", "Invalid CIDR %s given as IP prefix.", r.RemoteIPPrefix)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if (p.Addr().Is4() && r.EtherType != "IPv4") || (p.Addr().Is6() && r.EtherType != "IPv6") {
			return newErr(ErrInvalid, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype %s for CIDR %s", r.EtherType, r.RemoteIPPrefix)
		}
		r.RemoteIPPrefix = p.String()
	}
	proto := protoNumber(r.Protocol)
	if (proto == 1 && r.EtherType == "IPv6") || (proto == 58 && r.EtherType == "IPv4") {
		return newErr(ErrInvalid, "SecurityGroupEthertypeConflictWithProtocol", "Invalid ethertype %s for protocol %s.", r.EtherType, r.Protocol)
	}
	if r.PortMin == nil && r.PortMax == nil {
		return nil
	}
	switch {
	case r.Protocol == "" || r.Protocol == "any":
		return newErr(ErrInvalid, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol if port range is given.")
	case proto == 6 || proto == 17 || proto == 132 || proto == 33 || proto == 136:
		if (r.PortMin != nil && *r.PortMin == 0) || (r.PortMax != nil && *r.PortMax == 0) {
			return newErr(ErrInvalid, "SecurityGroupInvalidPortValue", "Invalid value for port 0")
		}
		for _, p := range []*int{r.PortMin, r.PortMax} {
			if p != nil && (*p < 0 || *p > 65535) {
				return newErr(ErrInvalid, "SecurityGroupInvalidPortValue", "Invalid value for port %d", *p)
			}
		}
		if r.PortMin == nil || r.PortMax == nil || *r.PortMin > *r.PortMax {
			return newErr(ErrInvalid, "SecurityGroupInvalidPortRange", "For TCP/UDP protocols, port_range_min must be <= port_range_max")
		}
		if *r.PortMin == 1 && *r.PortMax == 65535 {
			r.PortMin, r.PortMax = nil, nil // Neutron's canonical "all ports"
		}
	case proto == 1 || proto == 58:
		for _, f := range []struct {
			p           *int
			field, attr string
		}{{r.PortMin, "type", "port_range_min"}, {r.PortMax, "code", "port_range_max"}} {
			if f.p != nil && (*f.p < 0 || *f.p > 255) {
				return newErr(ErrInvalid, "SecurityGroupInvalidIcmpValue", "Invalid value for ICMP %s (%s) %d. It must be 0 to 255.", f.field, f.attr, *f.p)
			}
		}
		if r.PortMin == nil && r.PortMax != nil {
			return newErr(ErrInvalid, "SecurityGroupMissingIcmpType", "ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *r.PortMax)
		}
	default:
		return newErr(ErrInvalid, "SecurityGroupInvalidProtocolForPort",
			"Ports cannot be specified for protocol %d. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.", proto)
	}
	return nil
}

func quoteOrNull(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// ruleMatch is the ACL match ML2/OVN's acl.py builds for a rule.
func ruleMatch(r *SecurityGroupRule) string {
	pg := pgName(r.GroupID)
	var b strings.Builder
	if r.Direction == "ingress" {
		b.WriteString("outport == @" + pg)
	} else {
		b.WriteString("inport == @" + pg)
	}
	ipv, icmp := "ip4", "icmp4"
	if r.EtherType == "IPv6" {
		ipv, icmp = "ip6", "icmp6"
	}
	b.WriteString(" && " + ipv)
	srcDst := "dst"
	if r.Direction == "ingress" {
		srcDst = "src"
	}
	if cidr := r.NormalizedCIDR(); cidr != "" {
		fmt.Fprintf(&b, " && %s.%s == %s", ipv, srcDst, cidr)
	}
	if r.RemoteGroupID != "" {
		fmt.Fprintf(&b, " && %s.%s == $%s_%s", ipv, srcDst, pgName(r.RemoteGroupID), ipv)
	}
	proto := protoNumber(r.Protocol)
	switch proto {
	case -1:
	case 6, 17, 132:
		name := map[int]string{6: "tcp", 17: "udp", 132: "sctp"}[proto]
		b.WriteString(" && " + name)
		switch {
		case r.PortMin != nil && r.PortMax != nil && *r.PortMin == *r.PortMax:
			fmt.Fprintf(&b, " && %s.dst == %d", name, *r.PortMin)
		default:
			if r.PortMin != nil {
				fmt.Fprintf(&b, " && %s.dst >= %d", name, *r.PortMin)
			}
			if r.PortMax != nil {
				fmt.Fprintf(&b, " && %s.dst <= %d", name, *r.PortMax)
			}
		}
	case 1, 58:
		b.WriteString(" && " + icmp)
		if r.PortMin != nil {
			fmt.Fprintf(&b, " && %s.type == %d", icmp, *r.PortMin)
		}
		if r.PortMax != nil {
			fmt.Fprintf(&b, " && %s.code == %d", icmp, *r.PortMax)
		}
	default:
		fmt.Fprintf(&b, " && ip.proto == %d", proto)
	}
	return b.String()
}

// ruleACL is a rule's ACL row.
func ruleACL(g *SecurityGroup, r *SecurityGroupRule) *nbdb.ACL {
	action := nbdb.ACLActionAllowRelated
	if !g.Stateful {
		action = nbdb.ACLActionAllowStateless
	}
	dir := nbdb.ACLDirectionToLport
	if r.Direction == "egress" {
		dir = nbdb.ACLDirectionFromLport
	}
	return &nbdb.ACL{
		Action: action, Direction: dir, Priority: aclPriorityAllow, Match: ruleMatch(r),
		ExternalIDs: map[string]string{keyRuleID: r.ID, keyRule: jsonString(r)},
	}
}

// sameRule reports whether two rules are duplicates as Neutron's
// _rule_to_key sees them: ids and descriptions ignored, remote_ip_prefix
// compared as given (192.0.2.7/24 is no duplicate of 192.0.2.0/24),
// except that any address of either family is no prefix at all.
func sameRule(a, b *SecurityGroupRule) bool {
	eq := func(x, y *int) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	prefix := func(p string) string {
		if p == "0.0.0.0/0" || p == "::/0" {
			return ""
		}
		return p
	}
	return a.Direction == b.Direction && a.EtherType == b.EtherType && protoNumber(a.Protocol) == protoNumber(b.Protocol) &&
		eq(a.PortMin, b.PortMin) && eq(a.PortMax, b.PortMax) && prefix(a.RemoteIPPrefix) == prefix(b.RemoteIPPrefix) && a.RemoteGroupID == b.RemoteGroupID
}

func ruleNotFound(id string) *Error {
	return newErr(ErrNotFound, "SecurityGroupRuleNotFound", "Security group rule %s does not exist", id)
}

// ListSecurityGroupRules returns the rules of the groups the caller may
// see.
func (s *Store) ListSecurityGroupRules(ctx context.Context, sc Scope) ([]*SecurityGroupRule, error) {
	gs, err := s.ListSecurityGroups(ctx, sc)
	if err != nil {
		return nil, err
	}
	var out []*SecurityGroupRule
	for _, g := range gs {
		out = append(out, g.Rules...)
	}
	return out, nil
}

// GetSecurityGroupRule returns one rule of a group the caller may see.
func (s *Store) GetSecurityGroupRule(ctx context.Context, sc Scope, id string) (*SecurityGroupRule, error) {
	all, err := s.groups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range all {
		for _, r := range g.Rules {
			if r.ID == id && sc.owns(g.ProjectID) {
				return r, nil
			}
		}
	}
	return nil, ruleNotFound(id)
}

// CreateSecurityGroupRule adds a validated rule (see ValidateRule) to a
// group the caller owns.
func (s *Store) CreateSecurityGroupRule(ctx context.Context, sc Scope, r SecurityGroupRule) (*SecurityGroupRule, error) {
	if err := ValidateRule(&r); err != nil {
		return nil, err
	}
	var out *SecurityGroupRule
	err := s.retry(ctx, "create security group rule", func() error {
		all, err := s.groups(ctx)
		if err != nil {
			return err
		}
		g := all[r.GroupID]
		if g == nil || !sc.owns(g.ProjectID) {
			return sgNotFound(r.GroupID)
		}
		if r.RemoteGroupID != "" {
			if rg := all[r.RemoteGroupID]; rg == nil || !sc.owns(rg.ProjectID) {
				return sgNotFound(r.RemoteGroupID)
			}
		}
		for _, have := range g.Rules {
			if sameRule(have, &r) {
				return newErr(ErrConflict, "SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", have.ID)
			}
		}
		if err := checkRevision(ctx, g.Revision); err != nil {
			return err
		}
		nr := r
		nr.ID, nr.ProjectID, nr.CreatedAt = uuid.NewString(), g.ProjectID, time.Now().UTC().Truncate(time.Second)
		// The group's revision goes up with its rules (as in Neutron),
		// and its guard keeps two identical rules from being added at once.
		ops, err := s.guardPG(g)
		if err != nil {
			return err
		}
		ext := copyMap(g.ext)
		ext[keyRevision] = strconv.FormatInt(g.Revision+1, 10)
		ext[keyUpdatedAt] = fmtTime(time.Now())
		acl := ruleACL(g, &nr)
		acl.UUID = "acl"
		create, err := s.nb.Create(acl)
		if err != nil {
			return err
		}
		pg := &nbdb.PortGroup{UUID: g.uuid, ExternalIDs: ext}
		upd, err := s.nb.Where(pg).Update(pg, &pg.ExternalIDs)
		if err != nil {
			return err
		}
		mut, err := s.nb.Where(pg).Mutate(pg, mutation(&pg.ACLs, ovsdb.MutateOperationInsert, []string{acl.UUID}))
		if err != nil {
			return err
		}
		ops = append(append(append(ops, create...), upd...), mut...)
		if err := s.transact(ctx, ops); err != nil {
			return err
		}
		return s.settleCache(ctx, func() bool {
			got, err := s.GetSecurityGroupRule(ctx, Scope{Admin: true}, nr.ID)
			out = got
			return err == nil
		})
	})
	return out, err
}

// DeleteSecurityGroupRule removes a rule of a group the caller owns.
func (s *Store) DeleteSecurityGroupRule(ctx context.Context, sc Scope, id string) error {
	all, err := s.groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range all {
		for _, r := range g.Rules {
			if r.ID != id || !sc.owns(g.ProjectID) {
				continue
			}
			ext := copyMap(g.ext)
			ext[keyRevision] = strconv.FormatInt(g.Revision+1, 10)
			ext[keyUpdatedAt] = fmtTime(time.Now())
			pg := &nbdb.PortGroup{UUID: g.uuid, ExternalIDs: ext}
			upd, err := s.nb.Where(pg).Update(pg, &pg.ExternalIDs)
			if err != nil {
				return err
			}
			// Dropping the reference deletes the ACL (not a root table).
			mut, err := s.nb.Where(pg).Mutate(pg, mutation(&pg.ACLs, ovsdb.MutateOperationDelete, []string{r.uuid}))
			if err != nil {
				return err
			}
			if err := s.transact(ctx, append(upd, mut...)); err != nil {
				return err
			}
			return s.settleCache(ctx, func() bool {
				_, err := s.GetSecurityGroupRule(ctx, Scope{Admin: true}, id)
				return err != nil
			})
		}
	}
	return ruleNotFound(id)
}

// ensureDropGroup creates neutron_pg_drop with its two drop ACLs when NB
// has none (another replica may create it at the same time: NB's unique
// index keeps one).
func (s *Store) ensureDropGroup(ctx context.Context) error {
	if s.nb.Get(ctx, &nbdb.PortGroup{Name: pgDropName}) == nil {
		return nil
	}
	var ops []ovsdb.Operation
	pg := &nbdb.PortGroup{UUID: "pgdrop", Name: pgDropName}
	for i, d := range []struct {
		dir  nbdb.ACLDirection
		port string
	}{{nbdb.ACLDirectionFromLport, "inport"}, {nbdb.ACLDirectionToLport, "outport"}} {
		acl := &nbdb.ACL{UUID: fmt.Sprintf("drop%d", i), Action: nbdb.ACLActionDrop, Direction: d.dir, Priority: aclPriorityDrop,
			Match: d.port + " == @" + pgDropName + " && ip", ExternalIDs: map[string]string{}}
		more, err := s.nb.Create(acl)
		if err != nil {
			return err
		}
		ops = append(ops, more...)
		pg.ACLs = append(pg.ACLs, acl.UUID)
	}
	more, err := s.nb.Create(pg)
	if err != nil {
		return err
	}
	if err := s.transact(ctx, append(ops, more...)); err != nil && err != errGuard {
		return fmt.Errorf("create %s: %w", pgDropName, err)
	}
	return nil
}
