package ovn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Config configures a Store.
type Config struct {
	// Endpoints are OVSDB connection strings ("unix:/path", "tcp:IP:PORT");
	// several name the members of a clustered NB.
	Endpoints []string
	Logger    *slog.Logger
	// MACBase is the OUI prefix of generated MACs (default "fa:16:3e").
	MACBase string
	// DefaultMTU of new networks (default 1442: a 1500-byte underlay minus
	// Geneve's 58 bytes).
	DefaultMTU int
	// PhysnetMTU is the MTU of flat and VLAN networks (default 1500, as
	// Neutron's global_physnet_mtu).
	PhysnetMTU int
	// FlatNetworks and VLANNetworks are the physical networks flat and
	// VLAN provider networks may use (nil: any name).
	FlatNetworks []string
	VLANNetworks []string
	// VNIMin and VNIMax bound the geneve VNIs given to networks created
	// without provider:segmentation_id (default 1 to 65536, as ML2/OVN's
	// usual vni_ranges).
	VNIMin, VNIMax int
	// GatewayChassis are the chassis (by name, highest priority first)
	// that routers' gateway ports get as Gateway_Chassis.
	GatewayChassis []string
	// ConnectTimeout bounds the first connection (default 10s).
	ConnectTimeout time.Duration
	// Metrics, when set, receives the store's Prometheus metrics.
	Metrics prometheus.Registerer
	// DNSDomain is Neutron's dns_domain (default "openstacklocal.", with
	// which ports' dns_name is ignored, as in Neutron).
	DNSDomain string
	// Retries bounds how often a transaction whose guard failed is retried
	// (default 100: with the backoff capped at 100 ms that is a few
	// seconds, which a replica whose batches keep losing to a busier one
	// needs; 20 gave 3% of 503s under the race detector).
	Retries int
}

// Store reads Neutron resources from the view and writes them to NB.
type Store struct {
	cfg  Config
	log  *slog.Logger
	nb   client.Client
	view *view
	// revoked holds the Keystone tokens revoked in NB.
	revoked *revocations
	macs    *ipam.MACGenerator
	m       *metrics
	locks   sync.Map // network id → *sync.Mutex
	// segmentMu serialises network creates, which pick segments.
	segmentMu sync.Mutex
	// batchers: network id → *batcher (port creates, see create.go)
	batchers sync.Map
	lagSince sync.Map // network id → time.Time the view started lagging
	stop     chan struct{}
	// resyncWanted is set when the cache was evidently refilled (an add
	// event for a row the view already has).
	resyncWanted atomic.Bool
	// lastResync (unix nanos): add events for known rows shortly after a
	// resync are just queued events the resync already covered.
	lastResync atomic.Int64
	wg         sync.WaitGroup
	closed     sync.Once
}

