package keystone

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"
)

// ThrottleConfig limits password guessing. After Free failed logins for
// one user name, each further attempt has to wait: BaseDelay after the
// first one past Free, doubling with each further failure up to MaxDelay.
// A success, or Window without failures, resets the name. Names are
// throttled whether or not such a user exists, so that the answers do not
// tell which names exist.
//
// The state is per process: replicas behind one load balancer throttle
// independently, so an attacker spread over n replicas gets n times the
// budget (still orders of magnitude below an unthrottled server).
type ThrottleConfig struct {
	Free      int
	BaseDelay time.Duration
	MaxDelay  time.Duration
	Window    time.Duration
	// Parallel bounds the attempts in flight for a name that has no
	// failure yet: a client logging in from many processes at once (64
	// concurrent commands of the plugin) is not refused, while an attacker
	// gets at most Parallel guesses before the failures count.
	Parallel int
	// MaxTracked bounds the names remembered; past it the name failed
	// least recently is forgotten, so an attacker cycling through names
	// cannot grow memory without limit.
	MaxTracked int
	// Disabled turns throttling off.
	Disabled bool
}

// Defaults of the zero fields of a ThrottleConfig.
const (
	DefaultThrottleFree       = 5
	DefaultThrottleBaseDelay  = time.Second
	DefaultThrottleMaxDelay   = time.Minute
	DefaultThrottleWindow     = 15 * time.Minute
	DefaultThrottleMaxTracked = 10000
	DefaultThrottleParallel   = 64
)

// withDefaults fills in the zero fields.
func (c ThrottleConfig) withDefaults() ThrottleConfig {
	if c.Free <= 0 {
		c.Free = DefaultThrottleFree
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = DefaultThrottleBaseDelay
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = DefaultThrottleMaxDelay
	}
	if c.Window <= 0 {
		c.Window = DefaultThrottleWindow
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultThrottleParallel
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = DefaultThrottleMaxTracked
	}
	return c
}

// throttledError is a login refused for being too early after failures.
type throttledError struct{ retryAfter time.Duration }

func (e *throttledError) Error() string {
	return fmt.Sprintf("too many failed logins; retry after %s", e.retryAfter)
}

// retryAfterSeconds is the Retry-After value: whole seconds, at least 1.
func (e *throttledError) retryAfterSeconds() int {
	return max(1, int(math.Ceil(e.retryAfter.Seconds())))
}

// loginThrottle tracks failed logins per name in an LRU of bounded size.
type loginThrottle struct {
	cfg ThrottleConfig
	mu  sync.Mutex
	m   map[string]*list.Element
	lru *list.List // front: most recently used; values are *failures
}

type failures struct {
	key     string
	count   int
	last    time.Time // of the last failure
	until   time.Time // no attempt before this
	pending int       // attempts let through and not yet settled
}

func newLoginThrottle(cfg ThrottleConfig) *loginThrottle {
	return &loginThrottle{cfg: cfg.withDefaults(), m: map[string]*list.Element{}, lru: list.New()}
}

// begin lets an attempt for key through, or says how long to wait. An
// attempt let through must be settled with done. Once a name has failed,
// attempts made in parallel count as failures until they are settled, so
// that concurrency does not multiply the budget; before that, up to
// Parallel may be in flight.
func (t *loginThrottle) begin(key string, now time.Time) error {
	if t.cfg.Disabled {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.get(key, now)
	if wait := f.until.Sub(now); wait > 0 {
		return &throttledError{retryAfter: wait}
	}
	budget := t.cfg.Free
	if f.count == 0 {
		budget = t.cfg.Parallel
	}
	if f.pending > 0 && f.count+f.pending >= budget {
		return &throttledError{retryAfter: time.Second}
	}
	f.pending++
	return nil
}

// done settles an attempt that begin let through.
func (t *loginThrottle) done(key string, ok bool, now time.Time) {
	if t.cfg.Disabled {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.get(key, now)
	f.pending = max(0, f.pending-1)
	if ok {
		f.count, f.until = 0, time.Time{}
		if f.pending == 0 {
			t.lru.Remove(t.m[key])
			delete(t.m, key)
		}
		return
	}
	f.count++
	f.last = now
	if over := f.count - t.cfg.Free; over >= 0 {
		delay := t.cfg.BaseDelay << min(over, 30)
		if delay > t.cfg.MaxDelay || delay <= 0 {
			delay = t.cfg.MaxDelay
		}
		f.until = now.Add(delay)
	}
}

// get returns key's record, creating it (and evicting the least recently
// used one when full); a record idle for Window starts afresh.
func (t *loginThrottle) get(key string, now time.Time) *failures {
	if e, ok := t.m[key]; ok {
		t.lru.MoveToFront(e)
		f := e.Value.(*failures)
		if f.count > 0 && now.Sub(f.last) > t.cfg.Window && !now.Before(f.until) {
			f.count, f.until = 0, time.Time{}
		}
		return f
	}
	for t.lru.Len() >= max(1, t.cfg.MaxTracked) {
		old := t.lru.Back()
		t.lru.Remove(old)
		delete(t.m, old.Value.(*failures).key)
	}
	f := &failures{key: key}
	t.m[key] = t.lru.PushFront(f)
	return f
}

// tracked is how many names are remembered (for tests).
func (t *loginThrottle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
