package keystone

import (
	"net/http"
	"testing"
)

func TestRevokeToken(t *testing.T) {
	s := newTestService(t, nil)
	h := s.Handler()
	req := func(method, auth, subject string) int {
		hdr := map[string]string{}
		if auth != "" {
			hdr["X-Auth-Token"] = auth
		}
		if subject != "" {
			hdr["X-Subject-Token"] = subject
		}
		return do(h, method, "/v3/auth/tokens", "", hdr).Code
	}
	demo := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	demo2 := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	other := issueToken(t, s, "demo", "Other", pwOther, "")
	admin := issueToken(t, s, "admin", "Default", pwAdmin, "admin")
	protected := s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))

	steps := []struct {
		name                  string
		method, auth, subject string
		want                  int
	}{
		{"no subject", "DELETE", demo, "", 400},
		{"unauthenticated", "DELETE", "", demo2, 401},
		{"member may not revoke others' tokens", "DELETE", demo, other, 403},
		{"unknown subject", "DELETE", demo, "k1.e30.AAAA", 404},
		{"revoke own other token", "DELETE", demo, demo2, 204},
		{"revoked token no longer validates", "GET", demo, demo2, 404},
		{"HEAD agrees", "HEAD", demo, demo2, 404},
		{"revoked token cannot be revoked again", "DELETE", demo, demo2, 404},
		{"revoked token is not a credential", "GET", demo2, demo, 401},
		{"admin revokes another user's token", "DELETE", admin, other, 204},
		{"the revoked token is gone", "GET", admin, other, 404},
		{"a token revokes itself", "DELETE", demo, demo, 204},
		{"and is refused afterwards", "GET", demo, demo, 401},
	}
	for _, st := range steps {
		if got := req(st.method, st.auth, st.subject); got != st.want {
			t.Fatalf("%s: %s status %d, want %d", st.name, st.method, got, st.want)
		}
	}
	w := do(protected, "GET", "/v2.0/networks", "", map[string]string{"X-Auth-Token": demo})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token on a protected API: %d, want 401", w.Code)
	}
	// A token cannot be renewed from a revoked one.
	w = do(h, "POST", "/v3/auth/tokens", `{"auth": {"identity": {"methods": ["token"], "token": {"id": "`+demo+`"}}}}`, nil)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("token auth with a revoked token: %d, want 401", w.Code)
	}
}
