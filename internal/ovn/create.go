package ovn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Port creates are committed in batches per network (group commit):
// every create on a network must modify its Logical_Switch (the ports
// set and the IPAM generation), and ovsdb-server's cost of modifying that
// row grows with the number of ports on it. Concurrent creates that
// queue up while a transaction is in flight therefore share the next
// transaction, which keeps throughput up under concurrency and large
// switches. A lone create is a batch of one and pays no extra latency.

// maxBatch bounds the ports of one transaction.
const maxBatch = 64

type createReq struct {
	sc   Scope
	spec PortSpec
	id   string
	done chan error
}

// batcher queues the port creates of one network.
type batcher struct {
	mu      sync.Mutex
	queue   []*createReq
	running bool
}

// CreatePort allocates addresses and a MAC and writes a
// Logical_Switch_Port, in one guarded transaction (shared with the
// creates queued concurrently on the same network).
func (s *Store) CreatePort(ctx context.Context, sc Scope, spec PortSpec) (*Port, error) {
	id, err := s.createPort(ctx, sc, spec)
	if err != nil && s.catchUp(ctx, err) {
		id, err = s.createPort(ctx, sc, spec)
	}
	if err != nil {
		return nil, err
	}
	return s.committedPort(ctx, id)
}

// committedPort reads the port this store has just committed. The view may
// not hold it for a moment (it is rebuilt after a reconnection): that is
// waited for, never answered "not found", which would make a caller create
// the port a second time.
func (s *Store) committedPort(ctx context.Context, id string) (*Port, error) {
	p, err := s.getPort(Scope{Admin: true}, id)
	if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v := s.view
	if werr := v.waitFor(wctx, func() bool { return v.ports[id] != nil }); werr != nil {
		return nil, fmt.Errorf("%w: port %s was committed, but NB did not report it back: %v", ErrUnavailable, id, werr)
	}
	return s.getPort(Scope{Admin: true}, id)
}

// createPort queues the create and returns the committed port's id.
func (s *Store) createPort(ctx context.Context, sc Scope, spec PortSpec) (string, error) {
	if err := s.resolveGroups(ctx, sc, &spec); err != nil {
		return "", err
	}
	req := &createReq{sc: sc, spec: spec, id: uuid.NewString(), done: make(chan error, 1)}
	bi, _ := s.batchers.LoadOrStore(spec.NetworkID, &batcher{})
	b := bi.(*batcher)
	b.mu.Lock()
	b.queue = append(b.queue, req)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go s.runBatches(spec.NetworkID, b)
	}
	// The request's context is not passed to the batch: it may carry
	// other callers' ports. The batch is bounded by its own timeouts; a
	// caller that gives up earlier gets ErrUnavailable, and the port may
	// still be committed (as with any timed-out Neutron call).
	select {
	case err := <-req.done:
		if err != nil {
			return "", err
		}
	case <-ctx.Done():
		return "", fmt.Errorf("%w: create port: %v", ErrUnavailable, ctx.Err())
	}
	return req.id, nil
}

// runBatches commits queued creates until the queue is empty.
func (s *Store) runBatches(networkID string, b *batcher) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		unlock := s.lockNetwork(networkID)
		s.commitBatch(ctx, networkID, batch)
		unlock()
		cancel()
	}
}

// commitBatch validates, allocates and commits a batch, answering every
// request exactly once.
func (s *Store) commitBatch(ctx context.Context, networkID string, batch []*createReq) {
	pending := batch
	err := s.retry(ctx, "create port", func() error {
		var err error
		pending, err = s.tryBatch(ctx, networkID, pending)
		return err
	})
	for _, r := range pending {
		r.done <- err
	}
}

// planned is one port of a batch, ready to write.
type planned struct {
	req    *createReq
	port   *Port
	res    []reservation
	parent *Port
	// dhcpRows: the IP versions for which the port gets its own
	// DHCP_Options row
	dhcpRows map[int]bool
}

