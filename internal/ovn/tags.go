package ovn

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Resource names a kind of resource that carries standard attributes
// (tags, revision_number), as its collection is named in the API.
type Resource string

// The resources with tags.
const (
	Networks Resource = "networks"
	Subnets  Resource = "subnets"
	Ports    Resource = "ports"
)

// tagged is what a tag change needs of a record.
type tagged struct {
	table    string
	uuid     string
	ext      map[string]string
	tags     []string
	revision int64
	project  string
	network  string // for the per-network write lock
}

// taggedRecord finds a resource the caller owns. Caller holds the view's
// read lock.
func (v *view) taggedRecord(sc Scope, kind Resource, id string) (*tagged, error) {
	switch kind {
	case Networks:
		n, err := v.ownedNetwork(sc, id)
		if err != nil {
			return nil, err
		}
		return &tagged{nbdb.LogicalSwitchTable, n.uuid, n.ext, n.Tags, n.Revision, n.ProjectID, n.ID}, nil
	case Subnets:
		sn := v.subnets[id]
		if sn == nil || !sc.owns(sn.ProjectID) {
			return nil, subnetNotFound(id)
		}
		return &tagged{nbdb.DHCPOptionsTable, sn.uuid, sn.ext, sn.Tags, sn.Revision, sn.ProjectID, sn.NetworkID}, nil
	case Ports:
		p, err := v.visiblePort(sc, id)
		if err != nil {
			return nil, err
		}
		return &tagged{nbdb.LogicalSwitchPortTable, p.uuid, p.ext, p.Tags, p.Revision, p.ProjectID, p.NetworkID}, nil
	}
	return nil, newErr(ErrNotFound, "HTTPNotFound", "Resource %s has no tags.", kind)
}

// revisionOf returns the revision of a resource in the view (-1: gone).
// Caller holds the view's read lock.
func (v *view) revisionOf(kind Resource, id string) int64 {
	switch kind {
	case Networks:
		if n := v.networks[id]; n != nil {
			return n.Revision
		}
	case Subnets:
		if sn := v.subnets[id]; sn != nil {
			return sn.Revision
		}
	case Ports:
		if p := v.ports[id]; p != nil {
			return p.Revision
		}
	}
	return -1
}

// Tags returns the tags of a resource the caller owns.
func (s *Store) Tags(ctx context.Context, sc Scope, kind Resource, id string) ([]string, error) {
	get := func() ([]string, error) {
		s.view.mu.RLock()
		defer s.view.mu.RUnlock()
		r, err := s.view.taggedRecord(sc, kind, id)
		if err != nil {
			return nil, err
		}
		return r.tags, nil
	}
	tags, err := get()
	if err != nil && s.catchUp(ctx, err) {
		tags, err = get()
	}
	return tags, err
}

// UpdateTags replaces the tags of a resource the caller owns with what
// change makes of them. A change bumps revision_number, as in Neutron;
// no change writes nothing.
func (s *Store) UpdateTags(ctx context.Context, sc Scope, kind Resource, id string, change func([]string) ([]string, error)) ([]string, error) {
	if _, err := s.Tags(ctx, sc, kind, id); err != nil {
		return nil, err
	}
	var out []string
	err := s.retry(ctx, "update tags of "+string(kind)+" "+id, func() error {
		s.view.mu.RLock()
		r, err := s.view.taggedRecord(sc, kind, id)
		s.view.mu.RUnlock()
		if err != nil {
			return err
		}
		next, err := change(slices.Clone(r.tags))
		if err != nil {
			return err
		}
		if slices.Equal(sorted(next), sorted(r.tags)) {
			out = r.tags
			return nil
		}
		ext := copyMap(r.ext)
		ext[keyTags] = jsonString(next)
		rev := r.revision + 1
		ext[keyRevision] = strconv.FormatInt(rev, 10)
		ext[keyUpdatedAt] = fmtTime(time.Now())
		ops, err := s.guard(r.table, r.uuid, r.ext)
		if err != nil {
			return err
		}
		var m model.Model
		var field any
		switch r.table {
		case nbdb.LogicalSwitchTable:
			row := &nbdb.LogicalSwitch{UUID: r.uuid, ExternalIDs: ext}
			m, field = row, &row.ExternalIDs
		case nbdb.DHCPOptionsTable:
			row := &nbdb.DHCPOptions{UUID: r.uuid, ExternalIDs: ext}
			m, field = row, &row.ExternalIDs
		default:
			row := &nbdb.LogicalSwitchPort{UUID: r.uuid, ExternalIDs: ext}
			m, field = row, &row.ExternalIDs
		}
		upd, err := s.nb.Where(m).Update(m, field)
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, upd...)); err != nil {
			return err
		}
		out = next
		return s.settle(ctx, func() bool { return s.view.revisionOf(kind, id) >= rev })
	})
	return out, err
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
