package neutrond

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// Two ovn-neutrond processes on one NB allocate concurrently from one
// subnet: every address is handed out once, and each server sees the
// other's ports.
func TestTwoServersAllocateDistinctAddresses(t *testing.T) {
	ownOnly(t, "replicas sharing one NB")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	a, b := c.start(t, nb), c.start(t, nb)
	tokA, tokB := token(t, a, "demo"), token(t, b, "demo")
	code, body := call(t, a, tokA, "POST", "/v2.0/networks", `{"network": {"name": "shared-ipam"}}`)
	if code != 201 {
		t.Fatalf("create network: %d %v", code, body)
	}
	netID := body["network"].(map[string]any)["id"].(string)
	if code, body := call(t, b, tokB, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.9.0.0/24", "allocation_pools": [{"start": "10.9.0.10", "end": "10.9.0.209"}]}}`, netID)); code != 201 {
		t.Fatalf("create subnet via the other server: %d %v", code, body)
	}
	const workers, each = 8, 25 // 200 ports fill the 200-address pool exactly
	var mu sync.Mutex
	owner := map[string]string{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		srv, tok := a, tokA
		if w%2 == 1 {
			srv, tok = b, tokB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				code, body := call(t, srv, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
				if code != 201 {
					t.Errorf("create port: %d %v", code, body)
					return
				}
				p := body["port"].(map[string]any)
				ip := p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
				mu.Lock()
				if prev, dup := owner[ip]; dup {
					t.Errorf("%s given to %s and %s", ip, prev, p["id"])
				}
				owner[ip] = p["id"].(string)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owner) != workers*each {
		t.Fatalf("%d distinct addresses, want %d", len(owner), workers*each)
	}
	// The pool is full now, on both servers.
	for _, s := range []*server{a, b} {
		tok := map[*server]string{a: tokA, b: tokB}[s]
		code, body := call(t, s, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
		if code != 409 || body["NeutronError"].(map[string]any)["type"] != "IpAddressGenerationFailure" {
			t.Fatalf("create on a full subnet: %d %v", code, body)
		}
	}
	// And NB agrees: 200 distinct addresses on 200 LSPs.
	out := nbctl(t, nb, "--bare", "--columns=addresses", "list", "Logical_Switch_Port")
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			seen[f[1]] = true
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("NB holds %d distinct addresses, want %d", len(seen), workers*each)
	}
}

// Everything lives in NB: a restarted server serves the same data.
func TestRestartKeepsState(t *testing.T) {
	ownOnly(t, "restart")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	a := c.start(t, nb)
	tok := token(t, a, "demo")
	_, body := call(t, a, tok, "POST", "/v2.0/networks", `{"network": {"name": "persist", "mtu": 1400}}`)
	netID := body["network"].(map[string]any)["id"].(string)
	call(t, a, tok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 6, "cidr": "fd00:1::/64"}}`, netID))
	code, body := call(t, a, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "p"}}`, netID))
	if code != 201 {
		t.Fatalf("port: %d %v", code, body)
	}
	before := body["port"].(map[string]any)
	a.stop(t)

	b := c.start(t, nb)
	code, body = call(t, b, tok, "GET", "/v2.0/ports/"+before["id"].(string), "")
	if code != 200 {
		t.Fatalf("after restart: %d %v", code, body)
	}
	after := body["port"].(map[string]any)
	for _, k := range []string{"mac_address", "name", "network_id", "project_id"} {
		if after[k] != before[k] {
			t.Errorf("%s: %v after restart, %v before", k, after[k], before[k])
		}
	}
	if fmt.Sprint(after["fixed_ips"]) != fmt.Sprint(before["fixed_ips"]) {
		t.Errorf("fixed_ips: %v after restart, %v before", after["fixed_ips"], before["fixed_ips"])
	}
	_, body = call(t, b, tok, "GET", "/v2.0/networks/"+netID, "")
	if n := body["network"].(map[string]any); n["mtu"] != float64(1400) || len(n["subnets"].([]any)) != 1 {
		t.Errorf("network after restart = %v", n)
	}
	// The allocator was rebuilt from NB: the next port gets another address.
	_, body = call(t, b, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
	if fmt.Sprint(body["port"].(map[string]any)["fixed_ips"]) == fmt.Sprint(before["fixed_ips"]) {
		t.Errorf("address handed out twice across a restart: %v", before["fixed_ips"])
	}
}

