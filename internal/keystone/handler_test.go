package keystone

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIssueErrors(t *testing.T) {
	s := newTestService(t, nil)
	user := func(fields string) string {
		return `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + fields + `}}}}}`
	}
	const demoUser = `"name": "demo", "domain": {"name": "Default"}, "password": "demo-secret"`
	tests := []struct {
		name, body string
		wantCode   int
		wantMsg    string // substring of error.message
	}{
		{"not json", "{", 400, "not valid JSON"},
		{"no auth", `{}`, 400, "auth.identity"},
		{"no methods", `{"auth": {"identity": {}}}`, 400, "exactly one method"},
		{"two methods", `{"auth": {"identity": {"methods": ["password", "token"]}}}`, 400, "exactly one method"},
		{"no password section", `{"auth": {"identity": {"methods": ["password"]}}}`, 400, "password.user"},
		{"no password", user(`"name": "demo", "domain": {"name": "Default"}`), 400, "user.password"},
		{"no user id or name", user(`"password": "x"`), 400, "id or a name"},
		{"name without domain", user(`"name": "demo", "password": "x"`), 400, "needs a domain"},
		{"no token id", `{"auth": {"identity": {"methods": ["token"], "token": {}}}}`, 400, "token.id"},
		{"scope not object", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + demoUser + `}}}, "scope": 7}}`, 400, "auth.scope"},
		{"project without id or name", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + demoUser + `}}}, "scope": {"project": {}}}}`, 400, "id or a name"},
		{"project name without domain", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + demoUser + `}}}, "scope": {"project": {"name": "demo"}}}}`, 400, "needs a domain"},
		{"wrong password", user(`"name": "demo", "domain": {"name": "Default"}, "password": "wrong"`), 401, unauthorizedMessage},
		{"unknown user", user(`"name": "nobody", "domain": {"name": "Default"}, "password": "demo-secret"`), 401, unauthorizedMessage},
		{"unknown user id", user(`"id": "nobody", "password": "demo-secret"`), 401, unauthorizedMessage},
		{"unknown domain", user(`"name": "demo", "domain": {"name": "Nope"}, "password": "demo-secret"`), 401, unauthorizedMessage},
		{"password of a namesake", user(`"name": "demo", "domain": {"name": "Other"}, "password": "demo-secret"`), 401, unauthorizedMessage},
		{"project without role", passwordBody("demo", "Default", pwDemo, "admin"), 401, unauthorizedMessage},
		{"unknown project", passwordBody("demo", "Default", pwDemo, "nope"), 401, unauthorizedMessage},
		{"unscoped with two projects", passwordBody("admin", "Default", pwAdmin, ""), 401, unauthorizedMessage},
		{"domain scope", `{"auth": {"identity": {"methods": ["password"], "password": {"user": {` + demoUser + `}}}, "scope": {"domain": {"id": "default"}}}}`, 401, unauthorizedMessage},
		{"unsupported method", `{"auth": {"identity": {"methods": ["totp"], "totp": {}}}}`, 401, unauthorizedMessage},
		{"bad token", `{"auth": {"identity": {"methods": ["token"], "token": {"id": "k1.e30.AAAA"}}}}`, 401, unauthorizedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s.Handler(), "POST", "/v3/auth/tokens", tt.body, nil)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantCode, w.Body)
			}
			if got := w.Header().Get("X-Subject-Token"); got != "" {
				t.Errorf("error response carries a token")
			}
			e := decodeError(t, w.Body)
			if strings.HasPrefix(e.Error.Message, "bad request") {
				t.Errorf("message %q leaks the internal error prefix", e.Error.Message)
			}
			if e.Error.Code != tt.wantCode || e.Error.Title != http.StatusText(tt.wantCode) || !strings.Contains(e.Error.Message, tt.wantMsg) {
				t.Errorf("error body %+v; want code %d, title %q, message containing %q", e.Error, tt.wantCode, http.StatusText(tt.wantCode), tt.wantMsg)
			}
		})
	}
}

// tokenResponse mirrors the parts of the Keystone token document tests look at.
type tokenResponse struct {
	Token struct {
		Methods []string `json:"methods"`
		User    namedRef `json:"user"`
		Project namedRef `json:"project"`
		Roles   []struct {
			Name string `json:"name"`
		} `json:"roles"`
		IssuedAt  string         `json:"issued_at"`
		ExpiresAt string         `json:"expires_at"`
		Catalog   []catalogEntry `json:"catalog"`
	} `json:"token"`
}

func decodeToken(t *testing.T, body []byte) tokenResponse {
	t.Helper()
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("token body %s: %v", body, err)
	}
	return tr
}

func TestIssueDocument(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)}
	s := newTestService(t, func(c *Config) { c.Now = clock.Now })
	tests := []struct {
		name, target, body string
		wantUser           namedRef
		wantProject        namedRef
		wantRoles          []string
		wantCatalog        bool
	}{
		{
			name: "by names, unscoped picks the only project", target: "/v3/auth/tokens",
			body:        passwordBody("demo", "Other", pwOther, ""),
			wantUser:    namedRef{ID: userOther, Name: "demo", Domain: domainRef{ID: "other", Name: "Other"}},
			wantProject: namedRef{ID: projOtherDemo, Name: "demo", Domain: domainRef{ID: "other", Name: "Other"}},
			wantRoles:   []string{"member"}, wantCatalog: true,
		},
		{
			name: "by ids, nocatalog", target: "/v3/auth/tokens?nocatalog",
			body:        `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": "` + userAdmin + `", "password": "` + pwAdmin + `"}}}, "scope": {"project": {"id": "` + projAdmin + `"}}}}`,
			wantUser:    namedRef{ID: userAdmin, Name: "admin", Domain: domainRef{ID: "default", Name: "Default"}},
			wantProject: namedRef{ID: projAdmin, Name: "admin", Domain: domainRef{ID: "default", Name: "Default"}},
			wantRoles:   []string{"admin"},
		},
		{
			name: "domain by id, project by name", target: "/v3/auth/tokens",
			body:        `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "` + pwAdmin + `"}}}, "scope": {"project": {"name": "demo", "domain": {"id": "default"}}}}}`,
			wantUser:    namedRef{ID: userAdmin, Name: "admin", Domain: domainRef{ID: "default", Name: "Default"}},
			wantProject: namedRef{ID: projDemo, Name: "demo", Domain: domainRef{ID: "default", Name: "Default"}},
			wantRoles:   []string{"member"}, wantCatalog: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s.Handler(), "POST", tt.target, tt.body, nil)
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tr := decodeToken(t, w.Body.Bytes())
			tok := tr.Token
			if diff := cmp.Diff(tt.wantUser, tok.User); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantProject, tok.Project); diff != "" {
				t.Errorf("project (-want +got):\n%s", diff)
			}
			var roles []string
			for _, r := range tok.Roles {
				roles = append(roles, r.Name)
			}
			if diff := cmp.Diff(tt.wantRoles, roles); diff != "" {
				t.Errorf("roles (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"password"}, tok.Methods); diff != "" {
				t.Errorf("methods (-want +got):\n%s", diff)
			}
			if tok.IssuedAt != "2026-11-27T05:00:00.000000Z" || tok.ExpiresAt != "2026-11-27T06:00:00.000000Z" {
				t.Errorf("issued_at %q expires_at %q; want Keystone format, 1h apart", tok.IssuedAt, tok.ExpiresAt)
			}
			if got := len(tok.Catalog) > 0; got != tt.wantCatalog {
				t.Errorf("catalog present = %v, want %v", got, tt.wantCatalog)
			}
			if strings.Contains(w.Body.String(), w.Header().Get("X-Subject-Token")) {
				t.Error("body contains the token")
			}
		})
	}
}

