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

// syncWait bounds syncPorts' wait for the view.
const syncWait = 2 * time.Second

// syncPorts makes a list of ports include every port NB held when the
// list was asked for, as one Neutron database would, whichever process
// created it: after a barrier it waits until the view has each port the
// cache has (of networkID, or all). Without it, a port created through
// another process a few milliseconds before was missing from the list.
// If NB does not answer, the list is the view's as it is.
func (s *Store) syncPorts(ctx context.Context, networkID string) {
	if s.barrier(ctx) != nil {
		return
	}
	var rows []nbdb.LogicalSwitchPort
	err := s.nb.WhereCache(func(p *nbdb.LogicalSwitchPort) bool {
		return p.ExternalIDs[keyProjectID] != "" && (networkID == "" || p.ExternalIDs[keyNetworkName] == lsPrefix+networkID)
	}).List(ctx, &rows)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncWait)
	defer cancel()
	v := s.view
	_ = v.waitFor(ctx, func() bool {
		for _, r := range rows {
			if v.ports[r.Name] == nil {
				return false
			}
		}
		return true
	})
}