// Open connects to NB, loads the current state and keeps it current. It
// fails with ErrUnavailable when no endpoint answers within
// cfg.ConnectTimeout.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no NB endpoint given", ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MACBase == "" {
		cfg.MACBase = "fa:16:3e"
	}
	if cfg.DefaultMTU == 0 {
		cfg.DefaultMTU = 1442
	}
	if cfg.PhysnetMTU == 0 {
		cfg.PhysnetMTU = 1500
	}
	if cfg.VNIMin == 0 && cfg.VNIMax == 0 {
		cfg.VNIMin, cfg.VNIMax = 1, 65536
	}
	if cfg.VNIMin < 1 || cfg.VNIMax > maxGeneveVNI || cfg.VNIMin > cfg.VNIMax {
		return nil, fmt.Errorf("%w: VNI range %d:%d (want 1 <= min <= max <= %d)", ErrInvalid, cfg.VNIMin, cfg.VNIMax, maxGeneveVNI)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.DNSDomain == "" {
		cfg.DNSDomain = DefaultDNSDomain
	}
	cfg.DNSDomain = NormalizeDNSDomain(cfg.DNSDomain)
	if cfg.Retries == 0 {
		cfg.Retries = 100
	}
	macs, err := ipam.NewMACGenerator(cfg.MACBase)
	if err != nil {
		return nil, fmt.Errorf("MAC base %q (want three octets like fa:16:3e): %w", cfg.MACBase, err)
	}
	dbModel, err := nbdb.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("NB model: %w", err)
	}
	lr := logr.FromSlogHandler(cfg.Logger.With("component", "libovsdb").Handler())
	// Retry forever: NB going away is an outage to ride out, not a reason
	// to exit.
	// Short, randomized intervals: after an NB restart or failover every
	// replica is back within about a second, and replicas do not all
	// reconnect (and refill their caches) at the same instant.
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 50 * time.Millisecond
	bo.RandomizationFactor = 0.5
	bo.MaxInterval = time.Second
	bo.MaxElapsedTime = 0
	opts := []client.Option{client.WithReconnect(cfg.ConnectTimeout, bo), client.WithLogger(&lr)}
	for _, ep := range cfg.Endpoints {
		opts = append(opts, client.WithEndpoint(ep))
	}
	if len(cfg.Endpoints) > 1 {
		// A RAFT cluster: talk to the leader, which sees every commit
		// first, and follow it when leadership moves.
		opts = append(opts, client.WithLeaderOnly(true))
	}
	nb, err := client.NewOVSDBClient(dbModel, opts...)
	if err != nil {
		return nil, fmt.Errorf("NB client for %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	s := &Store{cfg: cfg, log: cfg.Logger, nb: nb, view: newView(), revoked: newRevocations(), macs: macs, stop: make(chan struct{}),
		m: newMetrics(cfg.Metrics)}

	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	if err := nb.Connect(cctx); err != nil {
		nb.Close()
		return nil, fmt.Errorf("%w: cannot connect to %s within %s (is ovsdb-server for OVN_Northbound running and listening there?): %v",
			ErrUnavailable, strings.Join(cfg.Endpoints, ","), cfg.ConnectTimeout, err)
	}
	// The cache exists once connected; with WithReconnect it survives
	// reconnects, so the handler is registered once.
	nb.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(table string, m model.Model) { s.onAdd(table, m) },
		UpdateFunc: func(table string, _, m model.Model) { s.onEvent(table, nil, m) },
		DeleteFunc: func(table string, m model.Model) { s.onEvent(table, m, nil) },
	})
	ls := &nbdb.LogicalSwitch{}
	lsp := &nbdb.LogicalSwitchPort{}
	global := &nbdb.NBGlobal{}
	pg := &nbdb.PortGroup{}
	// Logical_Switch.ports is not monitored: with many ports, every port
	// create would otherwise copy the whole set into the cache.
	mon := nb.NewMonitor(
		client.WithTable(ls, &ls.Name, &ls.ExternalIDs),
		client.WithTable(lsp, &lsp.Name, &lsp.ExternalIDs, &lsp.Enabled, &lsp.Up, &lsp.ParentName, &lsp.TagRequest),
		client.WithTable(&nbdb.DHCPOptions{}),
		client.WithTable(&nbdb.DNS{}),
		client.WithTable(global, &global.ExternalIDs),
		client.WithTable(&nbdb.AddressSet{}), // subnet pools and address scopes
		// security groups; Port_Group.ports (the members) is not
		// monitored, for the same reason as Logical_Switch.ports
		client.WithTable(pg, &pg.Name, &pg.ExternalIDs, &pg.ACLs),
		client.WithTable(&nbdb.ACL{}),
		// routers
		client.WithTable(&nbdb.LogicalRouter{}),
		client.WithTable(&nbdb.LogicalRouterPort{}),
		client.WithTable(&nbdb.LogicalRouterStaticRoute{}),
		client.WithTable(&nbdb.NAT{}),
	)
	if _, err := nb.Monitor(cctx, mon); err != nil {
		nb.Close()
		return nil, fmt.Errorf("%w: monitor NB at %s: %v", ErrUnavailable, nb.CurrentEndpoint(), err)
	}
	if err := s.resync(cctx); err != nil {
		nb.Close()
		return nil, err
	}
	if err := s.ensureDropGroup(cctx); err != nil {
		nb.Close()
		return nil, err
	}
	s.log.Info("connected to NB", "endpoint", nb.CurrentEndpoint(),
		"networks", len(s.view.networks), "subnets", len(s.view.subnets), "ports", len(s.view.ports))
	s.wg.Add(1)
	go s.watchConnection()
	return s, nil
}

