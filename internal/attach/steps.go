package attach

import "time"

// stepTimes records how long each step of one attach took, in ms, as
// key/value pairs for its log line: an attach's latency is its steps'.
type stepTimes struct {
	last time.Time
	kv   []any
}

func startSteps() *stepTimes { return &stepTimes{last: time.Now()} }

// done records the step that ends now, named name ("…_ms"), as
// beginning where the previous one ended. A nil s records nothing.
func (s *stepTimes) done(name string) {
	if s == nil {
		return
	}
	now := time.Now()
	s.kv = append(s.kv, name, float64(now.Sub(s.last).Microseconds())/1000)
	s.last = now
}
