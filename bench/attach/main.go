// Command attach-bench measures the network part of an attach inside a VM:
// from "the namespace exists" to "eth0 configured and the Neutron port
// ACTIVE", through internal/attach (the code path of `ovn-docker run` and
// `ovn-docker attach`), on network namespaces it creates itself
// (/var/run/netns/bna<pid>-<i>, removed after). Detach happens between
// attaches and is not counted.
//
// Run it inside a sandbox VM (the VM's environment gives the OVSDB, the
// OS_* credentials and OS_VIF_ID):
//
//	sandbox/sandbox exec vm1 -- go run ./bench/attach [-n 200] [-c 16]
//
// -c N attaches N namespaces at once per round (rounds until -n samples)
// and checks that the VLANs and IP addresses of each round are distinct.
//
// -pool N measures attaches from the port pool: it fills the network's pool
// to max(N, -c) ready ports first (`ovn-docker pool fill`'s FillPool), and
// every detach gives the port back; each attach is checked to have made no
// Neutron port, and each port is checked ACTIVE in Neutron afterwards (not
// timed). Without -pool the network has no pool: every attach creates its
// Neutron port (cold).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/attach/adapters"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

func main() {
	n := flag.Int("n", 200, "attaches measured (after -warmup)")
	conc := flag.Int("c", 1, "concurrent attaches per round")
	warm := flag.Int("warmup", 3, "attaches before measuring, not counted")
	network := flag.String("network", "", "network to attach to (default: create bench-attach-<pid>, 10.200.0.0/16, deleted after)")
	poll := flag.Duration("poll", 0, "Attacher.Poll, the (longest) ACTIVE poll interval (0: attach's default, as the CLI uses)")
	pool := flag.Int("pool", 0, "measure attaches from a pool of this many ready ports (0: cold)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured attaches here")
	verbose := flag.Bool("v", false, "log attach's debug messages")
	portMode := flag.String("port-mode", "auto", "trunk, binding-profile or auto (as the CLI's --port-mode)")
	dns := flag.Bool("dns", false, "name each port after its namespace (dns_name, where the cloud has dns-integration), as `ovn-docker run --name` does")
	flag.Parse()
	if err := run(*n, *conc, *warm, *pool, *network, *portMode, *poll, *cpuprofile, *verbose, *dns); err != nil {
		fmt.Fprintln(os.Stderr, "attach-bench:", err)
		os.Exit(1)
	}
}

