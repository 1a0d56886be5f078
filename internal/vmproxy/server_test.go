package vmproxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeNeutron answers GETs from canned bodies (the path with its query, or
// without it) and records every other request.
type fakeNeutron struct {
	mu     sync.Mutex
	gets   map[string]string
	writes []string
	bodies []string
}

func (f *fakeNeutron) Forward(_ context.Context, method, path string, body []byte) (int, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if method != http.MethodGet {
		f.writes = append(f.writes, method+" "+path)
		f.bodies = append(f.bodies, string(body))
		if method == http.MethodDelete {
			return http.StatusNoContent, nil, nil
		}
		return http.StatusCreated, []byte(`{}`), nil
	}
	if b, ok := f.gets[path]; ok {
		return http.StatusOK, []byte(b), nil
	}
	if b, ok := f.gets[strings.SplitN(path, "?", 2)[0]]; ok {
		return http.StatusOK, []byte(b), nil
	}
	return http.StatusNotFound, []byte(`{"NeutronError": {"message": "not found"}}`), nil
}

const (
	net1  = "net-1"
	other = "net-other"
	proj  = "proj-demo"
	vm1   = "port-vm1"
	vm2   = "port-vm2"
)

func newFake() *fakeNeutron {
	vmPort := func(id, ip string) string {
		return `{"id": "` + id + `", "network_id": "` + net1 + `", "project_id": "` + proj + `", "device_owner": "compute:nova", "fixed_ips": [{"ip_address": "` + ip + `"}]}`
	}
	child := `{"id": "child-vm2", "network_id": "` + net1 + `", "project_id": "` + proj + `", "description": "ovn-docker child of ` + vm2 + ` via x"}`
	mine := `{"id": "child-vm1", "network_id": "` + net1 + `", "project_id": "` + proj + `", "binding:profile": {"parent_name": "` + vm1 + `", "tag": 5}}`
	return &fakeNeutron{gets: map[string]string{
		"ports":             `{"ports": [` + vmPort(vm1, "10.0.0.11") + `, ` + vmPort(vm2, "10.0.0.12") + `, ` + child + `, ` + mine + `, {"id": "ct", "network_id": "` + net1 + `", "project_id": "` + proj + `", "device_owner": "compute:ovn-docker", "binding:profile": {"parent_name": "` + vm1 + `", "tag": 6}, "fixed_ips": [{"ip_address": "10.0.0.50"}]}]}`,
		"ports/child-vm2":   `{"port": ` + child + `}`,
		"ports/child-vm1":   `{"port": ` + mine + `}`,
		"ports/" + vm2:      `{"port": ` + vmPort(vm2, "10.0.0.12") + `}`,
		"networks/" + net1:  `{"network": {"id": "` + net1 + `", "project_id": "` + proj + `"}}`,
		"networks/" + other: `{"network": {"id": "` + other + `", "project_id": "proj-alt"}}`,
		"networks":          `{"networks": [{"id": "` + net1 + `", "project_id": "` + proj + `"}, {"id": "` + other + `", "project_id": "proj-alt"}, {"id": "shared", "project_id": "x", "shared": true}]}`,
		// Only with the caller's project as filter: a list without it
		// finds nothing here.
		"security-groups?project_id=" + proj: `{"security_groups": [{"id": "sg-own", "project_id": "` + proj + `"}]}`,
		"trunks/trunk-vm2":                   `{"trunk": {"id": "trunk-vm2", "port_id": "` + vm2 + `", "project_id": "` + proj + `"}}`,
		"trunks/trunk-vm1":                   `{"trunk": {"id": "trunk-vm1", "port_id": "` + vm1 + `", "project_id": "` + proj + `", "sub_ports": []}}`,
	}}
}

// call sends one request to the proxy as if from src on net1.
func call(t *testing.T, s *Server, src, method, path, body string) (int, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = src + ":40000"
	w := httptest.NewRecorder()
	s.Handler(net1).ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(b)
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		name, src, method, path, body string
		want                          int
		writes                        []string
	}{
		{"whoami", "10.0.0.11", "GET", "/ovn-docker/whoami", "", 200, nil},
		{"not a VM address", "10.0.0.99", "GET", "/ovn-docker/whoami", "", 403, nil},
		{"a container is not a VM", "10.0.0.50", "GET", "/ovn-docker/whoami", "", 403, nil},
		{"child of own port", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "binding:profile": {"parent_name": "port-vm1", "tag": 7}}}`, 201, []string{"POST ports"}},
		{"child of another VM", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "binding:profile": {"parent_name": "port-vm2", "tag": 7}}}`, 403, nil},
		{"tag out of range", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "binding:profile": {"parent_name": "port-vm1", "tag": 5000}}}`, 400, nil},
		{"trunk-mode port", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "description": "ovn-docker child of port-vm1 via a"}}`, 201, []string{"POST ports"}},
		{"trunk-mode port for another VM", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "description": "ovn-docker child of port-vm2"}}`, 403, nil},
		{"port on another project's network", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-other"}}`, 404, nil},
		{"project_id", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "project_id": "x"}}`, 403, nil},
		{"malformed", "10.0.0.11", "POST", "/v2.0/ports", `{"port": `, 400, nil},
		{"delete own child", "10.0.0.11", "DELETE", "/v2.0/ports/child-vm1", "", 204, []string{"DELETE ports/child-vm1"}},
		{"delete another VM's child", "10.0.0.11", "DELETE", "/v2.0/ports/child-vm2", "", 403, nil},
		{"delete another VM", "10.0.0.11", "DELETE", "/v2.0/ports/port-vm2", "", 403, nil},
		{"show another VM's child", "10.0.0.11", "GET", "/v2.0/ports/child-vm2", "", 404, nil},
		{"other network hidden", "10.0.0.11", "GET", "/v2.0/networks/net-other", "", 404, nil},
		{"network create off", "10.0.0.11", "POST", "/v2.0/networks", `{"network": {"name": "x"}}`, 403, nil},
		{"another VM's trunk", "10.0.0.11", "PUT", "/v2.0/trunks/trunk-vm2/add_subports", `{"sub_ports": [{"port_id": "child-vm1"}]}`, 403, nil},
		{"own trunk, another VM's port", "10.0.0.11", "PUT", "/v2.0/trunks/trunk-vm1/add_subports", `{"sub_ports": [{"port_id": "child-vm2", "segmentation_type": "vlan", "segmentation_id": 3}]}`, 403, nil},
		{"own trunk, own port", "10.0.0.11", "PUT", "/v2.0/trunks/trunk-vm1/add_subports", `{"sub_ports": [{"port_id": "child-vm1", "segmentation_type": "vlan", "segmentation_id": 3}]}`, 201, []string{"PUT trunks/trunk-vm1/add_subports"}},
		{"trunk of another port", "10.0.0.11", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "port-vm2"}}`, 403, nil},
		{"path injection", "10.0.0.11", "GET", "/v2.0/ports/..%2f..%2fnetworks", "", 404, nil},
		{"other resource", "10.0.0.11", "GET", "/v2.0/routers", "", 403, nil},
		{"own project's security groups", "10.0.0.11", "GET", "/v2.0/security-groups?project_id=proj-alt", "", 200, nil},
		{"child in own security group", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "security_groups": ["sg-own"]}}`, 201, []string{"POST ports"}},
		{"child in another project's security group", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "security_groups": ["sg-own", "sg-alt"]}}`, 404, nil},
		{"security_groups not a list", "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1", "security_groups": "sg-own"}}`, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake()
			s := New(f, Config{}, slog.New(slog.DiscardHandler))
			code, body := call(t, s, tc.src, tc.method, tc.path, tc.body)
			if code != tc.want {
				t.Errorf("status %d (%s), want %d", code, body, tc.want)
			}
			if diff := cmp.Diff(tc.writes, f.writes); diff != "" {
				t.Errorf("writes to Neutron (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateSetsCallersProject(t *testing.T) {
	f := newFake()
	s := New(f, Config{}, slog.New(slog.DiscardHandler))
	if code, body := call(t, s, "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1"}}`); code != 201 {
		t.Fatalf("%d %s", code, body)
	}
	var got struct {
		Port map[string]any `json:"port"`
	}
	if err := json.Unmarshal([]byte(f.bodies[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"network_id": "net-1", "project_id": proj, "description": ChildMarker(vm1)}
	if diff := cmp.Diff(want, got.Port); diff != "" {
		t.Errorf("port sent to Neutron (-want +got):\n%s", diff)
	}
}

func TestListsOnlyOwnPortsAndVisibleNetworks(t *testing.T) {
	s := New(newFake(), Config{}, slog.New(slog.DiscardHandler))
	ids := func(body, key string) []string {
		var m map[string][]struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range m[key] {
			out = append(out, x.ID)
		}
		return out
	}
	_, body := call(t, s, "10.0.0.11", "GET", "/v2.0/ports", "")
	if diff := cmp.Diff([]string{vm1, "child-vm1", "ct"}, ids(body, "ports")); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	_, body = call(t, s, "10.0.0.11", "GET", "/v2.0/networks", "")
	if diff := cmp.Diff([]string{net1, "shared"}, ids(body, "networks")); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}
}

