package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

func unixClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", sock)
	}}}
}

func waitSocket(t *testing.T, sock string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket %s", sock)
		}
	}
}

// TestMetrics: the engine's calls are timed by call and outcome, cloud
// errors counted, the pools' sizes read at the scrape, all on the
// metrics socket.
func TestMetrics(t *testing.T) {
	d, _, _, _ := newDriver()
	dir := t.TempDir()
	sock, msock := filepath.Join(dir, "plugins", "ovn.sock"), filepath.Join(dir, "metrics.sock")
	pool := &fakePool{status: []attach.PoolStatus{{NetworkID: "net-1", Network: "LS1", Ready: 3, InUse: 2, Target: 4}}}
	m := NewMetrics(pool)
	s := &Server{Driver: d, Socket: sock, Drain: time.Second, Log: slog.New(slog.DiscardHandler), Metrics: m, MetricsListen: "unix:" + msock}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitSocket(t, sock)
	waitSocket(t, msock)

	plugin := unixClient(sock)
	for body, want := range map[string]int{`{"Pool":"10.7.0.0/24"}`: 200, `{"Pool":"not a cidr"}`: 500} {
		resp, err := plugin.Post("http://ovn/IpamDriver.RequestPool", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("RequestPool %s: %d, want %d", body, resp.StatusCode, want)
		}
	}
	m.ObserveCloud("network", "POST", "unreachable", time.Second)
	m.ObserveCloud("network", "GET", "200", time.Millisecond)
	m.ObserveCloud("network", "POST", "409", time.Millisecond)

	resp, err := unixClient(msock).Get("http://ovn/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ovn_docker_daemon_call_seconds_count{call="IpamDriver.RequestPool",outcome="ok"} 1`,
		`ovn_docker_daemon_call_seconds_count{call="IpamDriver.RequestPool",outcome="error"} 1`,
		`ovn_docker_cloud_errors_total{code="unreachable",service="network"} 1`,
		`ovn_docker_cloud_errors_total{code="409",service="network"} 1`,
		`ovn_docker_cloud_request_seconds_count{code="200",service="network"} 1`,
		`ovn_docker_pool_ports{network="LS1",network_id="net-1",state="ready"} 3`,
		`ovn_docker_pool_ports{network="LS1",network_id="net-1",state="target"} 4`,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(b), `ovn_docker_cloud_errors_total{code="200"`) {
		t.Error("a 200 counted as a cloud error")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(msock); !os.IsNotExist(err) {
		t.Errorf("metrics socket left after shutdown: %v", err)
	}
}