// Close disconnects from NB.
func (s *Store) Close() {
	s.closed.Do(func() {
		close(s.stop)
		s.wg.Wait()
		s.nb.Close()
	})
}

// Connected reports whether NB is currently reachable.
func (s *Store) Connected() bool { return s.nb.Connected() }

// Ready reports whether NB answers now: with reconnect, Connected stays
// true during an outage, while the current endpoint is empty then.
func (s *Store) Ready() bool { return s.nb.Connected() && s.nb.CurrentEndpoint() != "" }

// watchConnection rebuilds the view after a reconnect. On a standalone
// NB, libovsdb purges and refills its cache on reconnect, and rows deleted
// meanwhile produce no delete event. With WithReconnect, Connected() stays
// true during an outage; CurrentEndpoint() is empty while disconnected.
// Outages shorter than the poll are caught by the refill itself: an add
// event for a row the view already holds (see onAdd).
func (s *Store) watchConnection() {
	defer s.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	was := true
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.nb.CurrentEndpoint() != ""
		if was && !now {
			s.log.Warn("lost connection to NB; reconnecting", "endpoints", strings.Join(s.cfg.Endpoints, ","))
		}
		if now && (!was || s.resyncWanted.Swap(false)) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.resync(ctx); err != nil {
				s.log.Error("resync after reconnect", "err", err)
				now = false // try again on the next tick
			} else {
				s.log.Info("view rebuilt from NB", "endpoint", s.nb.CurrentEndpoint())
			}
			cancel()
		}
		was = now
	}
}

// onAdd applies an add event, noting when the row was already known
// (the cache is being refilled after a reconnect).
func (s *Store) onAdd(table string, m model.Model) {
	v := s.view
	v.mu.RLock()
	dup := false
	switch r := m.(type) {
	case *nbdb.LogicalSwitch:
		if id, ok := strings.CutPrefix(r.Name, lsPrefix); ok {
			dup = v.networks[id] != nil && v.networks[id].uuid == r.UUID
		}
	case *nbdb.LogicalSwitchPort:
		dup = v.ports[r.Name] != nil && v.ports[r.Name].uuid == r.UUID
	case *nbdb.DHCPOptions:
		id := r.ExternalIDs[keySubnetID]
		dup = v.subnets[id] != nil && v.subnets[id].uuid == r.UUID
	}
	v.mu.RUnlock()
	if dup && time.Since(time.Unix(0, s.lastResync.Load())) > 2*time.Second {
		s.resyncWanted.Store(true)
	}
	s.onEvent(table, nil, m)
}

