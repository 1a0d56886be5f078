// Command neutrond-bench measures ovn-neutrond's port create and delete
// (IPAM + NB write, over HTTP with Keystone tokens) against a private OVN
// Northbound ovsdb-server: sequentially and with concurrent clients, and
// at a small and a large number of addresses already allocated.
//
//	go run ./bench/neutrond [-n 2000] [-c 8] [-fill 100000]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovn-docker/ovn-docker/bench/internal/nbseed"
	"github.com/ovn-docker/ovn-docker/bench/internal/neutronapi"
	"github.com/ovn-docker/ovn-docker/internal/keystone"
	"github.com/ovn-docker/ovn-docker/internal/neutron"
	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

func main() {
	n := flag.Int("n", 2000, "ports per phase")
	c := flag.Int("c", 8, "concurrent clients in the concurrent phase")
	fill := flag.Int("fill", 100000, "addresses allocated before the large-fill phase")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the large-fill probe here")
	portSecurity := flag.Bool("port-security", true, "create ports with port security (and so the project's default security group); false measures ports without groups")
	flag.Parse()
	portExtra := fmt.Sprintf(`, "port_security_enabled": %t`, *portSecurity)
	if err := run(*n, *c, *fill, *cpuprofile, portExtra); err != nil {
		fmt.Fprintln(os.Stderr, "neutrond-bench:", err)
		os.Exit(1)
	}
}

func run(n, conc, fill int, cpuprofile, portExtra string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "neutrond-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	nb, stopNB, err := startNB(dir)
	if err != nil {
		return err
	}
	defer stopNB()

	reg := prometheus.NewRegistry()
	store, err := ovn.Open(ctx, ovn.Config{Endpoints: []string{nb}, Metrics: reg})
	if err != nil {
		return err
	}
	defer store.Close()
	base, tok, stopHTTP, err := serve(store)
	if err != nil {
		return err
	}
	defer stopHTTP()
	cl := &apiClient{neutronapi.New(base, tok), portExtra}

	fmt.Printf("ovn-neutrond port benchmark: NB ovsdb-server (unix socket), %d ports per phase, %d CPUs\n\n", n, runtime.NumCPU())
	fmt.Printf("%-34s %8s %10s %10s %10s\n", "phase", "ports", "ports/s", "p50 ms", "p99 ms")

	netA, _, err := cl.Network("bench-a", "10.128.0.0/16")
	if err != nil {
		return err
	}
	for _, ph := range []struct {
		name string
		conc int
	}{{"sequential", 1}, {fmt.Sprintf("%d concurrent clients", conc), conc}} {
		ids, st, err := cl.creates(netA, n, ph.conc)
		if err != nil {
			return err
		}
		st.print("create, " + ph.name)
		st, err = cl.deletes(ids, ph.conc)
		if err != nil {
			return err
		}
		st.print("delete, " + ph.name)
	}

	// Allocation cost against fill: a /14 subnet, create+delete latency
	// with 10 and with `fill` addresses allocated.
	netB, subnetB, err := cl.Network("bench-fill", "10.64.0.0/14")
	if err != nil {
		return err
	}
	sd, err := nbseed.New(ctx, nb, netB, subnetB, netip.MustParsePrefix("10.64.0.0/14"), netip.MustParseAddr("10.65.0.0"))
	if err != nil {
		return err
	}
	defer sd.Close()
	// fillTo seeds up to total, then waits until the server's view holds
	// the seeded ports.
	fillTo := func(total int) error {
		if err := sd.FillTo(ctx, total); err != nil {
			return err
		}
		deadline := time.Now().Add(5 * time.Minute)
		for len(store.ListPorts(ctx, ovn.Scope{Admin: true}, netB)) < sd.Seeded() {
			if time.Now().After(deadline) {
				return fmt.Errorf("server view did not reach %d ports", sd.Seeded())
			}
			time.Sleep(200 * time.Millisecond)
		}
		return nil
	}
	probe := func(label string) (stats, error) {
		a0, t0 := means(reg)
		ids, st, err := cl.creates(netB, 500, 1)
		if err != nil {
			return st, err
		}
		a1, t1 := means(reg)
		st.alloc = a1.minus(a0)
		st.txn = t1.minus(t0)
		st.print(label)
		_, err = cl.deletes(ids, 1)
		return st, err
	}
	if err := fillTo(10); err != nil {
		return err
	}
	small, err := probe("create at 10 allocated")
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := fillTo(fill); err != nil {
		return err
	}
	seedTime := time.Since(t0)
	stopProf := startProfile(cpuprofile)
	large, err := probe(fmt.Sprintf("create at %d allocated", fill))
	stopProf()
	if err != nil {
		return err
	}
	fmt.Printf("\n(seeding %d ports straight into NB took %.1fs)\n", fill, seedTime.Seconds())
	fmt.Printf("p50 create latency at %d allocated / at 10 allocated: %.2fx\n", fill, float64(large.p50)/float64(small.p50))
	fmt.Printf("mean IPAM allocation (addresses + MAC, in memory): %.1f µs at 10, %.1f µs at %d allocated (%.2fx)\n",
		small.alloc*1e6, large.alloc*1e6, fill, large.alloc/small.alloc)
	fmt.Printf("mean NB transaction round trip:                    %.2f ms at 10, %.2f ms at %d allocated (%.2fx)\n",
		small.txn*1e3, large.txn*1e3, fill, large.txn/small.txn)
	return nil
}

