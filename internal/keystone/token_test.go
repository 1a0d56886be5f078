package keystone

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func authRequestWith(token string) *http.Request {
	r := httptest.NewRequest("GET", "/v2.0/networks", nil)
	if token != "" {
		r.Header.Set("X-Auth-Token", token)
	}
	return r
}

func TestIssueAndAuthenticate(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 5, 0, 0, 123456789, time.UTC)}
	s := newTestService(t, func(c *Config) { c.Now = clock.Now; c.TokenTTL = 30 * time.Minute })
	tok := issueToken(t, s, "admin", "Default", pwAdmin, "admin")
	if strings.ContainsAny(tok, "+/=") || strings.Contains(tok, pwAdmin) {
		t.Errorf("token %q is not URL-safe or contains the password", tok)
	}
	p, err := s.Authenticate(authRequestWith(tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := Principal{
		UserID: userAdmin, UserName: "admin", UserDomainID: "default",
		ProjectID: projAdmin, ProjectName: "admin", ProjectDomainID: "default",
		Roles:     []string{"admin"},
		ExpiresAt: time.Date(2026, 11, 27, 5, 30, 0, 123456000, time.UTC),
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("principal mismatch (-want +got):\n%s", diff)
	}
	if !p.IsAdmin() {
		t.Error("IsAdmin() = false for the admin role")
	}

	clock.Advance(30*time.Minute - time.Microsecond)
	if _, err := s.Authenticate(authRequestWith(tok)); err != nil {
		t.Errorf("Authenticate just before expiry: %v", err)
	}
	clock.Advance(time.Microsecond)
	_, err = s.Authenticate(authRequestWith(tok))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Authenticate at expiry: err = %v; want ErrUnauthorized (expired)", err)
	}
}

func TestAuthenticateRejects(t *testing.T) {
	s := newTestService(t, nil)
	tok := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	version, rest, _ := strings.Cut(tok, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	// Claim the admin project with the original signature.
	forged := strings.Replace(string(raw), projDemo, projAdmin, 1)
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, token, reason string
	}{
		{"missing", "", "no token"},
		{"garbage", "not-a-token", "malformed"},
		{"wrong version", "k0." + rest, "malformed"},
		{"too long", tok + strings.Repeat("A", maxTokenLen), "malformed"},
		{"flipped payload", version + "." + flip(payload) + "." + sig, "bad token signature"},
		{"flipped signature", version + "." + payload + "." + flip(sig), "bad token signature"},
		{"forged project", version + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig, "bad token signature"},
		{"signature not base64", version + "." + payload + ".***", "malformed"},
		{"no signature", version + "." + payload, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Authenticate(authRequestWith(tt.token))
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v; want ErrUnauthorized with %q", err, tt.reason)
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error quotes the token")
			}
		})
	}
}

func TestTokensAcrossServices(t *testing.T) {
	a := newTestService(t, nil)
	tok := issueToken(t, a, "demo", "Default", pwDemo, "demo")

	sameKey := newTestService(t, nil)
	if _, err := sameKey.Authenticate(authRequestWith(tok)); err != nil {
		t.Errorf("service with the same key refused the token: %v", err)
	}
	otherKey := newTestService(t, func(c *Config) { c.SigningKey = []byte(strings.Repeat("k", 32)) })
	if _, err := otherKey.Authenticate(authRequestWith(tok)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("service with another key: err = %v; want ErrUnauthorized", err)
	}
}

// Validation follows the identity as it is now, not as it was at issue.
func TestAuthenticateFollowsIdentity(t *testing.T) {
	s := newTestService(t, nil)
	demoTok := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	adminTok := issueToken(t, s, "admin", "Default", pwAdmin, "demo")
	h := testHashes()
	tests := []struct {
		name, yaml, token, reason string
	}{
		{"user removed", `
domains: [{id: default, name: Default}]
projects: [{id: ` + projDemo + `, name: demo, domain_id: default}]
users: [{id: ` + userAdmin + `, name: admin, domain_id: default, password_hash: ` + h[pwAdmin] + `, roles: [{project: demo, role: member}]}]
`, demoTok, "unknown user"},
		{"project removed", `
domains: [{id: default, name: Default}]
projects: [{id: other, name: demo, domain_id: default}]
users: [{id: ` + userDemo + `, name: demo, domain_id: default, password_hash: ` + h[pwDemo] + `, roles: [{project: demo, role: member}]}]
`, demoTok, "unknown project"},
		{"role removed", `
domains: [{id: default, name: Default}]
projects: [{id: ` + projDemo + `, name: demo, domain_id: default}]
users: [{id: ` + userDemo + `, name: demo, domain_id: default, password_hash: ` + h[pwDemo] + `}]
`, demoTok, "no role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseIdentity([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			s2, err := New(Config{Identity: id, SigningKey: testKey})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s2.Authenticate(authRequestWith(tt.token))
			if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v; want ErrUnauthorized with %q", err, tt.reason)
			}
		})
	}

	t.Run("role upgraded", func(t *testing.T) {
		id, err := ParseIdentity([]byte(`
domains: [{id: default, name: Default}]
projects: [{id: ` + projDemo + `, name: demo, domain_id: default}]
users: [{id: ` + userAdmin + `, name: admin, domain_id: default, password_hash: ` + h[pwAdmin] + `, roles: [{project: demo, role: admin}, {project: demo, role: member}]}]
`))
		if err != nil {
			t.Fatal(err)
		}
		s2, err := New(Config{Identity: id, SigningKey: testKey})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s2.Authenticate(authRequestWith(adminTok))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"admin", "member"}, p.Roles); diff != "" {
			t.Errorf("roles (-want +got):\n%s", diff)
		}
	})
}

func TestNewRejects(t *testing.T) {
	id := testIdentity(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no identity", Config{SigningKey: testKey}, "Identity is required"},
		{"short key", Config{Identity: id, SigningKey: []byte("short")}, "signing key is 5 bytes"},
		{"negative ttl", Config{Identity: id, SigningKey: testKey, TokenTTL: -time.Second}, "negative"},
		{"relative url", Config{Identity: id, SigningKey: testKey, PublicURL: "169.254.169.1:9696"}, "public URL"},
		{"ftp url", Config{Identity: id, SigningKey: testKey, PublicURL: "ftp://x"}, "public URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New error = %v; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadSigningKey(t *testing.T) {
	dir := t.TempDir()
	hexKey := strings.Repeat("ab", 32)
	tests := []struct {
		name, content string
		want          string
		wantErr       bool
	}{
		{"hex with newline", hexKey + "\n", hexKey, false},
		{"raw 32 bytes", strings.Repeat("\x01", 32), strings.Repeat("\x01", 32), false},
		{"too short", "short-secret-value\n", "", true},
		{"empty", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadSigningKey(path)
			if tt.wantErr {
				if err == nil {
					t.Fatal("succeeded; want error")
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the path", err)
				}
				if tt.content != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.content)) {
					t.Errorf("error %q reveals the key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("key = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := LoadSigningKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: err = %v; want one naming the path", err)
	}
}

// Tokens are issued and checked from many goroutines at once, as an HTTP
// server does.
func TestConcurrentIssueAndValidate(t *testing.T) {
	s := newTestService(t, nil)
	h := s.Handler()
	body := passwordBody("demo", "Default", pwDemo, "demo")
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			w := do(h, "POST", "/v3/auth/tokens?nocatalog", body, nil)
			if w.Code != 201 {
				errs <- fmt.Errorf("issue: status %d", w.Code)
				return
			}
			_, err := s.Authenticate(authRequestWith(w.Header().Get("X-Subject-Token")))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
