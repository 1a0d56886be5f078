package cloud

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A token is renewed before it expires, not when Neutron refuses it: a
// request sent in a token's last moments would otherwise fail with a 401,
// cost a Keystone round trip in the middle of an attach, and be sent
// again. The renewal happens on the first request after the token entered
// its renewal window, so a long-running process (the daemon) and a command
// that picked a cached token alike never send an expiring token.

// renewWindow is how long before expiry a token is renewed: a quarter of
// its lifetime, at most cacheMargin (a token of Keystone's default hour is
// renewed 5 minutes ahead; one of a minute, 15 seconds ahead).
func (e cacheEntry) renewAt() time.Time {
	if e.ExpiresAt.IsZero() {
		return time.Time{} // unknown expiry: only a 401 renews it
	}
	window := cacheMargin
	if !e.IssuedAt.IsZero() {
		if q := e.ExpiresAt.Sub(e.IssuedAt) / 4; q < window {
			window = q
		}
	}
	return e.ExpiresAt.Add(-window)
}

// renewDue reports whether the token the client holds is in its renewal
// window. A bare token given by the caller cannot be renewed.
func (c *Client) renewDue(now time.Time) bool {
	if c.byToken {
		return false
	}
	c.mu.Lock()
	at := c.entry.renewAt()
	c.mu.Unlock()
	return !at.IsZero() && !now.Before(at)
}

// renewAhead renews the token sent if it is due, and returns the token to
// send. Concurrent callers share one renewal (the provider's
// Reauthenticate). If Keystone cannot be reached, the old token, still
// valid for a while, is sent.
func (c *Client) renewAhead(ctx context.Context, sent string) string {
	if !c.renewDue(time.Now()) {
		return sent
	}
	c.log.Debug("token close to expiry; renewing it", "auth_url", c.authURL)
	if err := c.provider.Reauthenticate(ctx, sent); err != nil {
		c.log.Warn("renewing the token before expiry failed; using it until it is refused", "err", err)
		return sent
	}
	return c.provider.Token()
}

// renewingTransport renews the token of a request to Neutron before
// sending it (see renewAhead). Keystone's requests (a password login has
// no X-Auth-Token; a token validation has X-Subject-Token) pass as they are.
type renewingTransport struct {
	base http.RoundTripper
	c    *Client
}

func (t renewingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	sent := r.Header.Get("X-Auth-Token")
	if sent != "" && r.Header.Get("X-Subject-Token") == "" && t.c.provider != nil {
		if tok := t.c.renewAhead(r.Context(), sent); tok != sent {
			r = r.Clone(r.Context())
			r.Header.Set("X-Auth-Token", tok)
		}
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if obs := t.c.observer.Load(); obs != nil {
		code := "unreachable"
		if err == nil {
			code = strconv.Itoa(resp.StatusCode)
		}
		(*obs)(t.c.service(r), r.Method, code, time.Since(start))
	}
	return resp, err
}

// Observer is told of every HTTP request the client makes: the service
// ("network" or "identity"), the method, the status code ("unreachable"
// when no answer came) and how long it took.
type Observer func(service, method, code string, took time.Duration)

// Observe makes the client tell obs of each request from now on.
func (c *Client) Observe(obs Observer) { c.observer.Store(&obs) }

func (c *Client) service(r *http.Request) string {
	if c.net != nil && strings.HasPrefix(r.URL.String(), c.net.Endpoint) {
		return "network"
	}
	return "identity"
}

// withRenewal makes hc renew tokens ahead of their expiry for c.
func withRenewal(hc http.Client, c *Client) http.Client {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = renewingTransport{base: base, c: c}
	return hc
}
