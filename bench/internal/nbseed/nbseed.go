// Package nbseed writes Neutron ports straight into NB, shaped as
// ovn-neutrond writes them (as another replica would), so that a benchmark
// reaches a large fill in seconds instead of hours of API calls.
package nbseed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Seeder adds ports to one network's switch.
type Seeder struct {
	nb       client.Client
	netID    string
	subnetID string
	bits     int
	lsUUID   string
	next     netip.Addr
	seeded   int
}

// Project owns the seeded ports, so that Remove finds them.
const Project = "bench"

// New connects to NB at endpoint for seeding ports of network netID on
// its subnet subnetID (cidr), from the address first on (pick one away
// from where the API allocates).
func New(ctx context.Context, endpoint, netID, subnetID string, cidr netip.Prefix, first netip.Addr) (*Seeder, error) {
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
	return &Seeder{nb: nb, netID: netID, subnetID: subnetID, bits: cidr.Bits(), lsUUID: lss[0].UUID, next: first}, nil
}

// Close closes the NB connection.
func (s *Seeder) Close() { s.nb.Close() }

// Seeded is how many ports this seeder added.
func (s *Seeder) Seeded() int { return s.seeded }

// FillTo adds ports until total are seeded, in transactions of 2,000.
func (s *Seeder) FillTo(ctx context.Context, total int) error {
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
					"neutron:project_id":      Project,
					"neutron:network_name":    "neutron-" + s.netID,
					"neutron:fixed_ips":       string(fixed),
					"neutron:mac_address":     mac,
					"neutron:cidrs":           fmt.Sprintf("%s/%d", ip, s.bits),
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
	return nil
}

// Remove deletes every seeded port of the network (any seeder's), in
// transactions of 2,000, and returns how many went.
func (s *Seeder) Remove(ctx context.Context) (int, error) {
	lsp := &nbdb.LogicalSwitchPort{}
	if _, err := s.nb.Monitor(ctx, s.nb.NewMonitor(client.WithTable(lsp, &lsp.ExternalIDs))); err != nil {
		return 0, err
	}
	var seeded []nbdb.LogicalSwitchPort
	if err := s.nb.WhereCache(func(p *nbdb.LogicalSwitchPort) bool {
		return p.ExternalIDs["neutron:project_id"] == Project && p.ExternalIDs["neutron:network_name"] == "neutron-"+s.netID
	}).List(ctx, &seeded); err != nil {
		return 0, err
	}
	// Ports are not a root table: out of the switch's ports, they go.
	removed := 0
	for len(seeded) > 0 {
		k := min(2000, len(seeded))
		uuids := make([]string, k)
		for i, p := range seeded[:k] {
			uuids[i] = p.UUID
		}
		ls := &nbdb.LogicalSwitch{UUID: s.lsUUID}
		ops, err := s.nb.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationDelete, Value: uuids})
		if err != nil {
			return 0, err
		}
		res, err := s.nb.Transact(ctx, ops...)
		if err != nil {
			return 0, err
		}
		if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
			return 0, fmt.Errorf("remove seeded ports: %w", err)
		}
		seeded = seeded[k:]
		removed += k
	}
	return removed, nil
}
