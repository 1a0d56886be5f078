package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/dockerdriver"
)

// DefaultSocket is where Docker finds the plugin named ovn.
const DefaultSocket = "/run/docker/plugins/ovn.sock"

// Server runs the driver on the plugin socket: reconcile, listen, serve
// until ctx ends, then drain.
type Server struct {
	Driver *Driver
	Socket string
	// Drain bounds the wait for requests in flight at shutdown (an
	// attach is never cut short: the engine would be left with half of
	// it).
	Drain time.Duration
	Log   *slog.Logger
	// Endpoints, if set, lists the endpoints the engine has (its ovn
	// networks' endpoints of running containers): at start, entries of
	// other endpoints are freed (their containers ended while no daemon
	// could hear of it).
	Endpoints func(ctx context.Context) (map[string]bool, error)
	// Pool, if set, is refilled every Refill: a network of Served whose
	// ready ports fell to half its target (`ovn-docker pool fill` sets
	// it) or below is filled up to the target again, so a burst of runs
	// is served from the pool. The pools of other networks are the
	// command line's to manage.
	Pool   Pool
	Refill time.Duration
	// Served lists the Neutron networks of the engine's ovn networks.
	Served func(ctx context.Context) (map[string]bool, error)
	// Metrics, if set, times the engine's calls; with MetricsListen
	// ("unix:PATH" or a loopback "HOST:PORT") it is served there at
	// /metrics, with /healthz.
	Metrics       *Metrics
	MetricsListen string
}

// Pool is the port pool as the refill uses it.
type Pool interface {
	PoolStatus(ctx context.Context) ([]attach.PoolStatus, error)
	TopUpPool(ctx context.Context, network string, groups []string) (attach.PoolStatus, error)
}

// refill keeps the pools topped up until ctx ends.
func (s *Server) refill(ctx context.Context) {
	if s.Pool == nil || s.Refill <= 0 || s.Served == nil {
		return
	}
	t := time.NewTicker(s.Refill)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := s.Pool.PoolStatus(ctx)
		if err != nil {
			s.Log.Warn("pool refill: status", "err", err)
			continue
		}
		served, err := s.Served(ctx)
		if err != nil {
			s.Log.Warn("pool refill: networks served", "err", err)
			continue
		}
		for _, p := range st {
			if !served[p.NetworkID] || p.Target == 0 || 2*(p.Ready+p.Pending) > p.Target {
				continue
			}
			// Up to the target as it is then: a drain meanwhile wins.
			if _, err := s.Pool.TopUpPool(ctx, p.NetworkID, p.SecurityGroups); err != nil {
				s.Log.Warn("pool refill", "network", p.NetworkID, "err", err)
				continue
			}
			s.Log.Info("pool refilled", "network", p.NetworkID, "target", p.Target, "was_ready", p.Ready)
		}
	}
}

// Run is the daemon's life, step by step.
func (s *Server) Run(ctx context.Context) error {
	freed, err := s.reconcile(ctx)
	if err != nil {
		s.Log.Warn("reconciliation at start incomplete", "err", err)
	}
	ln, err := s.listen()
	if err != nil {
		return err
	}
	stopMetrics, err := s.serveMetrics()
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	bctx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { s.refill(bctx) })
	background.Go(func() { s.freeOrphans(bctx, freed) })
	err = s.serve(ctx, ln)
	stopBackground()
	background.Wait()
	return err
}

// reconcile frees what a previous daemon left: reservations being made
// or plugged by a process that is gone, addresses Docker was given but
// never bound to an endpoint, and endpoints the engine no longer has.
// Endpoints the engine has are kept: their containers run on.
func (s *Server) reconcile(ctx context.Context) (attach.Freed, error) {
	keep := func(e attach.Entry) bool { return e.Endpoint != "" && e.State == "ready" }
	if s.Endpoints != nil {
		eps, err := s.Endpoints(ctx)
		if err != nil {
			s.Log.Warn("cannot ask the engine for its endpoints; keeping every plugged one", "err", err)
		} else {
			keep = func(e attach.Entry) bool { return eps[e.Endpoint] }
		}
	}
	freed, err := s.Driver.Attach.FreeIf(ctx, keep)
	if len(freed.Ports) > 0 {
		s.Log.Info("freed what a previous daemon left", "ovs_ports", freed.Ports)
	}
	return freed, err
}

// freeOrphans deletes, once they have settled, the Neutron ports that
// port creates of a killed daemon completed after reconcile freed their
// claims (real Neutron completes a create seconds after its client died).
// It runs while the daemon serves: it touches nothing but those ports.
func (s *Server) freeOrphans(ctx context.Context, freed attach.Freed) {
	if freed.Settle.IsZero() {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(freed.Settle)):
	}
	deleted, err := s.Driver.Attach.FreeOrphans(ctx, freed.Ports)
	if err != nil {
		s.Log.Warn("deleting the ports a previous daemon's creates left", "err", err)
	}
	if len(deleted) > 0 {
		s.Log.Info("deleted the ports a previous daemon's creates left", "ports", deleted)
	}
}

// listen makes the plugin socket, replacing one a dead daemon left.
func (s *Server) listen() (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(s.Socket), 0o755); err != nil {
		return nil, fmt.Errorf("plugin socket directory: %w", err)
	}
	if c, err := net.Dial("unix", s.Socket); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s: another daemon is serving it", s.Socket)
	}
	_ = os.Remove(s.Socket)
	ln, err := net.Listen("unix", s.Socket)
	if err != nil {
		return nil, fmt.Errorf("plugin socket: %w", err)
	}
	return ln, nil
}

// serveMetrics serves the metrics on MetricsListen, if set, until the
// returned func is called.
func (s *Server) serveMetrics() (stop func(), err error) {
	if s.Metrics == nil || s.MetricsListen == "" {
		return func() {}, nil
	}
	network, addr := "tcp", s.MetricsListen
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, fmt.Errorf("metrics socket directory: %w", err)
		}
		_ = os.Remove(p) // the plugin socket, served above, says no other daemon runs
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", s.MetricsListen, err)
	}
	srv := &http.Server{Handler: s.Metrics.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.Log.Info("serving metrics", "listen", s.MetricsListen)
	return func() {
		srv.Close()
		if network == "unix" {
			os.Remove(addr)
		}
	}, nil
}

func (s *Server) serve(ctx context.Context, ln net.Listener) error {
	var h http.Handler = dockerdriver.Handler(s.Driver, s.Driver, s.Log)
	if s.Metrics != nil {
		h = s.Metrics.Calls(h)
	}
	srv := &http.Server{
		Handler: h,
		// Requests outlive a cancelled daemon context: they are drained.
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	s.Log.Info("serving", "socket", s.Socket)
	select {
	case err := <-done:
		os.Remove(s.Socket)
		return fmt.Errorf("serving %s: %w", s.Socket, err)
	case <-ctx.Done():
	}
	s.Log.Info("draining", "timeout", s.Drain)
	// The socket goes first, so the engine sees the plugin gone rather
	// than calls refused.
	os.Remove(s.Socket)
	dctx, cancel := context.WithTimeout(context.Background(), s.Drain)
	defer cancel()
	err := srv.Shutdown(dctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("requests still in flight after %s: %w", s.Drain, err)
	}
	s.Log.Info("stopped")
	return err
}