// tryBatch makes one attempt. Requests refused on their own merits are
// answered at once; the returned slice holds those still pending (all
// answered when the error is nil).
func (s *Store) tryBatch(ctx context.Context, networkID string, batch []*createReq) ([]*createReq, error) {
	v := s.view
	var plans []planned
	var pending []*createReq
	release := func() {
		for _, p := range plans {
			for _, r := range p.res {
				v.release(r.subnet.ID, r.addr)
			}
		}
	}

	v.mu.Lock()
	// Timed from here: the allocation itself, not the wait for the lock.
	start := time.Now()
	n := v.networks[networkID]
	if n != nil && !v.ready(n) {
		v.mu.Unlock()
		s.lagging(networkID, true)
		return batch, errLagging // retry once the view caught up
	}
	s.lagging(networkID, false)
	tags := map[string]map[int]bool{} // parent → tags taken within this batch
	macs := map[string]bool{}
	for _, r := range batch {
		p, err := s.plan(r, tags, macs)
		if err != nil {
			r.done <- err
			continue
		}
		plans = append(plans, p)
		pending = append(pending, r)
	}
	v.mu.Unlock()
	if len(plans) == 0 {
		return nil, nil
	}
	per := since(start) / float64(len(batch))
	for range plans {
		s.m.allocate.Observe(per)
	}

	ops, lsExt, err := s.bumpIPAM(n)
	if err != nil {
		release()
		return pending, err
	}
	parentExt := map[string]map[string]string{}
	subnetsSeen := map[string]bool{}
	var names []string
	members := map[string][]string{} // security group → new ports
	var drop []string
	for i, p := range plans {
		if p.parent != nil && parentExt[p.parent.ID] == nil {
			more, ext, err := s.bumpChildren(p.parent)
			if err != nil {
				release()
				return pending, err
			}
			ops, parentExt[p.parent.ID] = append(ops, more...), ext
		}
		// A subnet deleted meanwhile must not get this port's address:
		// require its DHCP_Options row to still exist.
		for _, r := range p.res {
			if subnetsSeen[r.subnet.ID] {
				continue
			}
			subnetsSeen[r.subnet.ID] = true
			d := &nbdb.DHCPOptions{UUID: r.subnet.uuid}
			w, err := s.nb.Where(d).Wait(ovsdb.WaitConditionEqual, &timeout0, d, &d.UUID)
			if err != nil {
				release()
				return pending, err
			}
			ops = append(ops, w...)
		}
		now := fmtTime(time.Now())
		lsp := s.lspRow(p.port, p.res, now, now)
		lsp.UUID = fmt.Sprintf("lsp%d", i)
		lsp.ExternalIDs[keyIPAMGeneration] = lsExt[keyIPAMGeneration]
		lsp.ExternalIDs[keyIPAMBatch] = strconv.Itoa(len(plans))
		dhcpOps, dhcpRows, err := s.portDHCPOps(p.port, lsp, p.res, nil, fmt.Sprintf("pdhcp%d", i))
		if err != nil {
			release()
			return pending, err
		}
		ops = append(ops, dhcpOps...)
		plans[i].dhcpRows = dhcpRows
		create, err := s.nb.Create(lsp)
		if err != nil {
			release()
			return pending, err
		}
		ops = append(ops, create...)
		names = append(names, lsp.UUID)
		for _, g := range p.port.SecurityGroups {
			members[g] = append(members[g], lsp.UUID)
		}
		if dropped(p.port) {
			drop = append(drop, lsp.UUID)
		}
	}
	var dc dnsChange
	for _, p := range plans {
		dc.change(nil, portDNSRecords(p.port, s.cfg.DNSDomain))
	}
	v.mu.RLock()
	haveDNS := v.dns[n.ID]
	v.mu.RUnlock()
	dnsOps, dnsCreated, err := s.dnsOps(n, haveDNS, dc, "dns")
	if err != nil {
		release()
		return pending, err
	}
	ops = append(ops, dnsOps...)
	join, err := s.membershipOps(ovsdb.MutateOperationInsert, members, drop)
	if err != nil {
		release()
		return pending, err
	}
	ops = append(ops, join...)
	ls := &nbdb.LogicalSwitch{UUID: n.uuid}
	attach, err := s.nb.Where(ls).Mutate(ls, mutation(&ls.Ports, ovsdb.MutateOperationInsert, names))
	if err != nil {
		release()
		return pending, err
	}
	if err := s.transact(ctx, append(ops, attach...)); err != nil {
		if !errors.Is(err, errOutcomeUnknown) {
			release()
			return pending, err
		}
		// The connection failed mid-transaction (a cluster leader's
		// failover): answer by what NB holds, so that a create is never
		// reported failed while its port exists, nor lost.
		committed, cerr := s.lspCommitted(ctx, plans[0].port.ID)
		if cerr != nil || !committed {
			release()
			if cerr != nil {
				return pending, errors.Join(err, cerr)
			}
			return pending, fmt.Errorf("%w: %w", errNotCommitted, err)
		}
		s.log.Info("a create whose connection failed was committed", "ports", len(plans), "network", networkID)
	}
	err = s.settle(ctx, func() bool {
		if !v.networkHas(n.ID, lsExt) || !v.dnsHas(n.ID, dnsCreated) {
			return false
		}
		for _, p := range plans {
			if v.ports[p.port.ID] == nil || !v.portDHCPHas(p.port.ID, p.dhcpRows) {
				return false
			}
		}
		for id, ext := range parentExt {
			if !v.portHas(id, ext) {
				return false
			}
		}
		return true
	})
	for _, r := range pending {
		r.done <- err
	}
	return nil, nil
}

