package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// seeder writes ports straight into NB, shaped as ovn-neutrond writes
// them (as another replica would), to reach a large fill quickly.
type seeder struct {
	nb       client.Client
	store    *ovn.Store
	netID    string
	subnetID string
	lsUUID   string
	next     netip.Addr
	seeded   int
}

func newSeeder(ctx context.Context, endpoint string, store *ovn.Store, netID, subnetID string) (*seeder, error) {
	dbModel, err := nbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	nb, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(endpoint))
	if err != nil {
		return nil, err
	}
	if err := nb.Connect(ctx); err != nil {
		return nil, err
	}
	ls := &nbdb.LogicalSwitch{}
	if _, err := nb.Monitor(ctx, nb.NewMonitor(client.WithTable(ls, &ls.Name))); err != nil {
		return nil, err
	}
	var lss []nbdb.LogicalSwitch
	if err := nb.WhereCache(func(l *nbdb.LogicalSwitch) bool { return l.Name == "neutron-"+netID }).List(ctx, &lss); err != nil || len(lss) != 1 {
		return nil, fmt.Errorf("find switch of %s: %v (%d found)", netID, err, len(lss))
	}
	// Seeds start high in the subnet, away from where the API allocates.
	return &seeder{nb: nb, store: store, netID: netID, subnetID: subnetID, lsUUID: lss[0].UUID,
		next: netip.MustParseAddr("10.65.0.0")}, nil
}

func (s *seeder) close() { s.nb.Close() }

// fillTo adds seeded ports until `total` are seeded, then waits until the
// server's view holds them.
func (s *seeder) fillTo(ctx context.Context, total int) error {
	const batch = 2000
	for s.seeded < total {
		k := min(batch, total-s.seeded)
		var ops []ovsdb.Operation
		var names []string
		for i := 0; i < k; i++ {
			ip := s.next
			s.next = s.next.Next()
			mac := fmt.Sprintf("fa:16:3f:%02x:%02x:%02x", byte(s.seeded>>16), byte(s.seeded>>8), byte(s.seeded))
			fixed, _ := json.Marshal([]map[string]string{{"subnet_id": s.subnetID, "ip_address": ip.String()}})
			name := fmt.Sprintf("seed%d", s.seeded)
			enabled := true
			lsp := &nbdb.LogicalSwitchPort{
				UUID:      name,
				Name:      uuid.NewString(),
				Addresses: []string{mac + " " + ip.String()},
				Enabled:   &enabled,
				ExternalIDs: map[string]string{
					"neutron:project_id":      "bench",
					"neutron:network_name":    "neutron-" + s.netID,
					"neutron:fixed_ips":       string(fixed),
					"neutron:mac_address":     mac,
					"neutron:cidrs":           ip.String() + "/14",
					"neutron:revision_number": "1",
					"neutron:ipam_generation": "0",
				},
			}
			op, err := s.nb.Create(lsp)
			if err != nil {
				return err
			}
			ops = append(ops, op...)
			names = append(names, name)
			s.seeded++
		}
		ls := &nbdb.LogicalSwitch{UUID: s.lsUUID}
		op, err := s.nb.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationInsert, Value: names})
		if err != nil {
			return err
		}
		res, err := s.nb.Transact(ctx, append(ops, op...)...)
		if err != nil {
			return err
		}
		if _, err := ovsdb.CheckOperationResults(res, append(ops, op...)); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for len(s.store.ListPorts(ovn.Scope{Admin: true}, s.netID)) < s.seeded {
		if time.Now().After(deadline) {
			return fmt.Errorf("server view did not reach %d ports", s.seeded)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
