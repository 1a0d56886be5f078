package keystone

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	s := newTestService(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	demo := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	var seen []Principal
	h := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := PrincipalFrom(r.Context())
		if !ok {
			t.Error("no principal in context")
		}
		seen = append(seen, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name, token string
		wantCode    int
	}{
		{"valid", demo, 204},
		{"missing", "", 401},
		{"garbage", "garbage-token", 401},
		{"tampered", demo[:len(demo)-2] + "xx", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			hdr := map[string]string{}
			if tt.token != "" {
				hdr["X-Auth-Token"] = tt.token
			}
			w := do(h, "GET", "/v2.0/networks", "", hdr)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			if tt.wantCode == 204 {
				want := []Principal{{UserID: userDemo, UserName: "demo", UserDomainID: "default",
					ProjectID: projDemo, ProjectName: "demo", ProjectDomainID: "default", Roles: []string{"member"}}}
				if diff := cmp.Diff(want, seen, cmpopts.IgnoreFields(Principal{}, "ExpiresAt")); diff != "" {
					t.Errorf("principal (-want +got):\n%s", diff)
				}
				return
			}
			if len(seen) != 0 {
				t.Error("next handler ran for an unauthenticated request")
			}
			e := decodeError(t, w.Body)
			if diff := cmp.Diff(errorDetail{Code: 401, Title: "Unauthorized", Message: unauthorizedMessage}, e.Error); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Keystone uri=") {
				t.Errorf("WWW-Authenticate %q", got)
			}
		})
	}
	if strings.Contains(logs.String(), demo[10:40]) || strings.Contains(logs.String(), "garbage-token") {
		t.Errorf("logs contain a token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "request refused") {
		t.Errorf("refusals are not logged:\n%s", logs.String())
	}
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom(empty context) found a principal")
	}
	want := Principal{UserID: "u", ProjectID: "p", Roles: []string{"admin"}}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), want))
	if !ok {
		t.Fatal("principal not found")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		roles []string
		want  bool
	}{{nil, false}, {[]string{"member"}, false}, {[]string{"admin", "member"}, true}} {
		if got := (Principal{Roles: tt.roles}).IsAdmin(); got != tt.want {
			t.Errorf("IsAdmin(%v) = %v, want %v", tt.roles, got, tt.want)
		}
	}
}

// Passwords must never reach the logs, whatever the outcome.
func TestNoSecretsInLogs(t *testing.T) {
	var logs bytes.Buffer
	s := newTestService(t, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	for _, body := range []string{
		passwordBody("demo", "Default", pwDemo, "demo"),
		passwordBody("demo", "Default", "wrong-pass-123", "demo"),
		passwordBody("nobody", "Default", "wrong-pass-456", ""),
	} {
		w := do(s.Handler(), "POST", "/v3/auth/tokens", body, nil)
		if tok := w.Header().Get("X-Subject-Token"); tok != "" && strings.Contains(logs.String(), tok) {
			t.Error("logs contain an issued token")
		}
	}
	for _, secret := range []string{pwDemo, "wrong-pass-123", "wrong-pass-456"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain password %q:\n%s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "token issued") || !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("issue and failure are not logged:\n%s", logs.String())
	}
}