// plan checks one request and reserves its addresses and MAC. tags and
// macs hold what earlier requests of the batch took. Caller holds the
// view's write lock; on error nothing stays reserved.
func (s *Store) plan(r *createReq, tags map[string]map[int]bool, macs map[string]bool) (planned, error) {
	v := s.view
	spec := r.spec
	n, err := v.usableNetwork(r.sc, spec.NetworkID)
	if err != nil {
		return planned{}, err
	}
	parent, err := v.parentFor(r.sc, spec.Profile, "")
	if err != nil {
		return planned{}, err
	}
	if parent != nil {
		if tags[parent.ID][spec.Profile.Tag] {
			return planned{}, newErr(ErrConflict, "VlanTagInUse",
				"VLAN tag %d is already used by another port on parent port %s.", spec.Profile.Tag, parent.ID)
		}
		if tags[parent.ID] == nil {
			tags[parent.ID] = map[int]bool{}
		}
		tags[parent.ID][spec.Profile.Tag] = true
	}
	mac, err := s.pickMAC(n.ID, spec.MAC)
	for err == nil && macs[mac] {
		if spec.MAC != "" {
			return planned{}, newErr(ErrConflict, "MacAddressInUse",
				"Unable to complete operation for network %s. The mac address %s is in use.", n.ID, mac)
		}
		mac, err = s.pickMAC(n.ID, "")
	}
	if err != nil {
		return planned{}, err
	}
	res, err := v.allocate(n, spec.FixedIPs, deref(spec.DeviceOwner, ""))
	if err != nil {
		return planned{}, err
	}
	macs[mac] = true
	p := &Port{
		ID: r.id, NetworkID: n.ID, ProjectID: spec.ProjectID, MAC: mac,
		Name: deref(spec.Name, ""), Description: deref(spec.Description, ""),
		DeviceID: deref(spec.DeviceID, ""), DNSName: deref(spec.DNSName, ""), DeviceOwner: deref(spec.DeviceOwner, ""), HostID: deref(spec.HostID, ""),
		AdminStateUp: deref(spec.AdminStateUp, true), PortSecurity: deref(spec.PortSecurity, n.PortSecurity),
		Tags:     spec.Tags,
		Revision: 1,
	}
	if spec.AllowedAddressPairs != nil {
		p.AllowedAddressPairs = resolvePairs(*spec.AllowedAddressPairs, mac)
	}
	if spec.ExtraDHCPOpts != nil {
		p.ExtraDHCPOpts = mergeDHCPOpts(nil, *spec.ExtraDHCPOpts)
	}
	if err := checkPairs(p); err != nil {
		for _, r := range res {
			v.ipam[r.subnet.ID].alloc.Release(r.addr)
		}
		return planned{}, err
	}
	for _, rs := range res {
		p.FixedIPs = append(p.FixedIPs, FixedIP{SubnetID: rs.subnet.ID, IPAddress: rs.addr})
	}
	if spec.Profile != nil {
		p.Profile, p.ParentName, p.Tag = spec.Profile.Raw, spec.Profile.ParentName, spec.Profile.Tag
	}
	if spec.SecurityGroups != nil {
		p.SecurityGroups = *spec.SecurityGroups
	}
	return planned{req: r, port: p, res: res, parent: parent}, nil
}

// lagging tracks how long a network's view has not been ready; past a
// short while (events for a generation were lost, see noteCarrier) it
// asks for the view to be rebuilt from the cache.
func (s *Store) lagging(networkID string, lag bool) {
	if !lag {
		s.lagSince.Delete(networkID)
		return
	}
	t, _ := s.lagSince.LoadOrStore(networkID, time.Now())
	if time.Since(t.(time.Time)) > 500*time.Millisecond {
		s.lagSince.Delete(networkID)
		s.resyncWanted.Store(true)
	}
}
