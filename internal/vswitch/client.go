package vswitch

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/ovn-docker/ovn-docker/internal/vswitchd"
)

// dialTimeout bounds Dial when the caller's ctx has no deadline: an
// unreachable tcp endpoint would otherwise hang the attach.
const dialTimeout = 5 * time.Second

// pollInterval is the fallback re-check while waiting on the cache, in case
// the cache's bounded event queue drops a notification.
const pollInterval = 50 * time.Millisecond

// Client talks to the VM's Open_vSwitch database. It monitors the
// Open_vSwitch, Bridge, Port and Interface tables (only the columns it
// needs, so ovs-vswitchd's statistics do not churn the cache) and reads
// from that cache. Safe for concurrent use.
type Client struct {
	ovs      client.Client
	endpoint string
	log      *slog.Logger
	changed  *notifier

	mu      sync.Mutex
	pending map[int]bool // VLANs being claimed by this Client right now
}

// Dial connects to the OVSDB at endpoint ("unix:/path" or "tcp:ip:port")
// and waits for the initial monitor snapshot. It gives up after 5 s unless
// ctx says otherwise.
func Dial(ctx context.Context, endpoint string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dbModel, err := vswitchd.FullDatabaseModel()
	if err != nil {
		return nil, fmt.Errorf("vswitch database model: %w", err)
	}
	lg := logr.FromSlogHandler(libovsdbHandler{log.With("ovsdb", endpoint).Handler()})
	ovs, err := client.NewOVSDBClient(dbModel, client.WithEndpoint(endpoint), client.WithLogger(&lg))
	if err != nil {
		return nil, fmt.Errorf("OVSDB endpoint %q: %w (want unix:/path or tcp:ip:port)", endpoint, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	if err := ovs.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to the VM's OVSDB at %s: %w (is ovsdb-server running there?)", endpoint, err)
	}
	c := &Client{ovs: ovs, endpoint: endpoint, log: log, changed: newNotifier(), pending: map[int]bool{}}
	var (
		ovsRow vswitchd.OpenvSwitch
		br     vswitchd.Bridge
		port   vswitchd.Port
		iface  vswitchd.Interface
	)
	mon := ovs.NewMonitor(
		client.WithTable(&ovsRow, &ovsRow.Bridges, &ovsRow.CurCfg),
		client.WithTable(&br, &br.Name, &br.DatapathType, &br.Ports, &br.ExternalIDs),
		client.WithTable(&port, &port.Name, &port.Tag, &port.Interfaces, &port.ExternalIDs),
		client.WithTable(&iface, &iface.Name, &iface.Type, &iface.Ofport, &iface.Error, &iface.ExternalIDs),
	)
	if _, err := ovs.Monitor(ctx, mon); err != nil {
		ovs.Close()
		return nil, fmt.Errorf("monitor the VM's OVSDB at %s: %w", endpoint, err)
	}
	ovs.Cache().AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    func(string, model.Model) { c.changed.notify() },
		UpdateFunc: func(string, model.Model, model.Model) { c.changed.notify() },
		DeleteFunc: func(string, model.Model) { c.changed.notify() },
	})
	return c, nil
}

// Close disconnects. The Client must not be used afterwards.
func (c *Client) Close() { c.ovs.Close() }

// waitCache blocks until cond (evaluated against the cache) holds, ctx ends
// or the connection drops. It gives read-your-writes: a transaction's reply
// may arrive before the monitor update that carries the same change.
func (c *Client) waitCache(ctx context.Context, what string, cond func() bool) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		ch := c.changed.wait() // taken before checking, so no wake-up is lost
		if cond() {
			return nil
		}
		if !c.ovs.Connected() {
			return fmt.Errorf("waiting for %s: lost the connection to %s", what, c.endpoint)
		}
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s in %s: %w", what, c.endpoint, ctx.Err())
		}
	}
}

// notifier wakes every waiter on each cache change.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}
