package keystone

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ids and passwords of the test identity.
const (
	projDemo      = "5f2c0000000000000000000000000001"
	projAdmin     = "5f2c0000000000000000000000000002"
	projOtherDemo = "5f2c0000000000000000000000000003"
	userDemo      = "8a1b0000000000000000000000000001"
	userAdmin     = "8a1b0000000000000000000000000002"
	userOther     = "8a1b0000000000000000000000000003"
	pwDemo        = "demo-secret"
	pwAdmin       = "admin-secret"
	pwOther       = "other-secret"
)

// hashes are computed once: each costs tens of milliseconds.
var testHashes = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, pw := range []string{pwDemo, pwAdmin, pwOther} {
		h, err := HashPasswordIterations(pw, minIterations)
		if err != nil {
			panic(err)
		}
		m[pw] = h
	}
	return m
})

// testIdentityYAML has two domains with a project and a user both named
// "demo" in each, and an admin with roles on two projects.
func testIdentityYAML() string {
	h := testHashes()
	return fmt.Sprintf(`
domains:
  - {id: default, name: Default}
  - {id: other, name: Other}
projects:
  - {id: %[1]s, name: demo, domain_id: default}
  - {id: %[2]s, name: admin, domain_id: default}
  - {id: %[3]s, name: demo, domain_id: other}
users:
  - id: %[4]s
    name: demo
    domain_id: default
    password_hash: "%[7]s"
    roles:
      - {project: demo, role: member}
  - id: %[5]s
    name: admin
    domain_id: default
    password_hash: "%[8]s"
    roles:
      - {project: admin, role: admin}
      - {project: %[1]s, role: member}
  - id: %[6]s
    name: demo
    domain_id: other
    password_hash: %[9]s
    roles:
      - {project: demo, role: member}
`, projDemo, projAdmin, projOtherDemo, userDemo, userAdmin, userOther, h[pwDemo], h[pwAdmin], h[pwOther])
}

func testIdentity(t testing.TB) *Identity {
	t.Helper()
	id, err := ParseIdentity([]byte(testIdentityYAML()))
	if err != nil {
		t.Fatalf("ParseIdentity: %v", err)
	}
	return id
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestService(t testing.TB, mod func(*Config)) *Service {
	t.Helper()
	cfg := Config{Identity: testIdentity(t), SigningKey: testKey}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func passwordBody(userName, domainName, password, projectName string) string {
	b := map[string]any{"auth": map[string]any{
		"identity": map[string]any{
			"methods": []string{"password"},
			"password": map[string]any{"user": map[string]any{
				"name": userName, "domain": map[string]string{"name": domainName}, "password": password,
			}},
		},
	}}
	if projectName != "" {
		b["auth"].(map[string]any)["scope"] = map[string]any{"project": map[string]any{
			"name": projectName, "domain": map[string]string{"name": domainName},
		}}
	}
	out, _ := json.Marshal(b)
	return string(out)
}

// do runs one request against h and returns the recorder.
func do(h http.Handler, method, target, body string, headers map[string]string) *httptest.ResponseRecorder {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// issueToken logs in with a password and fails the test unless it works.
func issueToken(t testing.TB, s *Service, userName, domainName, password, project string) string {
	t.Helper()
	w := do(s.Handler(), "POST", "/v3/auth/tokens?nocatalog", passwordBody(userName, domainName, password, project), nil)
	if w.Code != http.StatusCreated {
		t.Fatalf("issue token for %s: status %d, body %s", userName, w.Code, w.Body)
	}
	tok := w.Header().Get("X-Subject-Token")
	if tok == "" {
		t.Fatal("no X-Subject-Token in response")
	}
	return tok
}

func decodeError(t testing.TB, body *bytes.Buffer) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e
}
