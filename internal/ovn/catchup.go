package ovn

import (
	"context"
	"errors"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Several ovn-neutrond processes may serve one NB behind a load
// balancer: a client can create a network through one and use it through
// another a millisecond later, before the second one's monitor delivered
// it. So before answering "not found", a process makes sure it is not
// merely behind: a read-only round trip to NB (ovsdb-server sends the
// monitor updates of earlier commits before that reply, and libovsdb
// applies them to its cache before returning it), then a look into the
// cache; when the row is there, wait until the view has it too.

// catchUp reports whether the object err says is missing exists in NB
// after all (and is now in the view), so the caller should look again.
func (s *Store) catchUp(ctx context.Context, err error) bool {
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e.Kind, ErrNotFound) || e.id == "" {
		return false
	}
	if s.barrier(ctx) != nil {
		return false
	}
	if !s.inCache(ctx, e.table, e.id) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	v := s.view
	return v.waitFor(ctx, func() bool {
		switch e.table {
		case nbdb.LogicalSwitchTable:
			return v.networks[e.id] != nil
		case nbdb.DHCPOptionsTable:
			return v.subnets[e.id] != nil
		case trunkTable:
			return v.trunks[e.id] != ""
		default:
			return v.ports[e.id] != nil
		}
	}) == nil
}

func (s *Store) inCache(ctx context.Context, table, id string) bool {
	switch table {
	case nbdb.LogicalSwitchTable:
		var rows []nbdb.LogicalSwitch
		err := s.nb.WhereCache(func(ls *nbdb.LogicalSwitch) bool { return ls.Name == lsPrefix+id }).List(ctx, &rows)
		return err == nil && len(rows) > 0
	case nbdb.DHCPOptionsTable:
		var rows []nbdb.DHCPOptions
		err := s.nb.WhereCache(func(d *nbdb.DHCPOptions) bool { return d.ExternalIDs[keySubnetID] == id }).List(ctx, &rows)
		return err == nil && len(rows) > 0
	case trunkTable:
		var rows []nbdb.LogicalSwitchPort
		err := s.nb.WhereCache(func(p *nbdb.LogicalSwitchPort) bool { return p.ExternalIDs[keyTrunkID] == id }).List(ctx, &rows)
		return err == nil && len(rows) > 0
	default:
		return s.nb.Get(ctx, &nbdb.LogicalSwitchPort{Name: id}) == nil
	}
}

// barrier is a read-only round trip to NB: when it returns, the cache
// holds every commit NB had made when it was sent (see above).
func (s *Store) barrier(ctx context.Context) error {
	op := ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable, Where: []ovsdb.Condition{}, Columns: []string{"_uuid"}}
	_, err := s.nb.Transact(ctx, op)
	return err
}

// syncWait bounds a list's wait for the view.
const syncWait = 2 * time.Second

// syncView makes a list include every object of its kind NB held when
// the list was asked for, as one Neutron database would, whichever
// process created it: after a barrier it waits until the view has each
// id the cache has (cached lists them, inView looks one up). Without it,
// an object created through another process a few milliseconds before
// was missing from the list. If NB does not answer, the list is the
// view's as it is.
func (s *Store) syncView(ctx context.Context, cached func(ctx context.Context) ([]string, error), inView func(v *view, id string) bool) {
	if s.barrier(ctx) != nil {
		return
	}
	ids, err := cached(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	v := s.view
	_ = v.waitFor(ctx, func() bool {
		for _, id := range ids {
			if !inView(v, id) {
				return false
			}
		}
		return true
	})
}

// syncPorts: syncView for the ports of networkID, or all.
func (s *Store) syncPorts(ctx context.Context, networkID string) {
	s.syncView(ctx, func(ctx context.Context) ([]string, error) {
		var rows []nbdb.LogicalSwitchPort
		err := s.nb.WhereCache(func(p *nbdb.LogicalSwitchPort) bool {
			return p.ExternalIDs[keyProjectID] != "" && (networkID == "" || p.ExternalIDs[keyNetworkName] == lsPrefix+networkID)
		}).List(ctx, &rows)
		return ids(rows, func(r nbdb.LogicalSwitchPort) (string, bool) { return r.Name, true }), err
	}, func(v *view, id string) bool { return v.ports[id] != nil })
}

// syncNetworks: syncView for networks.
func (s *Store) syncNetworks(ctx context.Context) {
	s.syncView(ctx, func(ctx context.Context) ([]string, error) {
		var rows []nbdb.LogicalSwitch
		err := s.nb.List(ctx, &rows)
		return ids(rows, func(r nbdb.LogicalSwitch) (string, bool) {
			n, ok := networkFromRow(&r)
			if !ok {
				return "", false
			}
			return n.ID, true
		}), err
	}, func(v *view, id string) bool { return v.networks[id] != nil })
}

// syncSubnets: syncView for subnets.
func (s *Store) syncSubnets(ctx context.Context) {
	s.syncView(ctx, func(ctx context.Context) ([]string, error) {
		var rows []nbdb.DHCPOptions
		err := s.nb.List(ctx, &rows)
		return ids(rows, func(r nbdb.DHCPOptions) (string, bool) {
			sn, ok := subnetFromRow(&r)
			if !ok {
				return "", false
			}
			return sn.ID, true
		}), err
	}, func(v *view, id string) bool { return v.subnets[id] != nil })
}

// syncTrunks: syncView for trunks.
func (s *Store) syncTrunks(ctx context.Context) {
	s.syncView(ctx, func(ctx context.Context) ([]string, error) {
		var rows []nbdb.LogicalSwitchPort
		err := s.nb.WhereCache(func(p *nbdb.LogicalSwitchPort) bool { return p.ExternalIDs[keyTrunkID] != "" }).List(ctx, &rows)
		return ids(rows, func(r nbdb.LogicalSwitchPort) (string, bool) {
			p, ok := portFromRow(&r)
			if !ok || p.Trunk == nil {
				return "", false
			}
			return p.Trunk.ID, true
		}), err
	}, func(v *view, id string) bool { return v.trunks[id] != "" })
}

// ids maps rows to the ids of those that are objects of their kind.
func ids[R any](rows []R, id func(R) (string, bool)) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if i, ok := id(r); ok {
			out = append(out, i)
		}
	}
	return out
}