func TestUnreachableNBFailsClearly(t *testing.T) {
	ownOnly(t, "start-up without an NB")
	c := newCloud(t)
	sock := filepath.Join(t.TempDir(), "nope.sock")
	cmd := exec.Command(binary, "serve", "--nb=unix:"+sock, "--listen=127.0.0.1:0",
		"--identity="+c.identity, "--signing-key="+c.key, "--connect-timeout=1s")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve with unreachable NB succeeded: %s", out)
	}
	if !strings.Contains(string(out), sock) || !strings.Contains(string(out), "ovsdb-server") {
		t.Fatalf("error does not name the endpoint and what to check: %s", out)
	}
}

func TestExpiredTokenIsRefused(t *testing.T) {
	ownOnly(t, "token lifetime flag")
	nb := ovsdbtest.StartNB(t)
	srv := newCloud(t).start(t, nb, "--token-ttl=4s")
	tok := token(t, srv, "demo")
	if code, _ := call(t, srv, tok, "GET", "/v2.0/networks", ""); code != 200 {
		t.Fatalf("fresh token: %d", code)
	}
	time.Sleep(4500 * time.Millisecond)
	before := nbDump(t, nb)
	if code, _ := call(t, srv, tok, "POST", "/v2.0/networks", `{"network": {"name": "late"}}`); code != 401 {
		t.Fatalf("expired token: %d, want 401", code)
	}
	if after := nbDump(t, nb); after != before {
		t.Fatalf("NB changed by a request with an expired token")
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	ownOnly(t, "logs")
	nb := ovsdbtest.StartNB(t)
	srv := newCloud(t).start(t, nb)
	tok := token(t, srv, "demo")
	call(t, srv, tok, "GET", "/v2.0/networks", "")
	call(t, srv, tok+"x", "GET", "/v2.0/networks", "")
	srv.stop(t)
	logs := srv.logs.String()
	if strings.Contains(logs, tok[:20]) || strings.Contains(logs, password) {
		t.Fatalf("log holds a token or password:\n%s", logs)
	}
	if !strings.Contains(logs, `"path":"/v2.0/networks","status":200`) {
		t.Fatalf("request not logged:\n%s", logs)
	}
}

// nbServer is an ovsdb-server the test can stop and start again on the
// same socket and database file.
type nbServer struct {
	dir, sock string
}

func (n *nbServer) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("ovsdb-server", filepath.Join(n.dir, "db"),
		"--remote=punix:"+n.sock, "--pidfile="+filepath.Join(n.dir, "pid"),
		"--unixctl="+filepath.Join(n.dir, "ctl"), "--log-file="+filepath.Join(n.dir, "log"),
		"--detach", "--no-chdir")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+n.dir, "OVS_DBDIR="+n.dir, "OVS_LOGDIR="+n.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-server: %v: %s", err, out)
	}
}

