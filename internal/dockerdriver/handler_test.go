package dockerdriver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fake records the requests it gets and answers from its fields.
type fake struct {
	calls []string
	req   any
	err   error
}

func (f *fake) got(name string, req any) { f.calls = append(f.calls, name); f.req = req }

func (f *fake) CreateNetwork(_ context.Context, r CreateNetworkRequest) error {
	f.got("CreateNetwork", r)
	return f.err
}
func (f *fake) DeleteNetwork(_ context.Context, r DeleteNetworkRequest) error {
	f.got("DeleteNetwork", r)
	return f.err
}
func (f *fake) CreateEndpoint(_ context.Context, r CreateEndpointRequest) (CreateEndpointResponse, error) {
	f.got("CreateEndpoint", r)
	return CreateEndpointResponse{Interface: &EndpointInterface{MacAddress: "fa:16:3e:00:00:01"}}, f.err
}
func (f *fake) DeleteEndpoint(_ context.Context, r DeleteEndpointRequest) error {
	f.got("DeleteEndpoint", r)
	return f.err
}
func (f *fake) EndpointInfo(_ context.Context, r EndpointInfoRequest) (EndpointInfoResponse, error) {
	f.got("EndpointInfo", r)
	return EndpointInfoResponse{Value: map[string]any{"vlan": "7"}}, f.err
}
func (f *fake) Join(_ context.Context, r JoinRequest) (JoinResponse, error) {
	f.got("Join", r)
	return JoinResponse{InterfaceName: InterfaceName{SrcName: "ovc007", DstPrefix: "eth"}, Gateway: "10.1.0.1"}, f.err
}
func (f *fake) Leave(_ context.Context, r LeaveRequest) error { f.got("Leave", r); return f.err }
func (f *fake) RequestPool(_ context.Context, r RequestPoolRequest) (RequestPoolResponse, error) {
	f.got("RequestPool", r)
	return RequestPoolResponse{PoolID: "10.1.0.0/24", Pool: "10.1.0.0/24", Data: map[string]string{GatewayAddressType: "10.1.0.1/24"}}, f.err
}
func (f *fake) ReleasePool(_ context.Context, r ReleasePoolRequest) error {
	f.got("ReleasePool", r)
	return f.err
}
func (f *fake) RequestAddress(_ context.Context, r RequestAddressRequest) (RequestAddressResponse, error) {
	f.got("RequestAddress", r)
	return RequestAddressResponse{Address: "10.1.0.5/24"}, f.err
}
func (f *fake) ReleaseAddress(_ context.Context, r ReleaseAddressRequest) error {
	f.got("ReleaseAddress", r)
	return f.err
}

func post(t *testing.T, h http.Handler, path, body string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	if ct := rec.Header().Get("Content-Type"); ct != contentType {
		t.Errorf("%s: Content-Type %q, want %q", path, ct, contentType)
	}
	b, _ := io.ReadAll(rec.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: answer %q is not a JSON object: %v", path, b, err)
	}
	return rec.Code, out
}

