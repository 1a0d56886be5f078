package cniapi

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/google/go-cmp/cmp"
)

func TestParseConf(t *testing.T) {
	for _, tc := range []struct {
		name, conf string
		code       uint // 0: valid
		network    string
	}{
		{"valid", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"LS1"}`, 0, "LS1"},
		{"with socket and mtu", `{"cniVersion":"1.0.0","name":"n","type":"ovn-cni","network":"LS1","socket":"/run/x.sock","mtu":1442}`, 0, "LS1"},
		{"not JSON", `{"cniVersion":`, types.ErrDecodingFailure, ""},
		{"no network", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni"}`, types.ErrInvalidNetworkConfig, ""},
		{"blank network", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"  "}`, types.ErrInvalidNetworkConfig, ""},
		{"negative mtu", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"a","mtu":-1}`, types.ErrInvalidNetworkConfig, ""},
		{"relative socket", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"a","socket":"x.sock"}`, types.ErrInvalidNetworkConfig, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConf([]byte(tc.conf))
			var code uint
			if err != nil {
				code = err.Code
				if err.Msg == "" {
					t.Error("error without message")
				}
			}
			if diff := cmp.Diff(tc.code, code); diff != "" {
				t.Fatalf("code (-want +got):\n%s (%v)", diff, err)
			}
			if err == nil && c.Network != tc.network {
				t.Errorf("network %q, want %q", c.Network, tc.network)
			}
		})
	}
}

func TestCallWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	for cmd, want := range map[string]uint{CmdAdd: types.ErrTryAgainLater, CmdDel: types.ErrTryAgainLater, CmdStatus: types.ErrPluginNotAvailable} {
		_, err := Call(context.Background(), sock, Request{Command: cmd})
		if err == nil || err.Code != want {
			t.Errorf("%s without daemon: %v, want code %d", cmd, err, want)
		}
	}
}

// serve runs h on a unix socket for the test and returns its path.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "cni.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// Call speaks to the daemon's net/http server: the request as sent, a
// result larger than one write buffer (net/http would chunk it for an
// HTTP/1.1 client), a CNI error, and answers that are not CNI's.
func TestCallAgainstHTTPServer(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	var got Request
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != Path || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line or header", http.StatusBadRequest)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch got.Command {
		case CmdAdd:
			_ = json.NewEncoder(w).Encode(Response{Result: json.RawMessage(`{"big":"` + big + `"}`)})
		case CmdDel:
			_ = json.NewEncoder(w).Encode(Response{Error: types.NewError(types.ErrInvalidNetworkConfig, "no such network", "name one")})
		default:
			http.Error(w, "not CNI", http.StatusTeapot)
		}
	})
	req := Request{Command: CmdAdd, ContainerID: "c1", Netns: "/var/run/netns/x", IfName: "eth0", Config: json.RawMessage(`{"network":"LS1"}`)}
	res, cerr := Call(context.Background(), sock, req)
	if cerr != nil {
		t.Fatal(cerr)
	}
	if d := cmp.Diff(req, got); d != "" {
		t.Errorf("the daemon got (-sent +got):\n%s", d)
	}
	if want := `{"big":"` + big + `"}`; string(res) != want {
		t.Errorf("result: %d bytes, want %d", len(res), len(want))
	}
	if _, cerr := Call(context.Background(), sock, Request{Command: CmdDel}); cerr == nil || cerr.Code != types.ErrInvalidNetworkConfig || cerr.Msg != "no such network" {
		t.Errorf("the daemon's CNI error came back as %v", cerr)
	}
	if _, cerr := Call(context.Background(), sock, Request{Command: CmdCheck}); cerr == nil || cerr.Code != types.ErrInternal || !strings.Contains(cerr.Msg, "HTTP 418") {
		t.Errorf("a non-CNI answer came back as %v", cerr)
	}
}

// A daemon that never answers holds the shim only as long as its context.
func TestCallEndsWithContext(t *testing.T) {
	sock := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, cerr := Call(ctx, sock, Request{Command: CmdAdd})
	if cerr == nil || cerr.Code != types.ErrTryAgainLater {
		t.Errorf("err = %v, want code %d", cerr, types.ErrTryAgainLater)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %s for a 100 ms context", d)
	}
}

func TestSplitHTTPAnswer(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		status int
		body   string
		bad    bool
	}{
		{"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}", 200, "{}", false},
		{"HTTP/1.1 500 Internal Server Error\r\n\r\n", 500, "", false},
		{"HTTP/1.0 200 OK\r\nno end of header", 0, "", true},
		{"SSH-2.0-OpenSSH\r\n\r\n", 0, "", true},
		{"HTTP/1.0 abc\r\n\r\n", 0, "", true},
	} {
		status, body, err := splitHTTPAnswer([]byte(tc.raw))
		if (err != nil) != tc.bad || status != tc.status || string(body) != tc.body {
			t.Errorf("%q: %d %q %v", tc.raw, status, body, err)
		}
	}
}