// resync rebuilds the view from the libovsdb cache. Events queued
// meanwhile are applied afterwards; they are idempotent upserts and
// deletes, so the view converges on the cache.
func (s *Store) resync(ctx context.Context) error {
	var lss []nbdb.LogicalSwitch
	var lsps []nbdb.LogicalSwitchPort
	var dhcps []nbdb.DHCPOptions
	var globals []nbdb.NBGlobal
	var dnss []nbdb.DNS
	// Locked before the cache is read, not after: libovsdb updates its
	// cache first and hands the event to the handlers later, so an event
	// for a change the listing missed then waits here and is applied on
	// top of the rebuilt view. Applied between the listing and the reset,
	// it was wiped, and the view lacked the row until the next rebuild
	// (seen after an NB leader failover: a create's own commit, settled
	// in vain for 10 s).
	v := s.view
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := s.nb.List(ctx, &globals); err != nil {
		return fmt.Errorf("list NB_Global: %w", err)
	}
	if len(globals) > 0 {
		s.revoked.apply(&globals[0])
	} else {
		s.revoked.apply(nil)
	}
	if err := s.nb.List(ctx, &lss); err != nil {
		return fmt.Errorf("list Logical_Switch: %w", err)
	}
	if err := s.nb.List(ctx, &lsps); err != nil {
		return fmt.Errorf("list Logical_Switch_Port: %w", err)
	}
	if err := s.nb.List(ctx, &dhcps); err != nil {
		return fmt.Errorf("list DHCP_Options: %w", err)
	}
	if err := s.nb.List(ctx, &dnss); err != nil {
		return fmt.Errorf("list DNS: %w", err)
	}
	defer func() { s.lastResync.Store(time.Now().UnixNano()) }()
	v.reset()
	for i := range lss {
		if n, ok := networkFromRow(&lss[i]); ok {
			v.networks[n.ID] = n
		}
	}
	for i := range lsps {
		if p, ok := portFromRow(&lsps[i]); ok {
			v.putPort(p)
		}
	}
	for i := range dhcps {
		if sn, ok := subnetFromRow(&dhcps[i]); ok {
			v.putSubnet(sn)
		} else {
			v.onPortDHCPEvent(nil, &dhcps[i])
		}
	}
	for i := range dnss {
		v.onDNSEvent(nil, &dnss[i])
	}
	// Switches were listed before ports and subnets, so every row their
	// generation accounts for is in the view (or was deleted since).
	v.settleCarriers()
	v.notify()
	return nil
}

// onEvent applies one monitor event to the view. Exactly one of old
// (delete) and cur (add/update) is set.
func (s *Store) onEvent(table string, old, cur model.Model) {
	if table == nbdb.NBGlobalTable {
		// Under the view's lock, like every event: a rebuild must not
		// overwrite it with what it listed before (see resync).
		s.view.mu.Lock()
		defer s.view.mu.Unlock()
		if cur != nil {
			s.revoked.apply(cur.(*nbdb.NBGlobal))
		} else {
			s.revoked.apply(nil)
		}
		return
	}
	v := s.view
	v.mu.Lock()
	defer v.mu.Unlock()
	switch table {
	case nbdb.LogicalSwitchTable:
		if cur != nil {
			if n, ok := networkFromRow(cur.(*nbdb.LogicalSwitch)); ok {
				v.putNetwork(n)
			}
		} else if n, ok := networkFromRow(old.(*nbdb.LogicalSwitch)); ok {
			v.delNetwork(n.ID)
		}
	case nbdb.LogicalSwitchPortTable:
		if cur != nil {
			if p, ok := portFromRow(cur.(*nbdb.LogicalSwitchPort)); ok {
				v.putPort(p)
			}
		} else {
			v.delPort(old.(*nbdb.LogicalSwitchPort).Name)
		}
	case nbdb.DNSTable:
		old, _ := old.(*nbdb.DNS)
		cur, _ := cur.(*nbdb.DNS)
		v.onDNSEvent(old, cur)
	case nbdb.DHCPOptionsTable:
		old, _ := old.(*nbdb.DHCPOptions)
		cur, _ := cur.(*nbdb.DHCPOptions)
		if v.onPortDHCPEvent(old, cur) {
			return
		}
		if cur != nil {
			if sn, ok := subnetFromRow(cur); ok {
				v.putSubnet(sn)
			}
		} else if sn, ok := subnetFromRow(old); ok {
			v.delSubnet(sn.ID)
		}
	}
}