func run(n, conc, warm, pool int, network, portMode string, poll time.Duration, cpuprofile string, verbose, dns bool) error {
	ctx := context.Background()
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cl, err := cloud.Connect(ctx, cloud.Options{Getenv: os.Getenv}, log)
	if err != nil {
		return err
	}
	ovsdb := os.Getenv("OVN_DOCKER_OVSDB")
	if ovsdb == "" {
		ovsdb = "unix:/var/run/openvswitch/db.sock"
	}
	vs, err := vswitch.Dial(ctx, ovsdb, log)
	if err != nil {
		return err
	}
	defer vs.Close()
	sw := adapters.Switch{C: vs}
	links := adapters.NewLinks(log)
	vm, err := attach.DiscoverVM(ctx, sw, links, cl, os.Getenv("OVN_DOCKER_BRIDGE"), os.Getenv("OS_VIF_ID"), vswitch.AccessPortPrefix)
	if err != nil {
		return err
	}
	if network == "" {
		name := fmt.Sprintf("bench-attach-%d", os.Getpid())
		nw, err := cl.CreateNetwork(ctx, cloud.CreateNetworkOpts{Name: name, IPv4CIDR: netip.MustParsePrefix("10.200.0.0/16")})
		if err != nil {
			return err
		}
		defer func() {
			if err := cl.DeleteNetwork(context.Background(), nw.ID); err != nil {
				fmt.Fprintln(os.Stderr, "attach-bench: deleting network:", err)
			}
		}()
		network = nw.ID
	}
	pmode, auto, err := attach.ParsePortMode(portMode)
	if err != nil {
		return err
	}
	if auto {
		pmode = attach.ModeBindingProfile
		if ok, err := cl.HasExtension(ctx, cloud.ExtTrunk); err != nil {
			return err
		} else if ok {
			pmode = attach.ModeTrunk
		}
	}
	fmt.Fprintf(os.Stderr, "port mode: %s\n", pmode)
	// As the CLI builds it (cmd/ovn-docker app.attacherWith), Pool set.
	at := &attach.Attacher{
		Switch: timedSwitch{sw}, Links: timedLinks{links}, Cloud: timedCloud{cl},
		VM: vm, Log: log, Poll: poll, Pool: timedPool{sw}, Mode: pmode,
	}
	if dns {
		if ok, err := cl.HasExtension(ctx, cloud.ExtDNSIntegration); err != nil {
			return err
		} else if !ok {
			return errors.New("-dns: the cloud does not list dns-integration")
		}
		at.DNS = timedNamer{cl}
	}
	b := &bench{at: at, cl: cl, network: network, pooled: pool > 0, prefix: fmt.Sprintf("bna%d-", os.Getpid()), dns: dns}

	pollDesc := "attach's default"
	if poll > 0 {
		pollDesc = poll.String()
	}
	mode := "cold (Neutron port created on demand)"
	if pool > 0 {
		pool = max(pool, conc)
		mode = fmt.Sprintf("from the pool (%d ready ports)", pool)
	}
	host, _ := os.Hostname()
	fmt.Printf("attach benchmark: %s, bridge %s (%s), ACTIVE poll %s, %d concurrent, host %s, %s\n",
		mode, vm.Bridge, vm.DatapathType, pollDesc, conc, host, time.Now().UTC().Format(time.RFC3339))
	if pool > 0 {
		defer func() {
			if _, err := at.DrainPool(context.Background(), network); err != nil {
				fmt.Fprintln(os.Stderr, "attach-bench: draining the pool:", err)
			}
		}()
		t0 := time.Now()
		st, err := at.FillPool(ctx, network, nil, pool)
		if err != nil {
			return fmt.Errorf("filling the pool: %w", err)
		}
		fmt.Printf("pool fill to %d ready ports: %.0f ms (not counted)\n", st.Ready, float64(time.Since(t0).Milliseconds()))
	}
	defer b.cleanup()

	// Warm-up: connections, caches.
	if _, err := b.rounds(ctx, warm, 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	stop := startProfile(cpuprofile)
	samples, err := b.rounds(ctx, n, conc)
	stop()
	if err != nil {
		return err
	}
	report(samples)
	return nil
}

type sample struct {
	total time.Duration
	st    *steps
	vlan  int
	addrs []netip.Prefix
	port  string
}

// checkPooled: every attach of the round took a pool port (no Neutron port
// created) and the port is ACTIVE in Neutron (asked after, not timed).
func (b *bench) checkPooled(res []sample) error {
	for _, s := range res {
		if s.st.calls["neutron: create port"] > 0 {
			return fmt.Errorf("attach created a Neutron port although the pool had ready ones (pool empty or not used)")
		}
		p, err := b.cl.GetPort(context.Background(), s.port)
		if err != nil {
			return err
		}
		if p.Status != "ACTIVE" {
			return fmt.Errorf("pool port %s is %s after attach", s.port, p.Status)
		}
	}
	return nil
}

type bench struct {
	at      *attach.Attacher
	cl      *cloud.Client
	pooled  bool
	network string
	prefix  string
	dns     bool // -dns
	seq     int
	mu      sync.Mutex
	live    []string // namespaces not yet removed
}

// rounds measures n attaches, conc at a time.
func (b *bench) rounds(ctx context.Context, n, conc int) ([]sample, error) {
	var out []sample
	for len(out) < n {
		k := min(conc, n-len(out))
		got, err := b.round(ctx, k)
		out = append(out, got...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// round creates k namespaces, attaches them all at once (timed), checks
// the VLANs and addresses are distinct, then detaches and removes them
// (not timed).
func (b *bench) round(ctx context.Context, k int) ([]sample, error) {
	names := make([]string, k)
	for i := range names {
		b.seq++
		names[i] = fmt.Sprintf("%s%d", b.prefix, b.seq)
		if out, err := exec.Command("ip", "netns", "add", names[i]).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ip netns add %s: %v: %s", names[i], err, out)
		}
		b.mu.Lock()
		b.live = append(b.live, names[i])
		b.mu.Unlock()
	}
	res := make([]sample, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := newSteps()
			actx := withSteps(ctx, st)
			<-start
			t0 := time.Now()
			req := attach.Request{NetnsPath: "/var/run/netns/" + names[i], Network: b.network}
			if b.dns {
				req.Name, req.ContainerID = names[i], names[i]
			}
			a, err := b.at.Attach(actx, req)
			res[i] = sample{total: time.Since(t0), st: st, vlan: a.VLAN, addrs: a.Addresses, port: a.PortID}
			if err == nil && a.Status != "ACTIVE" {
				err = fmt.Errorf("attach returned with port status %q", a.Status)
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil {
		err = distinct(res)
	}
	if err == nil && b.pooled {
		err = b.checkPooled(res)
	}
	if err == nil {
		err = checkEth0(names[0], res[0].addrs)
	}
	for _, name := range names {
		if _, derr := b.at.Detach(context.Background(), attach.Selector{NetnsPath: "/var/run/netns/" + name}); derr != nil {
			err = errors.Join(err, derr)
		}
		b.removeNetns(name)
	}
	return res, err
}

// distinct: no two attaches of one round share a VLAN or an address.
func distinct(res []sample) error {
	vlans := map[int]bool{}
	addrs := map[netip.Addr]bool{}
	for _, s := range res {
		if s.vlan < 1 || s.vlan > 4094 || vlans[s.vlan] {
			return fmt.Errorf("VLAN %d invalid or used twice in one round", s.vlan)
		}
		vlans[s.vlan] = true
		for _, p := range s.addrs {
			if addrs[p.Addr()] {
				return fmt.Errorf("address %s given twice in one round", p.Addr())
			}
			addrs[p.Addr()] = true
		}
	}
	return nil
}

// checkEth0: the namespace's eth0 carries the port's address.
func checkEth0(name string, addrs []netip.Prefix) error {
	out, err := exec.Command("ip", "-n", name, "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s addr show eth0: %v: %s", name, err, out)
	}
	for _, p := range addrs {
		if !strings.Contains(string(out), p.String()) {
			return fmt.Errorf("eth0 in %s lacks %s: %s", name, p, out)
		}
	}
	return nil
}

func (b *bench) removeNetns(name string) {
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "attach-bench: ip netns del %s: %v: %s\n", name, err, out)
	}
	b.mu.Lock()
	b.live = slices.DeleteFunc(b.live, func(s string) bool { return s == name })
	b.mu.Unlock()
}

// cleanup detaches and removes namespaces left by a failed round.
func (b *bench) cleanup() {
	b.mu.Lock()
	left := slices.Clone(b.live)
	b.mu.Unlock()
	for _, name := range left {
		_, _ = b.at.Detach(context.Background(), attach.Selector{NetnsPath: "/var/run/netns/" + name})
		b.removeNetns(name)
	}
}

// pct: nearest-rank percentile of sorted d.
func pct(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func report(samples []sample) {
	tot := make([]time.Duration, len(samples))
	for i, s := range samples {
		tot[i] = s.total
	}
	slices.Sort(tot)
	var sum time.Duration
	for _, d := range tot {
		sum += d
	}
	fmt.Printf("\n%-8s %8s %8s %8s %8s %8s %8s\n", "attaches", "p50 ms", "p95 ms", "p99 ms", "max ms", "min ms", "mean ms")
	fmt.Printf("%-8d %8s %8s %8s %8s %8s %8s\n", len(tot), ms(pct(tot, .5)), ms(pct(tot, .95)), ms(pct(tot, .99)),
		ms(tot[len(tot)-1]), ms(tot[0]), ms(sum/time.Duration(len(tot))))

	// Per-step breakdown.
	names := map[string]bool{}
	for _, s := range samples {
		for k := range s.st.dur {
			names[k] = true
		}
	}
	order := slices.Sorted(func(yield func(string) bool) {
		for k := range names {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Printf("\nper step (time inside the calls attach makes; per attach):\n")
	fmt.Printf("%-32s %8s %8s %8s %8s\n", "step", "calls", "p50 ms", "p99 ms", "mean ms")
	var accounted []time.Duration
	for range samples {
		accounted = append(accounted, 0)
	}
	for _, k := range order {
		var ds []time.Duration
		var calls int
		var sum time.Duration
		for i, s := range samples {
			ds = append(ds, s.st.dur[k])
			calls += s.st.calls[k]
			sum += s.st.dur[k]
			accounted[i] += s.st.dur[k]
		}
		slices.Sort(ds)
		fmt.Printf("%-32s %8.2f %8s %8s %8s\n", k, float64(calls)/float64(len(samples)), ms(pct(ds, .5)), ms(pct(ds, .99)), ms(sum/time.Duration(len(samples))))
	}
	var wait, rest []time.Duration
	var wsum, rsum time.Duration
	for i, s := range samples {
		w := time.Duration(0)
		if !s.st.getEnd.IsZero() && !s.st.ifUpEnd.IsZero() {
			w = s.st.getEnd.Sub(s.st.ifUpEnd)
		}
		wait = append(wait, w)
		wsum += w
		r := s.total - accounted[i]
		rest = append(rest, r)
		rsum += r
	}
	slices.Sort(wait)
	slices.Sort(rest)
	fmt.Printf("%-32s %8s %8s %8s %8s\n", "(wait-ACTIVE loop, wall)", "", ms(pct(wait, .5)), ms(pct(wait, .99)), ms(wsum/time.Duration(len(samples))))
	fmt.Printf("%-32s %8s %8s %8s %8s\n", "(outside the calls: poll sleep…)", "", ms(pct(rest, .5)), ms(pct(rest, .99)), ms(rsum/time.Duration(len(samples))))
	slept := 0
	for _, s := range samples {
		if s.st.calls["neutron: get port (status)"] > 1 {
			slept++
		}
	}
	fmt.Printf("\nattaches that found the port not yet ACTIVE at the first look (and slept a poll interval): %d of %d (%.0f%%)\n",
		slept, len(samples), 100*float64(slept)/float64(len(samples)))
}

func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return func() {}
	}
	_ = pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
