package connlimit

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Config sets the limits; zero means no limit of that kind.
type Config struct {
	// Total bounds the connections open at once.
	Total int
	// PerHost bounds the connections open at once from one remote IP.
	PerHost int
	Logger  *slog.Logger
}

// Listener wraps a net.Listener. A connection over a limit is closed at
// once (the client sees a reset, not a hang), and Accept moves on to the
// next one: refusing is cheaper than queueing behind the offender.
type Listener struct {
	net.Listener
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	total   int
	perHost map[string]int
	// lastWarn rate-limits the log line about refused connections.
	lastWarn time.Time
	refused  int
}

// Wrap returns ln with cfg's limits.
func Wrap(ln net.Listener, cfg Config) *Listener {
	l := &Listener{Listener: ln, cfg: cfg, log: cfg.Logger, perHost: map[string]int{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// Accept returns the next connection within the limits.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host := hostOf(c.RemoteAddr())
		if l.admit(host) {
			return &conn{Conn: c, release: func() { l.release(host) }}, nil
		}
		_ = c.Close()
	}
}

func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func (l *Listener) admit(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if (l.cfg.Total > 0 && l.total >= l.cfg.Total) || (l.cfg.PerHost > 0 && l.perHost[host] >= l.cfg.PerHost) {
		l.refused++
		if now := time.Now(); now.Sub(l.lastWarn) > 10*time.Second {
			l.log.Warn("refusing connections over the limit", "remote", host, "open_total", l.total,
				"open_from_remote", l.perHost[host], "max_total", l.cfg.Total, "max_per_host", l.cfg.PerHost,
				"refused_since_last_warning", l.refused)
			l.lastWarn, l.refused = now, 0
		}
		return false
	}
	l.total++
	l.perHost[host]++
	return true
}

func (l *Listener) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perHost[host]--; l.perHost[host] <= 0 {
		delete(l.perHost, host)
	}
}

// Open reports the connections currently open (total).
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