// lockNetwork serialises this process's writes to one network, so that
// its own transactions do not trip each other's guards.
func (s *Store) lockNetwork(id string) func() {
	m, _ := s.locks.LoadOrStore(id, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// errGuard means a wait operation failed: someone else committed first.
var errGuard = errors.New("optimistic guard failed")

// errOutcomeUnknown means the connection failed while a transaction was
// in flight (e.g. the cluster leader died): it may or may not be
// committed.
var errOutcomeUnknown = errors.New("outcome unknown")

// errNotCommitted means a transaction whose outcome was unknown was found
// not committed: it may be tried again as it was.
var errNotCommitted = errors.New("transaction not committed")

// transact commits ops and classifies the failure.
func (s *Store) transact(ctx context.Context, ops []ovsdb.Operation) error {
	if err := checkStrings(ops); err != nil {
		return err
	}
	start := time.Now()
	res, err := s.nb.Transact(ctx, ops...)
	outcome := "ok"
	defer func() { s.m.transact.WithLabelValues(outcome).Observe(since(start)) }()
	if err != nil {
		outcome = "error"
		return fmt.Errorf("%w: %w: transaction: %v", ErrUnavailable, errOutcomeUnknown, err)
	}
	for i, r := range res {
		if r.Error == "" {
			continue
		}
		// A failed wait, or a row whose unique index another
		// transaction took first (a flat or VLAN segment's localnet port):
		// someone else committed first.
		if (i < len(ops) && ops[i].Op == ovsdb.OperationWait && r.Error == "timed out") ||
			(r.Error == "constraint violation" && strings.Contains(r.Details, "identical values")) {
			outcome = "conflict"
			s.m.conflicts.Inc()
			return errGuard
		}
		outcome = "error"
		return fmt.Errorf("NB transaction failed: %s: %s", r.Error, r.Details)
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		outcome = "error"
		return fmt.Errorf("NB transaction failed: %w", err)
	}
	return nil
}

// lspCommitted resolves an unknown outcome for the transaction that
// created the Logical_Switch_Port named name: it asks NB (the leader, once
// the client has reconnected to one) whether that row exists, retrying
// until ctx ends.
func (s *Store) lspCommitted(ctx context.Context, name string) (bool, error) {
	op := ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.LogicalSwitchPortTable, Columns: []string{"name"},
		Where: []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: name}}}
	for {
		res, err := s.nb.Transact(ctx, op)
		if err == nil && len(res) == 1 && res[0].Error == "" {
			return len(res[0].Rows) > 0, nil
		}
		if err == nil {
			err = fmt.Errorf("select: %v", res)
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%w: could not learn whether a create was committed: %v", ErrUnavailable, err)
		case <-time.After(lagWait):
		}
	}
}

// settle waits (bounded) until the view satisfies cond, so that a client
// that writes and then reads sees its write.
func (s *Store) settle(ctx context.Context, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	defer func() { s.m.settle.Observe(since(start)) }()
	if err := s.view.waitFor(ctx, cond); err != nil {
		return fmt.Errorf("%w: committed, but NB did not report the change back: %v", ErrUnavailable, err)
	}
	return nil
}

// errLagging means the view does not yet hold every row of a commit it
// has seen the start of: not a conflict, just a moment to wait.
var errLagging = errors.New("view lags NB")

// Backoff after a lost optimistic transaction: a random wait in
// [0, min(retryBackoffCap, retryBackoffBase·2^n)) after the n-th loss
// ("full jitter"), on top of waiting for the winner's commit to show.
// Without it, replicas that lost a race wake on the same monitor update
// and race again in lockstep.
const (
	retryBackoffBase = 2 * time.Millisecond
	retryBackoffCap  = 100 * time.Millisecond
	// lagWait bounds one wait for the view to catch up.
	lagWait = 200 * time.Millisecond
)

