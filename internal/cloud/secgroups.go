package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
)

// SecurityGroup is a Neutron security group as the plugin needs it.
type SecurityGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ResolveSecurityGroups turns security groups given by name or id into
// the ids of the caller's project's groups: sorted, without duplicates
// (the form ports are told apart by in the pool). One request, whatever
// the number given. A value naming no group of the project, or a name
// that several groups have, is an error naming it; nil in, nil out.
func (c *Client) ResolveSecurityGroups(ctx context.Context, namesOrIDs []string) ([]string, error) {
	if len(namesOrIDs) == 0 {
		return nil, nil
	}
	// The project's own groups only: an admin sees every project's, and
	// a port may only be put in groups of its own project.
	pages, err := groups.List(c.net, groups.ListOpts{ProjectID: c.project}).AllPages(ctx)
	if err != nil {
		return nil, c.apiError("listing security groups", err)
	}
	gs, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, fmt.Errorf("listing security groups: %w", err)
	}
	all := make([]SecurityGroup, 0, len(gs))
	for _, g := range gs {
		all = append(all, SecurityGroup{ID: g.ID, Name: g.Name})
	}
	return MatchSecurityGroups(all, namesOrIDs)
}

// MatchSecurityGroups resolves namesOrIDs against a project's groups (see
// ResolveSecurityGroups): an id matches before a name.
func MatchSecurityGroups(all []SecurityGroup, namesOrIDs []string) ([]string, error) {
	var out []string
	for _, v := range namesOrIDs {
		if v == "" {
			return nil, fmt.Errorf("security group \"\": %w: give a name or id (see `openstack security group list`)", ErrNotFound)
		}
		i := slices.IndexFunc(all, func(g SecurityGroup) bool { return strings.EqualFold(g.ID, v) })
		if i >= 0 {
			out = append(out, all[i].ID)
			continue
		}
		var ids []string
		for _, g := range all {
			if g.Name == v {
				ids = append(ids, g.ID)
			}
		}
		switch len(ids) {
		case 0:
			names := make([]string, 0, len(all))
			for _, g := range all {
				names = append(names, g.Name)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("security group %q: %w: your project has no group of that name or id (it has: %s; see `openstack security group list`)",
				v, ErrNotFound, strings.Join(slices.Compact(names), ", "))
		case 1:
			out = append(out, ids[0])
		default:
			return nil, fmt.Errorf("security group %q: %w: %d groups of your project have that name (%s): use the id", v, ErrAmbiguous, len(ids), strings.Join(ids, ", "))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
