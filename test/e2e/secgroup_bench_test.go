package e2e

// Measurements for BENCHMARKS.md, run only with OVN_DOCKER_BENCH=1: port
// creates with the default security group through the cloud's API (either
// cloud), and the time from a security group rule's creation to the first
// new TCP connection it lets through (container to container).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

func needBench(t *testing.T) {
	t.Helper()
	if os.Getenv("OVN_DOCKER_BENCH") != "1" {
		t.Skip("a measurement: set OVN_DOCKER_BENCH=1")
	}
}

// benchSamples is OVN_DOCKER_BENCH_N, else def.
func benchSamples(def int) int {
	if n, err := strconv.Atoi(os.Getenv("OVN_DOCKER_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return def
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1)+0.5)]
}

// Sequential port creates as demo, each with port security and so the
// project's default security group (Neutron's default), on a network of
// the test; every port is deleted afterwards (not timed).
func TestBenchPortCreateWithDefaultGroup(t *testing.T) {
	needBench(t)
	r := newPluginRig(t)
	demo := neutronAs(t, r.s, "demo")
	ls := r.createNetwork(t, "demo", "bench")
	pages, err := networks.List(demo, networks.ListOpts{Name: ls}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil || len(nets) != 1 {
		t.Fatalf("network %s: %v %v", ls, nets, err)
	}
	n := benchSamples(100)
	var lat []time.Duration
	var ids []string
	t.Cleanup(func() {
		for _, id := range ids {
			_ = ports.Delete(context.Background(), demo, id).ExtractErr()
		}
	})
	start := time.Now()
	for range n {
		t0 := time.Now()
		p, err := ports.Create(t.Context(), demo, ports.CreateOpts{NetworkID: nets[0].ID, Name: "bench"}).Extract()
		if err != nil {
			t.Fatalf("port create: %v", err)
		}
		lat = append(lat, time.Since(t0))
		ids = append(ids, p.ID)
		if len(p.SecurityGroups) != 1 {
			t.Fatalf("port %s has groups %v, want the default group", p.ID, p.SecurityGroups)
		}
	}
	total := time.Since(start)
	t.Logf("cloud %s: %d sequential port creates with the default group: %.1f/s, p50 %v, p99 %v",
		r.s.Cloud, n, float64(n)/total.Seconds(), percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond))
}

// A rule letting TCP in is added to the server's group, and a peer opens
// new connections until one goes through; the rule is removed and the
// peer waits until connections fail again, before the next sample.
func TestBenchRuleToFirstConnection(t *testing.T) {
	needBench(t)
	r := newPluginRig(t)
	// The server on vm2 (another hypervisor than the peer's), or on
	// OVN_DOCKER_BENCH_SERVER_VM.
	serverVM := "vm2"
	if v := os.Getenv("OVN_DOCKER_BENCH_SERVER_VM"); v != "" {
		serverVM = v
	}
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, serverVM)
	demo := neutronAs(t, r.s, "demo")
	web := groupNamed(t, r, demo, "web")
	client := groupNamed(t, r, demo, "client")
	ls := r.createNetwork(t, "demo", "benchrule")
	server := r.runInGroups(t, vm2, ls, []string{web.Name}, webServer)
	peer := r.runInGroups(t, vm1, ls, []string{client.Name}, "sleep 3600")
	// Connections are opened from the peer's namespace by the test itself
	// (docker exec would add its own 100+ ms to every attempt).
	pid := r.mustDocker(t, peer.vm, "inspect", "-f", "{{.State.Pid}}", peer.id)
	peerNetns := "/proc/" + pid + "/ns/net"
	url := fmt.Sprintf("http://%s:%d/index.html", server.ip, webPort)
	var lat []time.Duration
	for i := range benchSamples(10) {
		r.refused(t, peer, server.ip, "no rule lets it in")
		t0 := time.Now()
		rule, err := rules.Create(t.Context(), demo, rules.CreateOpts{SecGroupID: web.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
			Protocol: rules.ProtocolTCP, PortRangeMin: webPort, PortRangeMax: webPort, RemoteIPPrefix: "0.0.0.0/0"}).Extract()
		if err != nil {
			t.Fatalf("rule: %v", err)
		}
		if err := firstConnection(t.Context(), peerNetns, url); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		lat = append(lat, time.Since(t0))
		if err := rules.Delete(t.Context(), demo, rule.ID).ExtractErr(); err != nil {
			t.Fatalf("delete rule: %v", err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := r.fetch(t.Context(), peer, server.ip); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("sample %d: connections still pass 30 s after the rule was removed", i)
			}
		}
	}
	t.Logf("cloud %s, server on %s (%s), peer on vm1 (%s): rule added → first new connection, %d samples: p50 %v, min %v, max %v (all: %v)", r.s.Cloud, vm2.Name, vm2.Hypervisor, vm1.Hypervisor, len(lat),
		percentile(lat, 0.5).Round(time.Millisecond), slices.Min(lat).Round(time.Millisecond), slices.Max(lat).Round(time.Millisecond), lat)
}

// firstConnection opens a new TCP connection to url from netns every
// 50 ms (a connection whose SYN was dropped would only retry after a
// second) until one fetches the page; bounded by 30 s. Each attempt gives
// up after 1.5 s, so that about 30 wait at a time, not hundreds: their
// processes would load the machine whose flow update is measured.
func firstConnection(ctx context.Context, netns, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ok := make(chan struct{}, 1)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		go func() {
			if _, err := run(ctx, nil, "nsenter", "--net="+netns, "curl", "-sSf", "-o", "/dev/null", "-m", "1.5", url); err == nil {
				select {
				case ok <- struct{}{}:
				default:
				}
			}
		}()
		select {
		case <-ok:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("no connection to %s within 30 s", url)
		case <-tick.C:
		}
	}
}