// retry runs attempt until it succeeds or fails with something other than
// a failed guard. After a failed guard it waits until the view changed
// (the competing commit became visible) and a randomized, exponentially
// growing pause, and tries again, at most cfg.Retries times. A view that
// lags NB (errLagging) is waited for without using up a retry: it catches
// up within the request's deadline or is rebuilt (see lagging).
func (s *Store) retry(ctx context.Context, what string, attempt func() error) error {
	caughtUp := false
	conflicts := 0
	for {
		s.view.mu.RLock()
		ch := s.view.changed
		s.view.mu.RUnlock()
		err := attempt()
		if errors.Is(err, ErrNotFound) && !caughtUp {
			caughtUp = true
			if s.catchUp(ctx, err) {
				continue
			}
		}
		switch {
		case errors.Is(err, errLagging):
		case errors.Is(err, errGuard), errors.Is(err, errNotCommitted):
			conflicts++
			if conflicts > s.cfg.Retries {
				return fmt.Errorf("%w: %s: gave up after %d conflicting transactions", ErrUnavailable, what, conflicts)
			}
		default:
			return err
		}
		select {
		case <-ch:
		case <-time.After(lagWait):
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, ctx.Err())
		}
		if errors.Is(err, errGuard) {
			if err := sleepCtx(ctx, jitter(conflicts)); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
			}
		}
	}
}

// jitter is the randomized pause after the n-th lost transaction.
func jitter(n int) time.Duration {
	limit := retryBackoffCap
	if n < 16 {
		limit = min(retryBackoffCap, retryBackoffBase<<n)
	}
	return rand.N(limit)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkStrings refuses operations carrying a string ovsdb-server cannot
// take: it drops the connection of a client that sends a NUL character or
// invalid UTF-8, failing every request in flight on it. The API layer
// refuses such input first; this keeps any path that misses it from
// costing other tenants their requests.
func checkStrings(ops []ovsdb.Operation) error {
	for _, op := range ops {
		for col, v := range op.Row {
			if !storable(v) {
				return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: %s.%s holds a NUL character or invalid UTF-8.", op.Table, col)
			}
		}
		for _, m := range op.Mutations {
			if !storable(m.Value) {
				return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: %s.%s holds a NUL character or invalid UTF-8.", op.Table, m.Column)
			}
		}
		for _, c := range op.Where {
			if !storable(c.Value) {
				return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: %s.%s holds a NUL character or invalid UTF-8.", op.Table, c.Column)
			}
		}
	}
	return nil
}

func storable(v any) bool {
	switch x := v.(type) {
	case string:
		return utf8.ValidString(x) && !strings.ContainsRune(x, 0)
	case ovsdb.OvsSet:
		for _, e := range x.GoSet {
			if !storable(e) {
				return false
			}
		}
	case ovsdb.OvsMap:
		for k, e := range x.GoMap {
			if !storable(k) || !storable(e) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !storable(e) {
				return false
			}
		}
	}
	return true
}

var timeout0 = 0

// guard returns a wait operation that fails unless the row still has
// exactly the external_ids the caller based its decision on.
func (s *Store) guard(table string, uuid string, ext map[string]string) ([]ovsdb.Operation, error) {
	switch table {
	case nbdb.LogicalSwitchTable:
		m := &nbdb.LogicalSwitch{UUID: uuid, ExternalIDs: ext}
		return s.nb.Where(m).Wait(ovsdb.WaitConditionEqual, &timeout0, m, &m.ExternalIDs)
	case nbdb.LogicalSwitchPortTable:
		m := &nbdb.LogicalSwitchPort{UUID: uuid, ExternalIDs: ext}
		return s.nb.Where(m).Wait(ovsdb.WaitConditionEqual, &timeout0, m, &m.ExternalIDs)
	case nbdb.AddressSetTable:
		m := &nbdb.AddressSet{UUID: uuid, ExternalIDs: ext}
		return s.nb.Where(m).Wait(ovsdb.WaitConditionEqual, &timeout0, m, &m.ExternalIDs)
	default:
		m := &nbdb.DHCPOptions{UUID: uuid, ExternalIDs: ext}
		return s.nb.Where(m).Wait(ovsdb.WaitConditionEqual, &timeout0, m, &m.ExternalIDs)
	}
}

func mutation(field any, op ovsdb.Mutator, value any) model.Mutation {
	return model.Mutation{Field: field, Mutator: op, Value: value}
}
