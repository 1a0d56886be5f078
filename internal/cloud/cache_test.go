package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// passwordCloud is a Keystone (password auth) + Neutron (networks,
// extensions) whose tokens expire at expires; revoke makes Neutron refuse
// every token issued so far.
type passwordCloud struct {
	srv     *httptest.Server
	logins  atomic.Int32
	extReqs atomic.Int32
	mu      sync.Mutex
	valid   map[string]bool
	expires time.Time
}

func newPasswordCloud(t *testing.T) *passwordCloud {
	t.Helper()
	pc := &passwordCloud{valid: map[string]bool{}, expires: time.Now().Add(time.Hour)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Auth struct {
				Identity struct {
					Password struct {
						User struct {
							Password string `json:"password"`
						} `json:"user"`
					} `json:"password"`
				} `json:"identity"`
			} `json:"auth"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		if body.Auth.Identity.Password.User.Password != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":{"code":401}}`)
			return
		}
		n := pc.logins.Add(1)
		tok := fmt.Sprintf("tok-%d", n)
		pc.mu.Lock()
		pc.valid[tok] = true
		exp := pc.expires
		pc.mu.Unlock()
		w.Header().Set("X-Subject-Token", tok)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":{"expires_at":%q,"project":{"id":"p1","name":"demo","domain":{"id":"default"}},
			"catalog":[{"type":"network","name":"neutron","endpoints":[{"interface":"public","region":"RegionOne","url":%q}]}]}}`,
			exp.UTC().Format(time.RFC3339), pc.srv.URL+"/")
	})
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			pc.mu.Lock()
			ok := pc.valid[r.Header.Get("X-Auth-Token")]
			pc.mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /v2.0/extensions", auth(func(w http.ResponseWriter, r *http.Request) {
		pc.extReqs.Add(1)
		fmt.Fprint(w, `{"extensions":[{"alias":"trunk"},{"alias":"binding"}]}`)
	}))
	mux.HandleFunc("GET /v2.0/networks", auth(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"networks":[{"id":"n1","name":"LS1"}]}`)
	}))
	mux.HandleFunc("GET /v2.0/subnets", auth(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"subnets":[]}`)
	}))
	pc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(pc.srv.Close)
	return pc
}

func (pc *passwordCloud) revokeAll() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	clear(pc.valid)
}

func (pc *passwordCloud) env(password string) func(string) string {
	return env(map[string]string{"OS_AUTH_URL": pc.srv.URL + "/v3", "OS_USERNAME": "demo", "OS_PASSWORD": password, "OS_PROJECT_NAME": "demo"})
}

// The second command uses the first one's token and catalog (no Keystone
// request), the files are the user's only and do not name the secret; a
// token Neutron refuses is replaced once; another password does not use
// the entry; an entry about to expire is not used.
func TestAuthCache(t *testing.T) {
	pc := newPasswordCloud(t)
	dir := filepath.Join(t.TempDir(), "cache")
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	connect := func(password string) (*Client, error) {
		return Connect(ctx, Options{Getenv: pc.env(password), CacheDir: dir}, log)
	}
	c, err := connect("secret")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.HasExtension(ctx, ExtTrunk); !ok || err != nil {
		t.Fatalf("HasExtension(trunk) = %v, %v", ok, err)
	}
	c2, err := connect("secret")
	if err != nil {
		t.Fatal(err)
	}
	if n := pc.logins.Load(); n != 1 {
		t.Errorf("%d logins for two commands, want 1", n)
	}
	if c2.ProjectID() != "p1" || c2.NetworkURL() != pc.srv.URL+"/" {
		t.Errorf("cached client: project %q, network %q", c2.ProjectID(), c2.NetworkURL())
	}
	// The extensions come from the cache too.
	if ok, err := c2.HasExtension(ctx, ExtTrunk); !ok || err != nil || pc.extReqs.Load() != 1 {
		t.Errorf("cached HasExtension(trunk) = %v, %v after %d requests", ok, err, pc.extReqs.Load())
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir: %v %v", fi.Mode(), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("cache files %v", files)
	}
	fi, _ = os.Stat(files[0])
	b, _ := os.ReadFile(files[0])
	if fi.Mode().Perm() != 0o600 || strings.Contains(files[0], "secret") || strings.Contains(string(b), "secret") {
		t.Errorf("cache file %s mode %v: %s", files[0], fi.Mode(), b)
	}

	pc.revokeAll()
	if _, err := c2.FindNetwork(ctx, "LS1"); err != nil {
		t.Fatalf("after the token was revoked: %v", err)
	}
	if n := pc.logins.Load(); n != 2 {
		t.Errorf("%d logins after a 401, want 2", n)
	}
	if _, err := connect("secret"); err != nil || pc.logins.Load() != 2 {
		t.Errorf("the renewed token was not cached: %v, %d logins", err, pc.logins.Load())
	}

	if _, err := connect("wrong"); err == nil {
		t.Error("a wrong password was accepted through the cache")
	}

	pc.mu.Lock()
	pc.expires = time.Now().Add(time.Minute) // within the margin
	pc.mu.Unlock()
	os.RemoveAll(dir)
	connect("secret")
	connect("secret")
	if n := pc.logins.Load(); n != 4 {
		t.Errorf("%d logins, want 4: a token about to expire must not be reused", n)
	}
}

// A cache directory someone else could enter is not used.
func TestAuthCacheRefusesOpenDir(t *testing.T) {
	pc := newPasswordCloud(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := Connect(context.Background(), Options{Getenv: pc.env("secret"), CacheDir: dir}, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
	}
	if n := pc.logins.Load(); n != 2 {
		t.Errorf("%d logins, want 2 (no cache in a 0755 directory)", n)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("wrote %v", files)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	if got := DefaultCacheDir(env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"})); got != "/run/user/1000/ovn-docker" {
		t.Errorf("with XDG_RUNTIME_DIR: %q", got)
	}
	if got := DefaultCacheDir(env(map[string]string{"OVN_DOCKER_CACHE_DIR": "off"})); got != "" {
		t.Errorf("off: %q", got)
	}
	if got := DefaultCacheDir(env(nil)); got == "" {
		t.Error("no default")
	}
}