func TestLimits(t *testing.T) {
	s := New(newFake(), Config{Rate: 1, Burst: 3, MaxBody: 100}, slog.New(slog.DiscardHandler))
	if code, _ := call(t, s, "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"name": "`+strings.Repeat("x", 200)+`"}}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: %d, want 413", code)
	}
	var codes []int
	for range 4 {
		code, _ := call(t, s, "10.0.0.11", "GET", "/ovn-docker/whoami", "")
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{200, 200, 429, 429}, codes); diff != "" {
		t.Errorf("burst (-want +got):\n%s", diff)
	}
	if code, _ := call(t, s, "10.0.0.12", "GET", "/ovn-docker/whoami", ""); code != 200 {
		t.Errorf("another VM is limited by vm1's burst: %d", code)
	}
}

func TestMaxChildren(t *testing.T) {
	f := newFake()
	s := New(f, Config{MaxChildren: 2}, slog.New(slog.DiscardHandler))
	// vm1 has child-vm1 and ct already.
	code, body := call(t, s, "10.0.0.11", "POST", "/v2.0/ports", `{"port": {"network_id": "net-1"}}`)
	if code != http.StatusConflict || len(f.writes) != 0 {
		t.Errorf("a third child with --max-children 2: %d %s, writes %v", code, body, f.writes)
	}
}
