package vmproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ovn-docker/ovn-docker/internal/connlimit"
)

// Namespaces serves every network that has a namespace of its own: a
// network namespace named Prefix+<network id> in Dir (where `ip netns`
// keeps them), holding the veth bound to the network's OVN localport. Each
// gets a listener on Port inside it, so that what arrives there arrived on
// that network. Dir is scanned every Interval: namespaces made later are
// served, those removed stop being served.
type Namespaces struct {
	Dir, Prefix string
	Port        int
	Interval    time.Duration
	Server      *Server
	Log         *slog.Logger

	mu      sync.Mutex
	serving map[string]*http.Server // by network id
}

// Timeouts of the per-network HTTP servers: a slow client is cut off
// (slow headers, slow body); the write bound leaves room for a slow
// Neutron (add_subports on a busy trunk takes tens of seconds).
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 3 * time.Minute
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	connsPerVM        = 64
)

// Run serves until ctx ends.
func (n *Namespaces) Run(ctx context.Context) error {
	if n.Interval <= 0 {
		n.Interval = 2 * time.Second
	}
	n.serving = map[string]*http.Server{}
	defer n.closeAll()
	t := time.NewTicker(n.Interval)
	defer t.Stop()
	for {
		if err := n.scan(ctx); err != nil {
			n.Log.Warn("scanning network namespaces", "dir", n.Dir, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Networks is the networks served now.
func (n *Namespaces) Networks() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for id := range n.serving {
		out = append(out, id)
	}
	return out
}

func (n *Namespaces) scan(ctx context.Context) error {
	ents, err := os.ReadDir(n.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	present := map[string]bool{}
	for _, e := range ents {
		id, ok := strings.CutPrefix(e.Name(), n.Prefix)
		if !ok || !safeSegment.MatchString(id) {
			continue
		}
		present[id] = true
		n.mu.Lock()
		_, have := n.serving[id]
		n.mu.Unlock()
		if have {
			continue
		}
		if err := n.serve(ctx, id, filepath.Join(n.Dir, e.Name())); err != nil {
			n.Log.Warn("not serving network", "network", id, "netns", e.Name(), "err", err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, srv := range n.serving {
		if !present[id] {
			n.Log.Info("network namespace gone: no longer serving", "network", id)
			_ = srv.Close()
			delete(n.serving, id)
		}
	}
	return nil
}

func (n *Namespaces) serve(ctx context.Context, networkID, nsPath string) error {
	ln, err := listenIn(nsPath, net.JoinHostPort("", strconv.Itoa(n.Port)))
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           n.Server.Handler(networkID),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	n.mu.Lock()
	n.serving[networkID] = srv
	n.mu.Unlock()
	n.Log.Info("serving network", "network", networkID, "netns", nsPath, "port", n.Port)
	go func() {
		err := srv.Serve(connlimit.Wrap(ln, connlimit.Config{PerHost: connsPerVM, Logger: n.Log}))
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.Log.Warn("serving network stopped", "network", networkID, "err", err)
			n.mu.Lock()
			if n.serving[networkID] == srv {
				delete(n.serving, networkID) // the next scan tries again
			}
			n.mu.Unlock()
		}
	}()
	return nil
}

func (n *Namespaces) closeAll() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, srv := range n.serving {
		_ = srv.Close()
		delete(n.serving, id)
	}
}

// listenIn opens a TCP listener inside the network namespace at nsPath: a
// socket stays in the namespace it was made in, whatever thread uses it
// afterwards.
func listenIn(nsPath, addr string) (net.Listener, error) {
	target, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("opening network namespace %s: %w", nsPath, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("reading this thread's network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("entering network namespace %s: %w", nsPath, err)
	}
	ln, lerr := net.Listen("tcp", addr)
	if err := netns.Set(orig); err != nil {
		// The thread stays locked, so it ends with this goroutine rather
		// than serve others in the wrong namespace.
		if ln != nil {
			ln.Close()
		}
		return nil, fmt.Errorf("leaving network namespace %s: %w", nsPath, err)
	}
	runtime.UnlockOSThread()
	if lerr != nil {
		return nil, fmt.Errorf("listening on %s in network namespace %s: %w", addr, nsPath, lerr)
	}
	return ln, nil
}
