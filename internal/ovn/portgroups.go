package ovn

import (
	"context"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// trustedOwner reports whether a port belongs to the network itself
// (router interfaces and gateways, floating IPs, DHCP): Neutron gives
// such ports no security group.
func trustedOwner(deviceOwner string) bool { return strings.HasPrefix(deviceOwner, "network:") }

// resolveGroups settles the security groups of a port being created:
// the given ones, which must exist and be the caller's, or the project's
// default group (created on first use) when the port has port security
// and none were given.
func (s *Store) resolveGroups(ctx context.Context, sc Scope, spec *PortSpec) error {
	s.view.mu.RLock()
	n := s.view.networks[spec.NetworkID]
	s.view.mu.RUnlock()
	if n == nil {
		return nil // plan answers NetworkNotFound
	}
	secure := deref(spec.PortSecurity, n.PortSecurity)
	if spec.SecurityGroups == nil {
		if !secure || trustedOwner(deref(spec.DeviceOwner, "")) {
			return nil
		}
		id, err := s.EnsureDefaultGroup(ctx, spec.ProjectID)
		if err != nil {
			return err
		}
		spec.SecurityGroups = &[]string{id}
		return nil
	}
	return s.checkGroups(ctx, sc, *spec.SecurityGroups, secure)
}

// checkGroups checks the groups a port is to have.
func (s *Store) checkGroups(ctx context.Context, sc Scope, ids []string, secure bool) error {
	if len(ids) == 0 {
		return nil
	}
	if !secure {
		return newErr(ErrInvalid, "PortSecurityAndIPRequiredForSecurityGroups",
			"Port security must be enabled and port must have an IP address in order to use security groups.")
	}
	for _, id := range ids {
		if _, err := s.GetSecurityGroup(ctx, sc, id); err != nil {
			return err
		}
	}
	return nil
}

// dropped reports whether a port belongs in neutron_pg_drop: it has
// port security and is no port of the network itself (as ML2/OVN).
func dropped(p *Port) bool { return p.PortSecurity && !trustedOwner(p.DeviceOwner) }

// groupChangeOps moves port p (row uuid) from its groups and drop
// membership to those of np.
func (s *Store) groupChangeOps(p, np *Port) ([]ovsdb.Operation, error) {
	del, add := map[string][]string{}, map[string][]string{}
	for _, g := range p.SecurityGroups {
		if !slices.Contains(np.SecurityGroups, g) {
			del[g] = []string{p.uuid}
		}
	}
	for _, g := range np.SecurityGroups {
		if !slices.Contains(p.SecurityGroups, g) {
			add[g] = []string{p.uuid}
		}
	}
	var dropDel, dropAdd []string
	switch was, is := dropped(p), dropped(np); {
	case was && !is:
		dropDel = []string{p.uuid}
	case !was && is:
		dropAdd = []string{p.uuid}
	}
	ops, err := s.membershipOps(ovsdb.MutateOperationDelete, del, dropDel)
	if err != nil {
		return nil, err
	}
	more, err := s.membershipOps(ovsdb.MutateOperationInsert, add, dropAdd)
	return append(ops, more...), err
}

// membershipOps adds (insert) or removes (delete) ports, named by row
// UUIDs or named UUIDs, to or from their groups' Port_Groups, and to or
// from neutron_pg_drop.
func (s *Store) membershipOps(op ovsdb.Mutator, groups map[string][]string, drop []string) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	names := make([]string, 0, len(groups)+1)
	for id := range groups {
		names = append(names, id)
	}
	slices.Sort(names)
	add := func(name string, ports []string) error {
		if len(ports) == 0 {
			return nil
		}
		pg := &nbdb.PortGroup{Name: name}
		m, err := s.nb.Where(pg).Mutate(pg, mutation(&pg.Ports, op, ports))
		if err != nil {
			return err
		}
		ops = append(ops, m...)
		return nil
	}
	for _, id := range names {
		if err := add(pgName(id), groups[id]); err != nil {
			return nil, err
		}
	}
	if err := add(pgDropName, drop); err != nil {
		return nil, err
	}
	return ops, nil
}
