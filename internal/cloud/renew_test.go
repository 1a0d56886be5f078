package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// shortTokenCloud is a Keystone that issues password tokens living
// lifetime, and a Neutron that refuses (401) a token past its expiry. It
// counts the tokens issued and the refusals.
type shortTokenCloud struct {
	srv      *httptest.Server
	lifetime time.Duration

	mu      sync.Mutex
	expiry  map[string]time.Time
	issued  int
	refused int
}

func newShortTokenCloud(t *testing.T, lifetime time.Duration) *shortTokenCloud {
	t.Helper()
	k := &shortTokenCloud{lifetime: lifetime, expiry: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.issued++
		tok := fmt.Sprintf("tok%d", k.issued)
		exp := time.Now().Add(k.lifetime)
		k.expiry[tok] = exp
		k.mu.Unlock()
		w.Header().Set("X-Subject-Token", tok)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":{"expires_at":%q,"project":{"id":"p1","name":"demo","domain":{"id":"default"}},
			"catalog":[{"type":"network","name":"neutron","endpoints":[{"interface":"public","region":"RegionOne","url":%q}]}]}}`,
			exp.UTC().Format(time.RFC3339Nano), k.srv.URL+"/")
	})
	mux.HandleFunc("GET /v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		exp, ok := k.expiry[r.Header.Get("X-Auth-Token")]
		valid := ok && time.Now().Before(exp)
		if !valid {
			k.refused++
		}
		k.mu.Unlock()
		if !valid {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":401,"message":"The request you have made requires authentication."}}`)
			return
		}
		fmt.Fprint(w, `{"networks":[]}`)
	})
	mux.HandleFunc("GET /v2.0/subnets", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"subnets":[]}`) })
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *shortTokenCloud) counts() (issued, refused int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.issued, k.refused
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	const lifetime = 2 * time.Second // renewal window: the last 500 ms
	k := newShortTokenCloud(t, lifetime)
	ctx := context.Background()
	getenv := env(map[string]string{"OS_AUTH_URL": k.srv.URL + "/v3", "OS_USERNAME": "demo", "OS_PASSWORD": "secret", "OS_PROJECT_NAME": "demo"})
	c, err := Connect(ctx, Options{Getenv: getenv}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Three lifetimes of requests, concurrent ones each time: the token is
	// always renewed ahead (never refused), once per lifetime.
	for end := time.Now().Add(3 * lifetime); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := c.ListNetworks(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	issued, refused := k.counts()
	if refused != 0 {
		t.Errorf("Neutron refused %d requests: the token was not renewed before it expired", refused)
	}
	// 1 at Connect, then one per lifetime (renewed 500 ms early): 3 or 4
	// over 6 s, never one per request.
	if issued < 3 || issued > 5 {
		t.Errorf("%d tokens issued over %s of requests with a %s token, want one per lifetime (3 to 5)", issued, 3*lifetime, lifetime)
	}
}

func TestRenewAt(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		e    cacheEntry
		want time.Time
	}{
		{"an hour's token: 5 min ahead", cacheEntry{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0.Add(55 * time.Minute)},
		{"a minute's token: a quarter ahead", cacheEntry{IssuedAt: t0, ExpiresAt: t0.Add(time.Minute)}, t0.Add(45 * time.Second)},
		{"unknown lifetime (cached before): 5 min ahead", cacheEntry{ExpiresAt: t0.Add(time.Hour)}, t0.Add(55 * time.Minute)},
		{"unknown expiry: never ahead", cacheEntry{}, time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.e.renewAt(); !got.Equal(c.want) {
				t.Errorf("renewAt = %s, want %s", got, c.want)
			}
		})
	}
}

func TestBareTokenNotRenewed(t *testing.T) {
	srv := fakeCloud(t, "good")
	c, err := Connect(context.Background(), Options{Token: "good", Getenv: env(map[string]string{"OS_AUTH_URL": srv.URL + "/v3"})}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.entry.ExpiresAt = time.Now() // the caller's own token: only they can renew it
	if c.renewDue(time.Now()) {
		t.Error("a bare token given by the caller is due for renewal")
	}
}
