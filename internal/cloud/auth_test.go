package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeCloud is a Keystone v3 (token validation only) and Neutron (network
// list) on one listener, enough to test authentication and error mapping.
func fakeCloud(t *testing.T, goodToken string) *httptest.Server {
	return fakeCloudAt(t, goodToken, "")
}

// fakeCloudAt is fakeCloud whose catalog names networkURL (default: itself).
func fakeCloudAt(t *testing.T, goodToken, networkURL string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/auth/tokens", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Subject-Token") != goodToken || r.Header.Get("X-Auth-Token") != goodToken {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"code":404,"message":"token not found"}}`)
			return
		}
		w.Header().Set("X-Subject-Token", goodToken)
		netURL := networkURL
		if netURL == "" {
			netURL = srv.URL + "/"
		}
		fmt.Fprintf(w, `{"token":{"expires_at":"2099-01-01T00:00:00.000000Z","project":{"id":"p1","name":"demo","domain":{"id":"default"}},
			"catalog":[{"type":"network","name":"neutron","endpoints":[{"interface":"public","region":"RegionOne","url":%q}]}]}}`, netURL)
	})
	mux.HandleFunc("GET /v2.0/networks", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") != goodToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"networks":[{"id":"n1","name":"LS1","status":"ACTIVE","mtu":1442,"project_id":"p1"}]}`)
	})
	mux.HandleFunc("GET /v2.0/subnets", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"subnets":[{"id":"s1","network_id":"n1","cidr":"10.1.0.0/24","gateway_ip":"10.1.0.1","ip_version":4}]}`)
	})
	mux.HandleFunc("DELETE /v2.0/networks/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"NeutronError":{"type":"NetworkInUse","message":"Unable to complete operation on network n1. There are one or more ports still in use on the network.","detail":""}}`)
	})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConnectWithToken(t *testing.T) {
	srv := fakeCloud(t, "good")
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	getenv := env(map[string]string{"OS_AUTH_URL": srv.URL + "/v3"})

	c, err := Connect(ctx, Options{Token: "good", Getenv: getenv}, log)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProjectID() != "p1" {
		t.Errorf("project %q", c.ProjectID())
	}
	n, err := c.FindNetwork(ctx, "LS1")
	if err != nil || n.ID != "n1" || n.MTU != 1442 || len(n.Subnets) != 1 || n.Subnets[0].Gateway.String() != "10.1.0.1" {
		t.Fatalf("FindNetwork: %+v %v", n, err)
	}
	if _, err := c.FindNetwork(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
	err = c.DeleteNetwork(ctx, "n1")
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "ports still in use") {
		t.Errorf("want ErrConflict with Neutron's message, got %v", err)
	}

	_, err = Connect(ctx, Options{Token: "bad", Getenv: getenv}, log)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "openstack token issue") || strings.Contains(err.Error(), "bad") {
		t.Errorf("bad token: %v", err)
	}
	_, err = Connect(ctx, Options{Token: "good", Getenv: env(nil)}, log)
	if !errors.Is(err, ErrNoCredentials) {
		t.Errorf("no auth url: %v", err)
	}
	_, err = Connect(ctx, Options{Getenv: env(nil)}, log)
	if !errors.Is(err, ErrNoCredentials) {
		t.Errorf("nothing: %v", err)
	}
	srv.Close()
	_, err = Connect(ctx, Options{Token: "good", Getenv: getenv}, log)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("unreachable: %v", err)
	}
}

func TestNeutronUnreachable(t *testing.T) {
	srv := fakeCloudAt(t, "good", "http://127.0.0.1:1/")
	c, err := Connect(context.Background(), Options{Token: "good", Getenv: env(map[string]string{"OS_AUTH_URL": srv.URL + "/v3/"})}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListNetworks(context.Background())
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach Neutron at http://127.0.0.1:1/") {
		t.Errorf("want ErrUnreachable naming the URL, got %v", err)
	}
}