// stats of one phase.
type stats struct {
	alloc    float64 // mean seconds in IPAM allocation
	txn      float64 // mean seconds per NB transaction
	n        int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func summarize(lat []time.Duration, elapsed time.Duration) stats {
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)] }
	return stats{n: len(lat), elapsed: elapsed, p50: pct(0.50), p99: pct(0.99)}
}

func (s stats) print(name string) {
	fmt.Printf("%-34s %8d %10.0f %10.2f %10.2f\n", name, s.n, float64(s.n)/s.elapsed.Seconds(),
		float64(s.p50.Microseconds())/1000, float64(s.p99.Microseconds())/1000)
}

// apiClient adds the benchmark's operations to the raw client.
type apiClient struct {
	*neutronapi.Client
	// portExtra is added to every port create body (see -port-security).
	portExtra string
}

// creates makes n ports on netID with conc clients.
func (c *apiClient) creates(netID string, n, conc int) ([]string, stats, error) {
	body := fmt.Sprintf(`{"port": {"network_id": %q%s}}`, netID, c.portExtra)
	ids := make([]string, n)
	lat := make([]time.Duration, n)
	elapsed, err := parallel(n, conc, func(i int) error {
		t := time.Now()
		out, err := c.Do("POST", "/v2.0/ports", body, 201)
		lat[i] = time.Since(t)
		if err == nil {
			ids[i] = out["port"].(map[string]any)["id"].(string)
		}
		return err
	})
	return ids, summarize(lat, elapsed), err
}

func (c *apiClient) deletes(ids []string, conc int) (stats, error) {
	lat := make([]time.Duration, len(ids))
	elapsed, err := parallel(len(ids), conc, func(i int) error {
		t := time.Now()
		_, err := c.Do("DELETE", "/v2.0/ports/"+ids[i], "", 204)
		lat[i] = time.Since(t)
		return err
	})
	return summarize(lat, elapsed), err
}

// parallel runs f(0…n-1) on conc workers and returns the wall clock.
func parallel(n, conc int, f func(i int) error) (time.Duration, error) {
	start := time.Now()
	next := make(chan int)
	errc := make(chan error, conc)
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var err error
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case err = <-errc:
			break loop
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	return elapsed, err
}

// serve runs the API (Keystone + Neutron, as cmd/ovn-neutrond wires it)
// on a loopback port and returns its URL and an admin-free member token.
func serve(store *ovn.Store) (string, string, func(), error) {
	hash, err := keystone.HashPassword("bench")
	if err != nil {
		return "", "", nil, err
	}
	ident, err := keystone.ParseIdentity([]byte(fmt.Sprintf(`domains:
  - {id: default, name: Default}
projects:
  - {id: bench, name: bench, domain_id: default}
users:
  - {id: bench, name: bench, domain_id: default, password_hash: %q, roles: [{project: bench, role: member}]}
`, hash)))
	if err != nil {
		return "", "", nil, err
	}
	ks, err := keystone.New(keystone.Config{Identity: ident, SigningKey: bytes.Repeat([]byte("k"), 64), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "", "", nil, err
	}
	api := neutron.Handler(neutron.Config{Store: store, CallerFrom: func(r *http.Request) (neutron.Caller, error) {
		p, ok := keystone.PrincipalFrom(r.Context())
		if !ok {
			return neutron.Caller{}, neutron.ErrUnauthenticated
		}
		return neutron.Caller{ProjectID: p.ProjectID, Admin: p.IsAdmin()}, nil
	}})
	mux := http.NewServeMux()
	mux.Handle("/v3/", ks.Handler())
	mux.Handle("/v2.0/", ks.Middleware(api))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", nil, err
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()
	tok, err := neutronapi.Token(base, "bench", "bench", "bench")
	if err != nil {
		srv.Close()
		return "", "", nil, err
	}
	return base, tok, func() { srv.Close() }, nil
}

// startNB starts a private OVN_Northbound ovsdb-server in dir.
func startNB(dir string) (string, func(), error) {
	db := filepath.Join(dir, "nb.db")
	if out, err := exec.Command("ovsdb-tool", "create", db, "/usr/share/ovn/ovn-nb.ovsschema").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("ovsdb-tool create: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "nb.sock")
	pidfile := filepath.Join(dir, "nb.pid")
	cmd := exec.Command("ovsdb-server", db, "--remote=punix:"+sock, "--pidfile="+pidfile,
		"--unixctl="+filepath.Join(dir, "nb.ctl"), "--log-file="+filepath.Join(dir, "nb.log"), "--detach", "--no-chdir")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("ovsdb-server: %v: %s", err, out)
	}
	stop := func() {
		data, err := os.ReadFile(pidfile)
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(sock); err == nil {
			return "unix:" + sock, stop, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("ovsdb-server socket %s did not appear", sock)
}

func startProfile(profilePath string) func() {
	if profilePath == "" {
		return func() {}
	}
	f, err := os.Create(profilePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return func() {}
	}
	_ = pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// sumCount is a histogram's running sum and count.
type sumCount struct{ sum, count float64 }

func (a sumCount) minus(b sumCount) float64 {
	if a.count == b.count {
		return 0
	}
	return (a.sum - b.sum) / (a.count - b.count)
}

// means reads the store's allocation and transaction histograms.
func means(reg *prometheus.Registry) (alloc, txn sumCount) {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			switch mf.GetName() {
			case "ovn_neutrond_ipam_allocate_seconds":
				alloc = sumCount{h.GetSampleSum(), float64(h.GetSampleCount())}
			case "ovn_neutrond_nb_transaction_seconds":
				txn.sum += h.GetSampleSum()
				txn.count += float64(h.GetSampleCount())
			}
		}
	}
	return alloc, txn
}
