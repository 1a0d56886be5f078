// Command neutrond-rss measures the memory of the ovn-neutrond binary
// holding many ports: it starts a private OVN Northbound ovsdb-server and
// the built `ovn-neutrond serve` against it (loopback only), creates the
// ports through the Neutron API with Keystone tokens, and reads VmRSS and
// VmHWM from /proc/<pid>/status as the count grows.
//
//	go build -o bin/ ./cmd/... && go run ./bench/neutrond-rss [-bin bin/ovn-neutrond] [-ports 10000]
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ovn-docker/ovn-docker/bench/internal/neutronapi"
)

func main() {
	bin := flag.String("bin", "bin/ovn-neutrond", "the ovn-neutrond executable")
	ports := flag.Int("ports", 10000, "ports to create")
	conc := flag.Int("c", 8, "concurrent clients")
	step := flag.Int("step", 2000, "report every this many ports")
	flag.Parse()
	if err := run(*bin, *ports, *conc, *step); err != nil {
		fmt.Fprintln(os.Stderr, "neutrond-rss:", err)
		os.Exit(1)
	}
}

func run(bin string, nports, conc, step int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "neutrond-rss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	nb, nbPid, stopNB, err := startNB(dir)
	if err != nil {
		return err
	}
	defer stopNB()

	// Identity: one member user, password "bench".
	hash, err := exec.Command("sh", "-c", "printf bench | "+shellQuote(bin)+" hash-password").Output()
	if err != nil {
		return fmt.Errorf("ovn-neutrond hash-password: %w", err)
	}
	ident := fmt.Sprintf(`domains:
  - {id: default, name: Default}
projects:
  - {id: bench, name: bench, domain_id: default}
users:
  - {id: bench, name: bench, domain_id: default, password_hash: %q, roles: [{project: bench, role: member}]}
`, strings.TrimSpace(string(hash)))
	if err := os.WriteFile(filepath.Join(dir, "identity.yaml"), []byte(ident), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(bin, "gen-key", filepath.Join(dir, "signing.key")).CombinedOutput(); err != nil {
		return fmt.Errorf("ovn-neutrond gen-key: %v: %s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "neutrond.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	srv := exec.Command(bin, "serve", "--nb="+nb, "--listen="+addr, "--metrics-listen=127.0.0.1:0", "--identity="+filepath.Join(dir, "identity.yaml"),
		"--signing-key="+filepath.Join(dir, "signing.key"), "--log-level=warn")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	base := "http://" + addr
	var tok string
	for i := 0; ; i++ {
		tok, err = neutronapi.Token(base, "bench", "bench", "bench")
		if err == nil {
			break
		}
		if i > 200 {
			return fmt.Errorf("ovn-neutrond did not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl := neutronapi.New(base, tok)
	pid := srv.Process.Pid

	fmt.Printf("ovn-neutrond memory: %s, private NB ovsdb-server (unix socket), %d ports through the API with %d clients, %s\n\n",
		bin, nports, conc, time.Now().UTC().Format(time.RFC3339))
	fmt.Printf("%8s %12s %12s %14s %10s\n", "ports", "VmRSS MiB", "VmHWM MiB", "NB server MiB", "ports/s")
	show := func(n int, rate float64) {
		rss, hwm := procMem(pid)
		nbRSS, _ := procMem(nbPid)
		fmt.Printf("%8d %12.1f %12.1f %14.1f %10.0f\n", n, rss, hwm, nbRSS, rate)
	}
	show(0, 0)

	// A /16: room for the ports.
	out, err := cl.Do("POST", "/v2.0/networks", `{"network": {"name": "rss"}}`, 201)
	if err != nil {
		return err
	}
	netID := out["network"].(map[string]any)["id"].(string)
	if _, err := cl.Do("POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.100.0.0/16"}}`, netID), 201); err != nil {
		return err
	}
	body := fmt.Sprintf(`{"port": {"network_id": %q}}`, netID)
	done := 0
	for done < nports {
		k := min(step, nports-done)
		t0 := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, conc)
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(k) {
					if _, err := cl.Do("POST", "/v2.0/ports", body, 201); err != nil {
						errs[w] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		done += k
		show(done, float64(k)/time.Since(t0).Seconds())
	}
	// Reads of the whole set, as a client listing ports would do.
	t0 := time.Now()
	if _, err := cl.Do("GET", "/v2.0/ports?network_id="+netID, "", 200); err != nil {
		return err
	}
	fmt.Printf("\nafter listing all %d ports (%.0f ms):\n", done, float64(time.Since(t0).Milliseconds()))
	show(done, 0)
	return nil
}

// procMem: VmRSS and VmHWM of pid in MiB.
func procMem(pid int) (rss, hwm float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kib, _ := strconv.ParseFloat(f[0], 64)
		switch k {
		case "VmRSS":
			rss = kib / 1024
		case "VmHWM":
			hwm = kib / 1024
		}
	}
	return rss, hwm
}

// startNB starts a private OVN_Northbound ovsdb-server in dir.
func startNB(dir string) (string, int, func(), error) {
	db := filepath.Join(dir, "nb.db")
	if out, err := exec.Command("ovsdb-tool", "create", db, "/usr/share/ovn/ovn-nb.ovsschema").CombinedOutput(); err != nil {
		return "", 0, nil, fmt.Errorf("ovsdb-tool create: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "nb.sock")
	pidfile := filepath.Join(dir, "nb.pid")
	cmd := exec.Command("ovsdb-server", db, "--remote=punix:"+sock, "--pidfile="+pidfile,
		"--unixctl="+filepath.Join(dir, "nb.ctl"), "--log-file="+filepath.Join(dir, "nb.log"), "--detach", "--no-chdir")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", 0, nil, fmt.Errorf("ovsdb-server: %v: %s", err, out)
	}
	pid := 0
	if data, err := os.ReadFile(pidfile); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	stop := func() {
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(sock); err == nil {
			return "unix:" + sock, pid, stop, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	return "", 0, nil, fmt.Errorf("ovsdb-server socket %s did not appear", sock)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
