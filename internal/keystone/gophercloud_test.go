package keystone

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

// newCloud serves the Keystone handler and, behind the middleware, a
// stand-in for Neutron's /v2.0/networks that records who called it.
func newCloud(t *testing.T) (*httptest.Server, *Service, func() []string) {
	t.Helper()
	s := newTestService(t, nil)
	var mu sync.Mutex
	var callers []string
	mux := http.NewServeMux()
	mux.Handle("/v3", s.Handler())
	mux.Handle("/v3/", s.Handler())
	// gophercloud's NewNetworkV2 discovers versions at the unversioned
	// network endpoint, as Neutron serves it (without authentication).
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": "http://` + r.Host + `/v2.0/"}]}]}`))
	})
	mux.Handle("/v2.0/", s.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		mu.Lock()
		callers = append(callers, p.UserID+"@"+p.ProjectID)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"networks": []any{}})
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, s, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), callers...)
	}
}

func TestGophercloud(t *testing.T) {
	srv, _, _ := newCloud(t)
	ctx := context.Background()
	endpoint := srv.URL + "/v3"

	// A token to start token-auth cases from.
	adminProvider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: endpoint, Username: "admin", Password: pwAdmin, DomainName: "Default", TenantName: "admin",
	})
	if err != nil {
		t.Fatalf("admin login: %v", err)
	}
	adminToken := adminProvider.Token()

	tests := []struct {
		name        string
		opts        gophercloud.AuthOptions
		wantUser    string
		wantProject string
		wantRoles   []string
	}{
		{
			name:     "user and project by name and domain name",
			opts:     gophercloud.AuthOptions{Username: "demo", Password: pwDemo, DomainName: "Default", TenantName: "demo", AllowReauth: true},
			wantUser: userDemo, wantProject: projDemo, wantRoles: []string{"member"},
		},
		{
			name:     "user and project by id",
			opts:     gophercloud.AuthOptions{UserID: userAdmin, Password: pwAdmin, TenantID: projDemo},
			wantUser: userAdmin, wantProject: projDemo, wantRoles: []string{"member"},
		},
		{
			name:     "domain id and explicit scope",
			opts:     gophercloud.AuthOptions{Username: "demo", Password: pwOther, DomainID: "other", Scope: &gophercloud.AuthScope{ProjectName: "demo", DomainName: "Other"}},
			wantUser: userOther, wantProject: projOtherDemo, wantRoles: []string{"member"},
		},
		{
			name:     "unscoped request gets the only project",
			opts:     gophercloud.AuthOptions{Username: "demo", Password: pwDemo, DomainName: "Default"},
			wantUser: userDemo, wantProject: projDemo, wantRoles: []string{"member"},
		},
		{
			name:     "token rescoped",
			opts:     gophercloud.AuthOptions{TokenID: adminToken, Scope: &gophercloud.AuthScope{ProjectID: projDemo}},
			wantUser: userAdmin, wantProject: projDemo, wantRoles: []string{"member"},
		},
		{
			name:     "token passed through (validated with GET)",
			opts:     gophercloud.AuthOptions{TokenID: adminToken},
			wantUser: userAdmin, wantProject: projAdmin, wantRoles: []string{"admin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.IdentityEndpoint = endpoint
			provider, err := openstack.AuthenticatedClient(ctx, tt.opts)
			if err != nil {
				t.Fatalf("AuthenticatedClient: %v", err)
			}
			if provider.Token() == "" {
				t.Fatal("no token")
			}
			var user *tokens.User
			var project *tokens.Project
			var roles []tokens.Role
			switch r := provider.GetAuthResult().(type) {
			case tokens.CreateResult:
				user, _ = r.ExtractUser()
				project, _ = r.ExtractProject()
				roles, _ = r.ExtractRoles()
			case tokens.GetResult:
				user, _ = r.ExtractUser()
				project, _ = r.ExtractProject()
				roles, _ = r.ExtractRoles()
			default:
				t.Fatalf("auth result of type %T", r)
			}
			if user == nil || project == nil {
				t.Fatal("auth result has no user or project")
			}
			var roleNames []string
			for _, r := range roles {
				roleNames = append(roleNames, r.Name)
			}
			got := []any{user.ID, project.ID, roleNames}
			if diff := cmp.Diff([]any{tt.wantUser, tt.wantProject, tt.wantRoles}, got); diff != "" {
				t.Errorf("user, project, roles (-want +got):\n%s", diff)
			}

			network, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{})
			if err != nil {
				t.Fatalf("NewNetworkV2: %v", err)
			}
			if got, want := network.Endpoint+" "+network.ResourceBase, srv.URL+"/ "+srv.URL+"/v2.0/"; got != want {
				t.Errorf("network endpoint and resource base %q, want %q", got, want)
			}
			identity, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{Availability: gophercloud.AvailabilityInternal})
			if err != nil {
				t.Fatalf("NewIdentityV3 from the catalog: %v", err)
			}
			if want := srv.URL + "/v3/"; identity.Endpoint != want {
				t.Errorf("identity endpoint %q, want %q", identity.Endpoint, want)
			}
			var body map[string]any
			if _, err := network.Get(ctx, network.ServiceURL("networks"), &body, nil); err != nil {
				t.Fatalf("GET networks with the token: %v", err)
			}
		})
	}
}

func TestGophercloudRefused(t *testing.T) {
	srv, _, callers := newCloud(t)
	ctx := context.Background()
	for _, opts := range []gophercloud.AuthOptions{
		{Username: "demo", Password: "wrong", DomainName: "Default", TenantName: "demo"},
		{Username: "demo", Password: pwDemo, DomainName: "Default", TenantName: "admin"},
		{TokenID: "k1.junk.junk"},
	} {
		opts.IdentityEndpoint = srv.URL + "/v3"
		_, err := openstack.AuthenticatedClient(ctx, opts)
		if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
			t.Errorf("AuthenticatedClient(user %q, project %q): err = %v; want 401", opts.Username, opts.TenantName, err)
		}
	}
	if got := callers(); len(got) != 0 {
		t.Errorf("networks were reached by %v", got)
	}
}

// Reauthentication: when the network API answers 401 (token expired or
// replaced), gophercloud logs in again and retries.
func TestGophercloudNetworkCalls(t *testing.T) {
	srv, _, callers := newCloud(t)
	ctx := context.Background()
	provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: srv.URL + "/v3", Username: "demo", Password: pwDemo, DomainName: "Default", TenantName: "demo", AllowReauth: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	network, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	provider.SetToken("k1.stale.token")
	var body map[string]any
	if _, err := network.Get(ctx, network.ServiceURL("networks"), &body, nil); err != nil {
		t.Fatalf("GET networks after reauth: %v", err)
	}
	if diff := cmp.Diff([]string{userDemo + "@" + projDemo}, callers()); diff != "" {
		t.Errorf("callers (-want +got):\n%s", diff)
	}
}