func (n *nbServer) stop() {
	data, err := os.ReadFile(filepath.Join(n.dir, "pid"))
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(filepath.Join(n.dir, "pid")); os.IsNotExist(err) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReconnectsWhenNBComesBack(t *testing.T) {
	ownOnly(t, "NB reconnection")
	if _, err := exec.LookPath("ovsdb-server"); err != nil {
		t.Skip("ovsdb-server not installed (apt-get install openvswitch-switch)")
	}
	dir, err := os.MkdirTemp("", "nbre-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &nbServer{dir: dir, sock: filepath.Join(dir, "nb.sock")}
	if out, err := exec.Command("ovsdb-tool", "create", filepath.Join(dir, "db"), ovsdbtest.NBSchema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool: %v %s", err, out)
	}
	n.start(t)
	t.Cleanup(n.stop)
	nb := "unix:" + n.sock
	srv := newCloud(t).start(t, nb, "--request-timeout=2s")
	tok := token(t, srv, "demo")
	_, body := call(t, srv, tok, "POST", "/v2.0/networks", `{"network": {"name": "before"}}`)
	netID := body["network"].(map[string]any)["id"].(string)
	call(t, srv, tok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.0.0.0/24"}}`, netID))

	n.stop()
	// While NB is away, writes fail with 503 after the request timeout,
	// reads are served from memory.
	for _, req := range [][3]string{
		{"POST", "/v2.0/networks", `{"network": {"name": "during"}}`},
		{"POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID)},
	} {
		start := time.Now()
		code, body := call(t, srv, tok, req[0], req[1], req[2])
		if code != 503 || time.Since(start) > 10*time.Second {
			t.Fatalf("%s %s while NB is down: %d %v after %s", req[0], req[1], code, body, time.Since(start))
		}
	}
	if code, _ := call(t, srv, tok, "GET", "/v2.0/networks/"+netID, ""); code != 200 {
		t.Fatalf("read while NB is down: %d", code)
	}
	// Meanwhile another tool deletes the network: the server must not keep
	// serving the stale row once it is back.
	n.start(t)
	nbctl(t, nb, "ls-del", "neutron-"+netID)
	if err := waitFor(func() bool {
		code, _ := call(t, srv, tok, "POST", "/v2.0/networks", `{"network": {"name": "after"}}`)
		return code == 201
	}); err != nil {
		t.Fatal("no successful write after NB came back")
	}
	if err := waitFor(func() bool {
		code, _ := call(t, srv, tok, "GET", "/v2.0/networks/"+netID, "")
		return code == 404
	}); err != nil {
		t.Fatal("network deleted while disconnected is still served")
	}
	if got := nbctl(t, nb, "--bare", "--columns=name", "find", "Logical_Switch", "external_ids:neutron\\:network_name=after"); got == "" {
		t.Fatal("network created after reconnect is not in NB")
	}
}

// SIGTERM stops the server cleanly (exit status 0).
func TestGracefulShutdown(t *testing.T) {
	ownOnly(t, "shutdown")
	nb := ovsdbtest.StartNB(t)
	srv := newCloud(t).start(t, nb)
	srv.stop(t)
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d:\n%s", code, srv.logs)
	}
	if !strings.Contains(srv.logs.String(), "shutting down") {
		t.Fatalf("no shutdown log:\n%s", srv.logs)
	}
}

// A client may create through one server and use the result through
// another at once (replicas behind a load balancer).
func TestWriteOnOneServerReadOnAnother(t *testing.T) {
	ownOnly(t, "replicas sharing one NB")
	nb := ovsdbtest.StartNB(t)
	c := newCloud(t)
	a, b := c.start(t, nb), c.start(t, nb)
	tok := token(t, a, "demo")
	for i := 0; i < 20; i++ {
		_, body := call(t, a, tok, "POST", "/v2.0/networks", fmt.Sprintf(`{"network": {"name": "n%d"}}`, i))
		netID := body["network"].(map[string]any)["id"].(string)
		if code, body := call(t, b, tok, "GET", "/v2.0/networks/"+netID, ""); code != 200 {
			t.Fatalf("GET on the other server right after create: %d %v", code, body)
		}
		code, body := call(t, b, tok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.%d.0.0/24"}}`, netID, i))
		if code != 201 {
			t.Fatalf("subnet on the other server: %d %v", code, body)
		}
		code, body = call(t, a, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
		if code != 201 {
			t.Fatalf("port back on the first server: %d %v", code, body)
		}
		portID := body["port"].(map[string]any)["id"].(string)
		if code, body := call(t, b, tok, "DELETE", "/v2.0/ports/"+portID, ""); code != 204 {
			t.Fatalf("delete on the other server: %d %v", code, body)
		}
	}
}

func TestMACBaseFlag(t *testing.T) {
	ownOnly(t, "--mac-base flag")
	nb := ovsdbtest.StartNB(t)
	srv := newCloud(t).start(t, nb, "--mac-base=02:ab:cd")
	tok := token(t, srv, "demo")
	_, body := call(t, srv, tok, "POST", "/v2.0/networks", `{"network": {"name": "m"}}`)
	netID := body["network"].(map[string]any)["id"].(string)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		code, body := call(t, srv, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
		if code != 201 {
			t.Fatalf("port: %d %v", code, body)
		}
		mac := body["port"].(map[string]any)["mac_address"].(string)
		if !strings.HasPrefix(mac, "02:ab:cd:") || seen[mac] {
			t.Fatalf("MAC %s: want a fresh one under 02:ab:cd", mac)
		}
		seen[mac] = true
	}
}
