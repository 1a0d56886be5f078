package vmproxy

import (
	"sync"
	"time"
)

// Limiter is a token bucket per VM: Rate requests a second on average,
// Burst at once.
type Limiter struct {
	Rate  float64
	Burst int
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Allow takes a token of key's bucket; false when it is empty. A zero Rate
// means no limit.
func (l *Limiter) Allow(key string) bool {
	if l.Rate <= 0 {
		return true
	}
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: float64(l.Burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = min(float64(l.Burst), b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
