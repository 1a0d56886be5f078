// Command run-bench compares the wall time of a full `ovn-docker run` with
// a plain `docker run --net=none` of the same image and command, in
// alternating pairs (the order flips every pair, so drift and caches hit
// both alike), and measures the plugin's peak RSS.
//
// Run it inside a sandbox VM (its environment gives the OS_* credentials,
// OS_VIF_ID and the OVSDB; docker there is the VM's own engine):
//
//	sandbox/sandbox exec vm1 -- go run ./bench/run [-n 30]
//
// Peak RSS: VmHWM of the ovn-docker process, read from /proc/<pid>/status
// every millisecond until it exits (the last reading is kept; the high-water
// mark only grows), and the wait4 rusage ru_maxrss, which is the largest of
// the process and its reaped children (the docker CLI processes it runs).
//
// After the measured pairs, -breakdown runs go through a docker CLI wrapper
// that logs every docker call the plugin makes with its duration, so the
// extra time can be split into docker calls and the plugin's own work.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	n := flag.Int("n", 30, "measured pairs")
	warm := flag.Int("warmup", 2, "pairs before measuring, not counted")
	image := flag.String("image", "busybox:local", "image")
	plugin := flag.String("ovn-docker", "ovn-docker", "the plugin's executable")
	network := flag.String("network", "", "network (default: create bench-run-<pid>, deleted after)")
	breakdown := flag.Int("breakdown", 10, "extra ovn-docker runs through a timing docker wrapper")
	pool := flag.Int("pool", 0, "fill the network's port pool to this many ready ports first (ovn-docker pool fill); 0: no pool")
	flag.Parse()
	if err := run(*n, *warm, *breakdown, *pool, *image, *plugin, *network); err != nil {
		fmt.Fprintln(os.Stderr, "run-bench:", err)
		os.Exit(1)
	}
}

func run(n, warm, breakdown, pool int, image, plugin, network string) error {
	if p, err := exec.LookPath(plugin); err == nil {
		plugin = p
	}
	if network == "" {
		network = fmt.Sprintf("bench-run-%d", os.Getpid())
		if out, err := exec.Command(plugin, "create", "network", network).CombinedOutput(); err != nil {
			return fmt.Errorf("ovn-docker create network: %v: %s", err, out)
		}
		defer func() {
			if out, err := exec.Command(plugin, "delete", "network", network).CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "run-bench: deleting network %s: %v: %s\n", network, err, out)
			}
		}()
	}
	if pool > 0 {
		if out, err := exec.Command(plugin, "--network="+network, "pool", "fill", "--size", strconv.Itoa(pool)).CombinedOutput(); err != nil {
			return fmt.Errorf("ovn-docker pool fill: %v: %s", err, out)
		}
		defer func() {
			if out, err := exec.Command(plugin, "--network="+network, "pool", "drain").CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "run-bench: draining the pool: %v: %s\n", err, out)
			}
		}()
	}
	ovnArgs := []string{"--network=" + network, "run", "--rm", image, "true"}
	plainArgs := []string{"run", "--rm", "--net=none", image, "true"}
	host, _ := os.Hostname()
	poolDesc := "no port pool (Neutron port created per run)"
	if pool > 0 {
		poolDesc = fmt.Sprintf("port pool of %d ready ports", pool)
	}
	fmt.Printf("run benchmark: `ovn-docker %s` vs `docker %s`, %s, %d pairs (+%d warm-up), host %s, %s\n",
		strings.Join(ovnArgs, " "), strings.Join(plainArgs, " "), poolDesc, n, warm, host, time.Now().UTC().Format(time.RFC3339))

	var tOvn, tPlain, ratios []time.Duration
	var hwm, maxrss []int64
	for i := 0; i < warm+n; i++ {
		var o, p result
		var err error
		order := []bool{i%2 == 0, i%2 != 0} // true: ovn-docker first
		for _, ovnFirst := range order {
			if ovnFirst {
				o, err = timed(plugin, ovnArgs, nil)
			} else {
				p, err = timed("docker", plainArgs, nil)
			}
			if err != nil {
				return err
			}
		}
		if i < warm {
			continue
		}
		tOvn = append(tOvn, o.wall)
		tPlain = append(tPlain, p.wall)
		ratios = append(ratios, time.Duration(float64(o.wall)/float64(p.wall)*1e6)) // ratio ×1e6
		hwm = append(hwm, o.hwmKiB)
		maxrss = append(maxrss, o.maxrssKiB)
	}
	mo, mp, mr := median(tOvn), median(tPlain), median(ratios)
	fmt.Printf("\n%-36s %8s %8s %8s %8s\n", "", "p50 ms", "min ms", "max ms", "runs")
	fmt.Printf("%-36s %8s %8s %8s %8d\n", "ovn-docker run --rm", ms(mo), ms(slices.Min(tOvn)), ms(slices.Max(tOvn)), len(tOvn))
	fmt.Printf("%-36s %8s %8s %8s %8d\n", "docker run --rm --net=none", ms(mp), ms(slices.Min(tPlain)), ms(slices.Max(tPlain)), len(tPlain))
	fmt.Printf("median of the per-pair ratios: %.2fx   (ratio of the medians: %.2fx)\n", float64(mr)/1e6, float64(mo)/float64(mp))
	slices.Sort(hwm)
	slices.Sort(maxrss)
	fmt.Printf("ovn-docker peak RSS (own VmHWM): median %.1f MiB, max %.1f MiB\n", float64(hwm[len(hwm)/2])/1024, float64(hwm[len(hwm)-1])/1024)
	fmt.Printf("wait4 ru_maxrss (ovn-docker or its largest docker CLI child): median %.1f MiB, max %.1f MiB\n", float64(maxrss[len(maxrss)/2])/1024, float64(maxrss[len(maxrss)-1])/1024)

	if breakdown > 0 {
		return breakDown(breakdown, plugin, ovnArgs)
	}
	return nil
}

