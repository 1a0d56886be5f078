package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// scrapeDaemon reads the VM's daemon's /metrics (the sandbox serves them
// on the VM's /run/ovn-docker/metrics.sock).
func scrapeDaemon(t *testing.T, vm VM) string {
	t.Helper()
	sock := filepath.Join(vm.Dir, "run/ovn-docker/metrics.sock")
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://ovn/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", sock, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %d %v", sock, resp.StatusCode, err)
	}
	return string(b)
}

// metricValue is the value of the sample matching the pattern (a metric
// with its labels, regexp-quoted where needed), or -1.
func metricValue(text, sample string) float64 {
	m := regexp.MustCompile(`(?m)^` + sample + ` ([0-9.e+]+)$`).FindStringSubmatch(text)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestDaemonMetrics: a run shows in the call histograms (attach: Join;
// detach: DeleteEndpoint), a filled pool in the pool gauges.
func TestDaemonMetrics(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	r.sandboxDaemon(t, vm, "start")
	neutron := r.neutronNetworks(t, "net")[0]
	e := r.startVMEngine(t, vm)
	netID := r.createDockerNetwork(t, e, "LS1", neutron)
	join := `ovn_docker_daemon_call_seconds_count\{call="NetworkDriver.Join",outcome="ok"\}`
	del := `ovn_docker_daemon_call_seconds_count\{call="NetworkDriver.DeleteEndpoint",outcome="ok"\}`
	before := scrapeDaemon(t, vm)
	e.mustDocker(t, "run", "--rm", "--network", "LS1", daemonImage, "true")
	r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+neutron, "pool", "fill", "--size", "2")
	t.Cleanup(func() {
		r.plugin(t, vm, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "pool", "drain", "--network", neutron)
	})
	after := scrapeDaemon(t, vm)
	for _, s := range []string{join, del} {
		if b, a := max(metricValue(before, s), 0), metricValue(after, s); a != b+1 {
			t.Errorf("%s: %v before a run, %v after; want one more", s, b, a)
		}
	}
	// The daemon reads the pool from its OVSDB connection's cache, which
	// learns of the fill (another process's write) a moment later.
	ready := `ovn_docker_pool_ports\{network="` + regexp.QuoteMeta(neutron) + `",network_id="` + netID + `",state="ready"\}`
	v := metricValue(after, ready)
	for deadline := time.Now().Add(5 * time.Second); v != 2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		v = metricValue(scrapeDaemon(t, vm), ready)
	}
	if v != 2 {
		t.Errorf("%s = %v after pool fill --size 2", ready, v)
	}
	rss := metricValue(after, `process_resident_memory_bytes`)
	if rss <= 0 {
		t.Errorf("no process_resident_memory_bytes")
	}
	t.Logf("daemon RSS %.1f MiB", rss/(1<<20))
}
