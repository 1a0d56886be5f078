package keystone

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoginThrottle(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newTestService(t, func(c *Config) {
		c.Now = clock.Now
		c.Throttle = ThrottleConfig{Free: 3, BaseDelay: 2 * time.Second, MaxDelay: 10 * time.Second, Window: time.Minute}
	})
	login := func(user, pw string) (int, string) {
		w := do(s.Handler(), "POST", "/v3/auth/tokens", passwordBody(user, "Default", pw, "demo"), nil)
		return w.Code, w.Header().Get("Retry-After")
	}
	// The same sequence for a user that exists and one that does not, so
	// that the answers do not tell them apart.
	for _, user := range []string{"demo", "nobody"} {
		var got []string
		for range 5 {
			code, ra := login(user, "wrong")
			got = append(got, fmt.Sprint(code, " ", ra))
		}
		want := []string{"401 ", "401 ", "401 ", "429 2", "429 2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: answers (-want +got):\n%s", user, diff)
		}
	}
	// Throttled even with the right password: that is the point.
	if code, _ := login("demo", pwDemo); code != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d, want 429", code)
	}
	w := do(s.Handler(), "POST", "/v3/auth/tokens", passwordBody("demo", "Default", "wrong", "demo"), nil)
	if e := decodeError(t, w.Body); e.Error.Code != 429 || e.Error.Title != "Too Many Requests" {
		t.Errorf("429 body = %+v", e)
	}
	// Another user is not affected.
	issueToken(t, s, "admin", "Default", pwAdmin, "admin")

	// After the wait, one more guess; a failure doubles the wait.
	clock.Advance(2 * time.Second)
	if code, _ := login("demo", "wrong"); code != http.StatusUnauthorized {
		t.Fatalf("guess after the wait: %d, want 401", code)
	}
	if code, ra := login("demo", "wrong"); code != 429 || ra != "4" {
		t.Fatalf("after a 4th failure: %d Retry-After %q, want 429 4", code, ra)
	}
	// Delays stop growing at MaxDelay.
	for range 4 {
		clock.Advance(10 * time.Second)
		login("demo", "wrong")
	}
	if _, ra := login("demo", "wrong"); ra != strconv.Itoa(10) {
		t.Fatalf("Retry-After %q, want capped at 10", ra)
	}
	// A success resets the count.
	clock.Advance(10 * time.Second)
	issueToken(t, s, "demo", "Default", pwDemo, "demo")
	for range 3 {
		if code, _ := login("demo", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure after a success: %d, want 401", code)
		}
	}
	// A quiet window resets it too.
	clock.Advance(2 * time.Minute)
	for range 3 {
		if code, _ := login("demo", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("failure after a quiet window: %d, want 401", code)
		}
	}
}

func TestLoginThrottleBoundedMemory(t *testing.T) {
	th := newLoginThrottle(ThrottleConfig{MaxTracked: 100})
	now := time.Now()
	for i := range 1000 {
		key := fmt.Sprint("user-", i)
		if err := th.begin(key, now); err != nil {
			t.Fatal(err)
		}
		th.done(key, false, now)
	}
	if n := th.tracked(); n != 100 {
		t.Fatalf("tracked %d names, want at most 100", n)
	}
}

func TestLoginThrottleConcurrentAttemptsCount(t *testing.T) {
	th := newLoginThrottle(ThrottleConfig{Free: 3, Parallel: 8})
	now := time.Now()
	let := 0
	for range 20 {
		if th.begin("k", now) == nil {
			let++
		}
	}
	if let != 8 {
		t.Fatalf("%d parallel attempts of a name without failures let through, want 8 (Parallel)", let)
	}
	for range let {
		th.done("k", false, now)
	}
	// The name has failed: from now on attempts in flight count as
	// failures, so none is let through until the delay has passed.
	later := now.Add(time.Hour)
	th2 := newLoginThrottle(ThrottleConfig{Free: 3, Parallel: 8})
	th2.done("k", false, later) // one failure on record
	let = 0
	for range 20 {
		if th2.begin("k", later) == nil {
			let++
		}
	}
	if let != 2 {
		t.Fatalf("%d parallel attempts after a failure let through, want 2 (Free minus failures)", let)
	}
}