type result struct {
	wall              time.Duration
	hwmKiB, maxrssKiB int64
	out               string
	start             time.Time
}

// timed runs name args, returning wall time and peak RSS.
func timed(name string, args, env []string) (result, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	// Output to a file, not a pipe: Wait then returns when the process
	// exits, not when the last holder of a pipe's write end closes it.
	of, err := os.CreateTemp("", "run-bench-out-")
	if err != nil {
		return result{}, err
	}
	defer os.Remove(of.Name())
	defer of.Close()
	cmd.Stdout, cmd.Stderr = of, of
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	done := make(chan struct{})
	hwmc := make(chan int64, 1)
	go func() {
		var last int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if v := readHWM(status); v > 0 {
				last = v
			}
			select {
			case <-done:
				hwmc <- last
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	err = cmd.Wait()
	wall := time.Since(t0)
	outb, _ := os.ReadFile(of.Name())
	out := string(outb)
	close(done)
	r := result{wall: wall, hwmKiB: <-hwmc, out: out, start: t0}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxrssKiB = ru.Maxrss
	}
	if err != nil {
		return r, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return r, nil
}

func readHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				k, _ := strconv.ParseInt(f[0], 10, 64)
				return k
			}
		}
	}
	return 0
}

// breakDown runs ovn-docker k times with a docker CLI wrapper that logs
// each call's subcommand, start and end, and prints the median time per
// docker subcommand and the remainder (the plugin's own work: Keystone,
// OVSDB, Neutron, netlink, waiting for ACTIVE, process start).
func breakDown(k int, plugin string, ovnArgs []string) error {
	dir, err := os.MkdirTemp("", "run-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	realDocker, err := exec.LookPath("docker")
	if err != nil {
		return err
	}
	logf := filepath.Join(dir, "calls")
	wrapper := filepath.Join(dir, "docker")
	script := fmt.Sprintf("#!/bin/sh\ns=$(date +%%s%%N)\n%q \"$@\"\nrc=$?\ncase \"$2\" in -*) k=\"$1_$2\";; *) k=\"$1\";; esac\necho \"$s $(date +%%s%%N) $k\" >> %q\nexit $rc\n", realDocker, logf)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return err
	}
	per := map[string][]time.Duration{}
	calls := map[string]int{}
	var totals, rest []time.Duration
	for i := 0; i < k; i++ {
		_ = os.Remove(logf)
		r, err := timed(plugin, ovnArgs, []string{"OVN_DOCKER_DOCKER=" + wrapper})
		if err != nil {
			return err
		}
		f, err := os.Open(logf)
		if err != nil {
			return err
		}
		sum := map[string]time.Duration{}
		var inDocker time.Duration
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 3 {
				continue
			}
			s, _ := strconv.ParseInt(fs[0], 10, 64)
			e, _ := strconv.ParseInt(fs[1], 10, 64)
			d := time.Duration(e - s)
			name := "docker " + strings.ReplaceAll(fs[2], "_", " ")
			sum[name] += d
			calls[name]++
			inDocker += d
		}
		f.Close()
		for name, d := range sum {
			per[name] = append(per[name], d)
		}
		totals = append(totals, r.wall)
		rest = append(rest, r.wall-inDocker)
	}
	fmt.Printf("\nbreakdown of `ovn-docker run` over %d more runs (docker CLI wrapped; medians, per run):\n", k)
	fmt.Printf("%-36s %8s %8s\n", "part", "calls", "p50 ms")
	fmt.Printf("%-36s %8s %8s\n", "total", "", ms(median(totals)))
	names := make([]string, 0, len(per))
	for name := range per {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Printf("%-36s %8.1f %8s\n", name, float64(calls[name])/float64(k), ms(median(per[name])))
	}
	fmt.Printf("%-36s %8s %8s\n", "outside docker (the plugin's own)", "", ms(median(rest)))

	// One more run with --debug: the plugin's own log and its docker
	// calls on one time line, from the process start.
	_ = os.Remove(logf)
	r, err := timed(plugin, append([]string{"--debug"}, ovnArgs...), []string{"OVN_DOCKER_DOCKER=" + wrapper})
	if err != nil {
		return err
	}
	type event struct {
		at   time.Time
		what string
	}
	var evs []event
	for _, line := range strings.Split(r.out, "\n") {
		ts, rest, ok := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if !ok || !strings.HasPrefix(line, "time=") {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			continue
		}
		if len(rest) > 110 {
			rest = rest[:110] + "…"
		}
		evs = append(evs, event{at, "log: " + rest})
	}
	if b, err := os.ReadFile(logf); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			if len(fs) < 3 {
				continue
			}
			s, _ := strconv.ParseInt(fs[0], 10, 64)
			e, _ := strconv.ParseInt(fs[1], 10, 64)
			name := "docker " + strings.ReplaceAll(fs[2], "_", " ")
			evs = append(evs, event{time.Unix(0, s), name + " …"}, event{time.Unix(0, e), fmt.Sprintf("… %s done (%s ms)", name, ms(time.Duration(e-s)))})
		}
	}
	evs = append(evs, event{r.start.Add(r.wall), "ovn-docker exited"})
	slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
	fmt.Printf("\none run with --debug, time line from the process start (log times have 1 ms resolution):\n")
	for _, e := range evs {
		fmt.Printf("%+9.1f ms  %s\n", float64(e.at.Sub(r.start).Microseconds())/1000, e.what)
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
