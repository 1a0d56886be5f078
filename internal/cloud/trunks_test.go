package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeTrunks is a Neutron trunk API (as Neutron answers: 409 for a parent
// that has a trunk already or a VLAN used on the trunk, 404 for a subport
// that is not on it) behind a Keystone that accepts token "good". Lists
// wait until listers callers have listed, so that concurrent EnsureTrunks
// all see no trunk and all try to create one.
type fakeTrunks struct {
	mu      sync.Mutex
	trunks  map[string]map[string]any
	next    int
	listers sync.WaitGroup
	toWait  int // lists still to hold back
	reqs    []string
}

func newFakeTrunks(t *testing.T, listers int) (*fakeTrunks, *Client) {
	t.Helper()
	ft := &fakeTrunks{trunks: map[string]map[string]any{}, toWait: listers}
	ft.listers.Add(listers)
	srv := fakeCloud(t, "good")
	mux := http.NewServeMux()
	neutronErr := func(w http.ResponseWriter, code int, typ, msg string) {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"NeutronError":{"type":%q,"message":%q,"detail":""}}`, typ, msg)
	}
	mux.HandleFunc("GET /v2.0/trunks", func(w http.ResponseWriter, r *http.Request) {
		ft.mu.Lock()
		hold := ft.toWait > 0
		ft.toWait--
		ft.reqs = append(ft.reqs, "list")
		ft.mu.Unlock()
		if hold {
			ft.listers.Done()
			ft.listers.Wait()
		}
		ft.mu.Lock()
		defer ft.mu.Unlock()
		var out []map[string]any
		for _, tr := range ft.trunks {
			if tr["port_id"] == r.URL.Query().Get("port_id") {
				out = append(out, tr)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"trunks": out})
	})
	mux.HandleFunc("POST /v2.0/trunks", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Trunk map[string]any `json:"trunk"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		ft.mu.Lock()
		defer ft.mu.Unlock()
		ft.reqs = append(ft.reqs, "create")
		for _, tr := range ft.trunks {
			if tr["port_id"] == body.Trunk["port_id"] {
				neutronErr(w, http.StatusConflict, "TrunkPortInUse", "Port is in use by another trunk")
				return
			}
		}
		ft.next++
		tr := map[string]any{"id": fmt.Sprintf("t%d", ft.next), "port_id": body.Trunk["port_id"], "sub_ports": []any{}}
		ft.trunks[tr["id"].(string)] = tr
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"trunk": tr})
	})
	mux.HandleFunc("GET /v2.0/trunks/{id}", func(w http.ResponseWriter, r *http.Request) {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		tr, ok := ft.trunks[r.PathValue("id")]
		if !ok {
			neutronErr(w, http.StatusNotFound, "TrunkNotFound", "Trunk could not be found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"trunk": tr})
	})
	mux.HandleFunc("PUT /v2.0/trunks/{id}/{op}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			SubPorts []map[string]any `json:"sub_ports"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		ft.mu.Lock()
		defer ft.mu.Unlock()
		tr, ok := ft.trunks[r.PathValue("id")]
		if !ok {
			neutronErr(w, http.StatusNotFound, "TrunkNotFound", "Trunk could not be found")
			return
		}
		subs := tr["sub_ports"].([]any)
		for _, s := range body.SubPorts {
			switch r.PathValue("op") {
			case "add_subports":
				for _, have := range subs {
					if have.(map[string]any)["segmentation_id"] == s["segmentation_id"] {
						neutronErr(w, http.StatusConflict, "DuplicateSubPort", "segmentation id already in use")
						return
					}
				}
				subs = append(subs, s)
			case "remove_subports":
				found := false
				for i, have := range subs {
					if have.(map[string]any)["port_id"] == s["port_id"] {
						subs, found = append(subs[:i], subs[i+1:]...), true
						break
					}
				}
				if !found {
					neutronErr(w, http.StatusNotFound, "SubPortNotFound", "not a subport")
					return
				}
			}
		}
		tr["sub_ports"] = subs
		json.NewEncoder(w).Encode(tr)
	})
	mux.HandleFunc("POST /v2.0/ports", func(w http.ResponseWriter, r *http.Request) {
		neutronErr(w, http.StatusForbidden, "PolicyNotAuthorized", "((rule:create_port and rule:create_port:binding) and rule:create_port:binding:profile) is disallowed by policy")
	})
	nsrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Auth-Token") != "good" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(nsrv.Close)
	c, err := Connect(context.Background(), Options{Token: "good", Getenv: env(map[string]string{"OS_AUTH_URL": srv.URL + "/v3"})}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.net = serviceClient(c.net.ProviderClient, nsrv.URL+"/")
	return ft, c
}

// Two processes making the VM's trunk at once end with one trunk: the
// loser of the create reads the winner's.
func TestEnsureTrunkConcurrent(t *testing.T) {
	ft, c := newFakeTrunks(t, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			tr, err := c.EnsureTrunk(ctx, "vm-port", "ovn-docker")
			ids[i], errs[i] = tr.ID, err
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || ids[0] != ids[1] || len(ft.trunks) != 1 {
		t.Fatalf("EnsureTrunk: %v / %v, ids %v, trunks %v", errs[0], errs[1], ids, ft.trunks)
	}
	creates := strings.Count(strings.Join(ft.reqs, " "), "create")
	if creates != 2 {
		t.Errorf("requests %v: want both to try creating", ft.reqs)
	}
}

func TestSubports(t *testing.T) {
	_, c := newFakeTrunks(t, 0)
	ctx := context.Background()
	tr, err := c.CreateTrunk(ctx, "vm-port", "ovn-docker")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddSubport(ctx, tr.ID, "p1", 5); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSubport(ctx, tr.ID, "p2", 5); !errors.Is(err, ErrConflict) {
		t.Errorf("VLAN used on the trunk: %v, want ErrConflict", err)
	}
	got, err := c.GetTrunk(ctx, tr.ID)
	if err != nil || got.VLANHolder(5) != "p1" {
		t.Errorf("GetTrunk = %+v, %v", got, err)
	}
	for i := range 2 { // the second time it is not on the trunk: fine
		if err := c.RemoveSubport(ctx, tr.ID, "p1"); err != nil {
			t.Errorf("RemoveSubport #%d: %v", i+1, err)
		}
	}
	if err := c.RemoveSubport(ctx, "gone", "p1"); err != nil {
		t.Errorf("RemoveSubport of a trunk gone: %v", err)
	}
	if _, err := c.FindTrunk(ctx, "other-port"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindTrunk of a port without: %v", err)
	}
}

// Neutron's default policy forbids binding:profile to members: the error
// names the rule and the way out, and why relaxing it is unsafe.
func TestBindingProfileForbidden(t *testing.T) {
	_, c := newFakeTrunks(t, 0)
	_, err := c.CreateChildPort(context.Background(), ChildPortOpts{NetworkID: "n1", ParentID: "vm-port", Tag: 3})
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("got %v, want ErrForbidden", err)
	}
	for _, s := range []string{"create_port:binding:profile", "--port-mode=trunk", "trunk extension", "unsafe", "does not check who owns the parent"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}