func TestCatalog(t *testing.T) {
	tests := []struct {
		name, publicURL, host, wantBase string
	}{
		{"from request", "", "10.0.0.5:9696", "http://10.0.0.5:9696"},
		{"configured", "http://169.254.169.1:9696/", "ignored:1", "http://169.254.169.1:9696"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestService(t, func(c *Config) { c.PublicURL = tt.publicURL })
			w := do(s.Handler(), "POST", "/v3/auth/tokens", passwordBody("demo", "Default", pwDemo, "demo"), map[string]string{"Host": tt.host})
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			type ep struct{ Type, Interface, Region, URL string }
			var got []ep
			for _, e := range decodeToken(t, w.Body.Bytes()).Token.Catalog {
				for _, x := range e.Endpoints {
					got = append(got, ep{e.Type, x.Interface, x.RegionID, x.URL})
				}
			}
			b := tt.wantBase
			want := []ep{
				{"network", "public", "RegionOne", b}, {"network", "internal", "RegionOne", b}, {"network", "admin", "RegionOne", b},
				{"identity", "public", "RegionOne", b + "/v3"}, {"identity", "internal", "RegionOne", b + "/v3"}, {"identity", "admin", "RegionOne", b + "/v3"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("catalog (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRescopeWithToken(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)}
	s := newTestService(t, func(c *Config) { c.Now = clock.Now })
	adminTok := issueToken(t, s, "admin", "Default", pwAdmin, "admin")
	clock.Advance(40 * time.Minute)

	tokenBody := func(tok, scope string) string {
		b := `{"auth": {"identity": {"methods": ["token"], "token": {"id": "` + tok + `"}}`
		if scope != "" {
			b += `, "scope": ` + scope
		}
		return b + `}}`
	}
	tests := []struct {
		name, body  string
		wantCode    int
		wantProject string
	}{
		{"same project", tokenBody(adminTok, ""), 201, projAdmin},
		{"explicitly unscoped keeps project", tokenBody(adminTok, `"unscoped"`), 201, projAdmin},
		{"other project by id", tokenBody(adminTok, `{"project": {"id": "`+projDemo+`"}}`), 201, projDemo},
		{"other project by name", tokenBody(adminTok, `{"project": {"name": "demo", "domain": {"name": "Default"}}}`), 201, projDemo},
		{"project without role", tokenBody(adminTok, `{"project": {"id": "`+projOtherDemo+`"}}`), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(s.Handler(), "POST", "/v3/auth/tokens?nocatalog", tt.body, nil)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantCode, w.Body)
			}
			if tt.wantCode != 201 {
				return
			}
			tok := decodeToken(t, w.Body.Bytes()).Token
			if tok.Project.ID != tt.wantProject {
				t.Errorf("project %q, want %q", tok.Project.ID, tt.wantProject)
			}
			// Issued 40 minutes after a 1h token: capped at the original expiry.
			if tok.ExpiresAt != "2026-11-27T06:00:00.000000Z" {
				t.Errorf("expires_at %q; want the original token's expiry", tok.ExpiresAt)
			}
			if diff := cmp.Diff([]string{"password", "token"}, tok.Methods); diff != "" {
				t.Errorf("methods (-want +got):\n%s", diff)
			}
			p, err := s.Authenticate(authRequestWith(w.Header().Get("X-Subject-Token")))
			if err != nil || p.ProjectID != tt.wantProject || p.UserID != userAdmin {
				t.Errorf("Authenticate(new token) = %+v, %v", p, err)
			}
		})
	}

	clock.Advance(20 * time.Minute)
	if w := do(s.Handler(), "POST", "/v3/auth/tokens", tokenBody(adminTok, ""), nil); w.Code != http.StatusUnauthorized {
		t.Errorf("rescoping an expired token: status %d, want 401", w.Code)
	}
}

func TestValidateEndpoint(t *testing.T) {
	s := newTestService(t, nil)
	demo := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	demo2 := issueToken(t, s, "demo", "Default", pwDemo, "demo")
	admin := issueToken(t, s, "admin", "Default", pwAdmin, "admin")
	other := issueToken(t, s, "demo", "Other", pwOther, "")
	if demo == demo2 {
		t.Error("two tokens for the same user and project are equal; the nonce is missing")
	}
	tests := []struct {
		name, method, auth, subject string
		wantCode                    int
		wantUser                    string
	}{
		{"own token", "GET", demo, demo, 200, userDemo},
		{"own other token", "GET", demo, demo2, 200, userDemo},
		{"head", "HEAD", demo, demo, 200, ""},
		{"admin validates others", "GET", admin, other, 200, userOther},
		{"member may not validate others", "GET", demo, other, 403, ""},
		{"no caller token", "GET", "", demo, 401, ""},
		{"bad caller token", "GET", "junk", demo, 401, ""},
		{"no subject", "GET", demo, "", 400, ""},
		{"bad subject", "GET", admin, "junk", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.auth != "" {
				h["X-Auth-Token"] = tt.auth
			}
			if tt.subject != "" {
				h["X-Subject-Token"] = tt.subject
			}
			w := do(s.Handler(), tt.method, "/v3/auth/tokens", "", h)
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.wantCode, w.Body)
			}
			switch {
			case tt.wantUser != "":
				if got := w.Header().Get("X-Subject-Token"); got != tt.subject {
					t.Error("X-Subject-Token not echoed")
				}
				if got := decodeToken(t, w.Body.Bytes()).Token.User.ID; got != tt.wantUser {
					t.Errorf("user %q, want %q", got, tt.wantUser)
				}
			case tt.wantCode >= 400:
				if e := decodeError(t, w.Body); e.Error.Code != tt.wantCode {
					t.Errorf("error body code %d, want %d", e.Error.Code, tt.wantCode)
				}
			}
		})
	}
}

func TestVersionAndRouting(t *testing.T) {
	s := newTestService(t, func(c *Config) { c.PublicURL = "http://169.254.169.1:9696" })
	for _, path := range []string{"/v3", "/v3/"} {
		w := do(s.Handler(), "GET", path, "", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, w.Code)
		}
		var v versionBody
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		want := versionDoc{
			ID: "v3.14", Status: "stable", Updated: "2020-04-07T00:00:00Z",
			Links:      []link{{Rel: "self", Href: "http://169.254.169.1:9696/v3/"}},
			MediaTypes: []mediaType{{Base: "application/json", Type: "application/vnd.openstack.identity-v3+json"}},
		}
		if diff := cmp.Diff(want, v.Version); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
	for _, tt := range []struct {
		method, path string
		wantCode     int
	}{
		{"PUT", "/v3/auth/tokens", 405},
		{"GET", "/v3/users", 404},
		{"GET", "/v3/auth", 404},
	} {
		w := do(s.Handler(), tt.method, tt.path, "", nil)
		if w.Code != tt.wantCode {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, w.Code, tt.wantCode)
		}
	}
}