func TestHandlerAnswers(t *testing.T) {
	for _, c := range []struct {
		path, body string
		call       string // what the fake must have been asked ("": nothing)
		req        any
		want       map[string]any
	}{
		{"/Plugin.Activate", "", "", nil, map[string]any{"Implements": []any{"NetworkDriver", "IpamDriver"}}},
		{"/NetworkDriver.GetCapabilities", "{}", "", nil, map[string]any{"Scope": "local", "ConnectivityScope": "global"}},
		{"/IpamDriver.GetCapabilities", "{}", "", nil, map[string]any{"RequiresMACAddress": false, "RequiresRequestReplay": false}},
		{"/IpamDriver.GetDefaultAddressSpaces", "{}", "", nil, map[string]any{"LocalDefaultAddressSpace": "ovn", "GlobalDefaultAddressSpace": "ovn"}},
		{"/NetworkDriver.DiscoverNew", `{"DiscoveryType":1,"DiscoveryData":{}}`, "", nil, map[string]any{}},
		{"/NetworkDriver.DiscoverDelete", `{"DiscoveryType":1}`, "", nil, map[string]any{}},
		{"/NetworkDriver.ProgramExternalConnectivity", `{"NetworkID":"n","EndpointID":"e"}`, "", nil, map[string]any{}},
		{"/NetworkDriver.RevokeExternalConnectivity", `{"NetworkID":"n","EndpointID":"e"}`, "", nil, map[string]any{}},
		{
			"/NetworkDriver.CreateNetwork",
			`{"NetworkID":"n1","Options":{"com.docker.network.generic":{"network":"LS1"}},"IPv4Data":[{"AddressSpace":"ovn","Pool":"10.1.0.0/24","Gateway":"10.1.0.1/24"}]}`,
			"CreateNetwork",
			CreateNetworkRequest{NetworkID: "n1", Options: map[string]any{OptionGeneric: map[string]any{"network": "LS1"}}, IPv4Data: []IPAMData{{AddressSpace: "ovn", Pool: "10.1.0.0/24", Gateway: "10.1.0.1/24"}}},
			map[string]any{},
		},
		{"/NetworkDriver.DeleteNetwork", `{"NetworkID":"n1"}`, "DeleteNetwork", DeleteNetworkRequest{NetworkID: "n1"}, map[string]any{}},
		{
			"/NetworkDriver.CreateEndpoint",
			`{"NetworkID":"n1","EndpointID":"e1","Interface":{"Address":"10.1.0.5/24","AddressIPv6":"","MacAddress":""},"Options":{}}`,
			"CreateEndpoint",
			CreateEndpointRequest{NetworkID: "n1", EndpointID: "e1", Interface: &EndpointInterface{Address: "10.1.0.5/24"}, Options: map[string]any{}},
			map[string]any{"Interface": map[string]any{"MacAddress": "fa:16:3e:00:00:01"}},
		},
		{"/NetworkDriver.DeleteEndpoint", `{"NetworkID":"n1","EndpointID":"e1"}`, "DeleteEndpoint", DeleteEndpointRequest{NetworkID: "n1", EndpointID: "e1"}, map[string]any{}},
		{"/NetworkDriver.EndpointOperInfo", `{"NetworkID":"n1","EndpointID":"e1"}`, "EndpointInfo", EndpointInfoRequest{NetworkID: "n1", EndpointID: "e1"}, map[string]any{"Value": map[string]any{"vlan": "7"}}},
		{
			"/NetworkDriver.Join", `{"NetworkID":"n1","EndpointID":"e1","SandboxKey":"/run/docker/netns/x","Options":null}`,
			"Join", JoinRequest{NetworkID: "n1", EndpointID: "e1", SandboxKey: "/run/docker/netns/x"},
			map[string]any{
				"InterfaceName": map[string]any{"SrcName": "ovc007", "DstPrefix": "eth"}, "Gateway": "10.1.0.1", "GatewayIPv6": "",
				"StaticRoutes": nil, "DisableGatewayService": false,
			},
		},
		{"/NetworkDriver.Leave", `{"NetworkID":"n1","EndpointID":"e1"}`, "Leave", LeaveRequest{NetworkID: "n1", EndpointID: "e1"}, map[string]any{}},
		{
			"/IpamDriver.RequestPool", `{"AddressSpace":"ovn","Pool":"10.1.0.0/24","SubPool":"","Options":{},"V6":false}`,
			"RequestPool", RequestPoolRequest{AddressSpace: "ovn", Pool: "10.1.0.0/24", Options: map[string]string{}},
			map[string]any{"PoolID": "10.1.0.0/24", "Pool": "10.1.0.0/24", "Data": map[string]any{GatewayAddressType: "10.1.0.1/24"}},
		},
		{"/IpamDriver.ReleasePool", `{"PoolID":"10.1.0.0/24"}`, "ReleasePool", ReleasePoolRequest{PoolID: "10.1.0.0/24"}, map[string]any{}},
		{
			"/IpamDriver.RequestAddress", `{"PoolID":"10.1.0.0/24","Address":"","Options":{"com.docker.network.endpoint.macaddress":""}}`,
			"RequestAddress", RequestAddressRequest{PoolID: "10.1.0.0/24", Options: map[string]string{"com.docker.network.endpoint.macaddress": ""}},
			map[string]any{"Address": "10.1.0.5/24", "Data": nil},
		},
		{"/IpamDriver.ReleaseAddress", `{"PoolID":"10.1.0.0/24","Address":"10.1.0.5"}`, "ReleaseAddress", ReleaseAddressRequest{PoolID: "10.1.0.0/24", Address: "10.1.0.5"}, map[string]any{}},
	} {
		t.Run(c.path, func(t *testing.T) {
			f := &fake{}
			code, got := post(t, Handler(f, f, slog.New(slog.DiscardHandler)), c.path, c.body)
			if code != http.StatusOK {
				t.Fatalf("status %d: %v", code, got)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			var calls []string
			if c.call != "" {
				calls = []string{c.call}
			}
			if diff := cmp.Diff(calls, f.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.req, f.req); diff != "" {
				t.Errorf("request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	f := &fake{err: errors.New("bad option: -o colour: the ovn driver knows -o network=ID|NAME only")}
	h := Handler(f, f, slog.New(slog.DiscardHandler))
	code, got := post(t, h, "/NetworkDriver.CreateNetwork", `{"NetworkID":"n1"}`)
	if code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", code)
	}
	if diff := cmp.Diff(map[string]any{"Err": f.err.Error()}, got); diff != "" {
		t.Errorf("driver error (-want +got):\n%s", diff)
	}
	code, got = post(t, h, "/IpamDriver.RequestAddress", `{"PoolID":`)
	if code != http.StatusInternalServerError || !strings.Contains(got["Err"].(string), ErrBadRequest.Error()) {
		t.Errorf("malformed request: status %d, %v", code, got)
	}
	if len(f.calls) != 1 {
		t.Errorf("a malformed request reached the driver: %v", f.calls)
	}
	code, got = post(t, h, "/NetworkDriver.Frobnicate", `{}`)
	if code != http.StatusNotFound || !strings.Contains(got["Err"].(string), "/NetworkDriver.Frobnicate") {
		t.Errorf("unknown call: status %d, %v", code, got)
	}
}

// Docker resends a call whose connection broke (the daemon restarted
// while serving it) with an empty body: a call that asks for something
// fails saying so, one that gives something back is answered done, and
// neither reaches the driver.
func TestHandlerEmptyRequest(t *testing.T) {
	for _, c := range []struct {
		path string
		code int
		want map[string]any
	}{
		{"/IpamDriver.RequestAddress", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/IpamDriver.RequestPool", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/NetworkDriver.CreateNetwork", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/NetworkDriver.CreateEndpoint", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/NetworkDriver.Join", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/NetworkDriver.EndpointOperInfo", http.StatusInternalServerError, map[string]any{"Err": ErrEmptyRequest.Error()}},
		{"/NetworkDriver.Leave", http.StatusOK, map[string]any{}},
		{"/NetworkDriver.DeleteEndpoint", http.StatusOK, map[string]any{}},
		{"/NetworkDriver.DeleteNetwork", http.StatusOK, map[string]any{}},
		{"/IpamDriver.ReleaseAddress", http.StatusOK, map[string]any{}},
		{"/IpamDriver.ReleasePool", http.StatusOK, map[string]any{}},
	} {
		t.Run(c.path, func(t *testing.T) {
			f := &fake{}
			code, got := post(t, Handler(f, f, slog.New(slog.DiscardHandler)), c.path, "")
			if code != c.code {
				t.Errorf("status %d, want %d", code, c.code)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if len(f.calls) != 0 {
				t.Errorf("an empty request reached the driver: %v", f.calls)
			}
		})
	}
}
