package e2e

// End-to-end tests of the ovn-docker plugin inside the sandbox's VMs, with
// the user's command lines verbatim.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func TestPluginVerbatim(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	before1 := r.leftovers(t, vm1, "demo")
	ls1 := r.createNetwork(t, "demo", "LS1")

	// $ ovn-docker --cred=$TOKEN list networks
	if out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "list", "networks"); !strings.Contains(out, ls1) {
		t.Fatalf("list networks does not show %s:\n%s", ls1, out)
	}
	// $ ovn-docker --cred=$TOKEN --vif-id=$VIF_ID --network=LS1 run -d --net=none busybox:local /bin/sh -c "while …"
	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls1, "run", "-d", "--net=none",
		"busybox:local", "/bin/sh", "-c", "while true; do echo hello world; sleep 1; done")
	c1 := strings.TrimSpace(out)
	if len(c1) != 64 {
		t.Fatalf("run -d should print the container id like docker run -d, got %q", out)
	}
	row1 := rowOf(t, r.ps(t, vm1, "demo"), c1)
	if row1.Status != "ACTIVE" || row1.VLAN < 1 || row1.IfName != "eth0" || row1.Network != ls1 {
		t.Errorf("ps row %+v", row1)
	}
	// The container has the IP and MAC Neutron chose on eth0.
	addr := r.mustDocker(t, vm1, "exec", c1, "ip", "-o", "addr", "show", "eth0")
	if !strings.Contains(addr, row1.Addresses[0]) {
		t.Errorf("eth0 of the container: %s, want %s", addr, row1.Addresses[0])
	}
	if mac := r.mustDocker(t, vm1, "exec", c1, "cat", "/sys/class/net/eth0/address"); mac != row1.MAC {
		t.Errorf("eth0 MAC %s, Neutron's %s", mac, row1.MAC)
	}
	// Its logical port is a child of the VM's port with the VLAN as tag.
	lsp := r.s.NBCtl(t, "--bare", "--columns=parent_name,tag", "find", "Logical_Switch_Port", "name="+row1.PortID)
	if want := r.vif["vm1"] + "\n" + fmt.Sprint(row1.VLAN); strings.Join(strings.Fields(lsp), "\n") != want {
		t.Errorf("LSP parent_name/tag %q, want %q", lsp, want)
	}

	// A container on vm2 (waiting in the foreground is not needed: -d).
	c2 := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls1, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", c2)
	ip2 := rowOf(t, r.ps(t, vm2, "demo"), c2).ip(t)
	if out, err := r.docker(t.Context(), vm1, "exec", c1, "ping", "-c", "2", "-W", "2", ip2); err != nil {
		t.Errorf("container on vm1 cannot ping the one on vm2: %v\n%s", err, out)
	}
	// A container whose only command is one ping: the network is up
	// before its process starts.
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls1, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "3", ip2); res.code != 0 {
		t.Errorf("single ping -c 1 container failed:\n%s", res)
	}
	// And one on the VMs' own network reaches vm2 itself.
	vmnet := r.vmNetwork(t, "vm1")
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--network="+vmnet, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "3", vm2.IP); res.code != 0 {
		t.Errorf("container on the VMs' network cannot ping vm2 (%s):\n%s", vm2.IP, res)
	}
	if logs := r.mustDocker(t, vm1, "logs", c1); !strings.Contains(logs, "hello world") {
		t.Errorf("docker logs: %q", logs)
	}

	// $ ovn-docker rm: nothing left; a second rm fails as docker's does.
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", c1)
	r.portGone(t, vm1, "demo", row1)
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "rm", c1); res.code != 1 || !strings.Contains(res.stderr, "No such container: "+c1) {
		t.Errorf("second rm of %s:\n%s\nwant exit 1, No such container", c1, res)
	}
	if d := cmp.Diff(before1, r.leftovers(t, vm1, "demo")); d != "" && !onlyOtherContainers(before1, r.leftovers(t, vm1, "demo")) {
		t.Errorf("left behind on vm1 (-before +after):\n%s", d)
	}
}

// vmNetwork is the network of the VM's own port.
func (r *pluginRig) vmNetwork(t *testing.T, vm string) string {
	t.Helper()
	p, err := r.clouds["demo"].GetPort(t.Context(), r.vif[vm])
	if err != nil {
		t.Fatal(err)
	}
	return p.NetworkID
}

// onlyOtherContainers: the diff is only vm2's containers (of this test,
// removed by cleanups later).
func onlyOtherContainers(a, b leftovers) bool {
	a.Containers, b.Containers = nil, nil
	a.NeutronPort, b.NeutronPort = nil, nil
	return cmp.Equal(a, b)
}

func TestPluginTenantIsolation(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	lsA := r.createNetwork(t, "demo", "A")
	out := r.mustPlugin(t, vm1, "alt", "--cred=$TOKEN", "list", "networks")
	if strings.Contains(out, lsA) {
		t.Errorf("tenant alt sees demo's network %s:\n%s", lsA, out)
	}
	lsB := r.createNetwork(t, "alt", "B")
	before := r.leftovers(t, vm1, "demo")
	beforeAlt := r.leftovers(t, vm1, "alt")
	// alt uses demo's VM port as parent: refused, on its own network and on demo's.
	for _, net := range []string{lsB, lsA} {
		res := r.plugin(t, vm1, "alt", nil, "--cred=$TOKEN", "--vif-id="+r.vif["vm1"], "--network="+net, "run", "-d", "busybox:local", "sleep", "60")
		if res.code == 0 || !strings.Contains(res.stderr, "ovn-docker:") {
			t.Errorf("alt running with demo's vif-id on %s should fail clearly:\n%s", net, res)
		}
		t.Logf("refused as expected: %s", strings.TrimSpace(res.stderr))
	}
	// Neutron itself is the gatekeeper: even bypassing the plugin's own
	// check, alt cannot nest a port in demo's VM port.
	nets, err := r.clouds["alt"].ListNetworks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if n.Name != lsB {
			continue
		}
		if p, err := r.clouds["alt"].CreateChildPort(t.Context(), cloud.ChildPortOpts{NetworkID: n.ID, ParentID: r.vif["vm1"], Tag: 4001}); err == nil {
			t.Errorf("Neutron let alt nest port %s in demo's VM port", p.ID)
			_ = r.clouds["alt"].DeletePort(t.Context(), p.ID)
		} else {
			t.Logf("Neutron refused: %v", err)
		}
	}
	if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
		t.Errorf("left behind (-before +after):\n%s", d)
	}
	if d := cmp.Diff(beforeAlt, r.leftovers(t, vm1, "alt")); d != "" {
		t.Errorf("left behind for alt (-before +after):\n%s", d)
	}
}

func TestPluginBadInput(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "bad")
	before := r.leftovers(t, vm1, "demo")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"unknown network", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=no-such-net", "run", "-d", "busybox:local", "true"}, `network "no-such-net": not found`},
		{"bad token", nil, []string{"--cred=gAAAA-not-a-token", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "busybox:local", "true"}, "get a new one with `openstack token issue`"},
		{"vif-id not a port", nil, []string{"--cred=$TOKEN", "--vif-id=00000000-0000-4000-8000-000000000000", "--network=" + ls, "run", "-d", "busybox:local", "true"}, "is not a port of your project"},
		{"invalid run line", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "--frob", "busybox:local"}, "unknown option --frob"},
		{"other docker network", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "--net=host", "busybox:local"}, "give an OVN network"},
		{"no image", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d"}, "no image given"},
		{"unknown image", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "--pull=never", "no-such-image:local"}, "docker run failed"},
		{"bad command", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "busybox:local", "/no/such/cmd"}, "docker run failed"},
		{"neutron unreachable", []string{"OS_AUTH_URL=http://" + r.s.APIHostIP + ":1/v3"}, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "busybox:local", "true"}, "cannot reach"},
		{"docker unreachable", []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "busybox:local", "true"}, "cannot reach the Docker engine"},
		{"port not active in time", nil, []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "--wait=1ns", "run", "-d", "busybox:local", "true"}, "did not become ACTIVE within 1ns"},
		{"no credentials", nil, []string{"--vif-id=$VIF_ID", "--network=" + ls, "run", "-d", "busybox:local", "true"}, "no credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := r.plugin(t, vm1, "demo", tc.env, tc.args...)
			if res.code == 0 {
				t.Fatalf("want a non-zero exit:\n%s", res)
			}
			if !strings.Contains(res.stderr, tc.want) {
				t.Errorf("stderr should say %q:\n%s", tc.want, res)
			}
			if strings.Contains(res.stderr, r.tokens["demo"]) {
				t.Errorf("the token appears in the error output")
			}
			if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
				t.Errorf("left behind (-before +after):\n%s", d)
			}
		})
	}
}

func TestPluginTCP(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "tcp")
	srv := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local",
		"/bin/sh", "-c", "mkdir /www && head -c 4000000 /dev/urandom > /www/blob && md5sum /www/blob > /www/sum && httpd -f -p 80 -h /www"))
	r.rmAtEnd(t, vm2, "demo", srv)
	ip := rowOf(t, r.ps(t, vm2, "demo"), srv).ip(t)
	var want string
	deadline := time.Now().Add(10 * time.Second)
	for want == "" && time.Now().Before(deadline) {
		want, _ = r.docker(t.Context(), vm2, "exec", srv, "cat", "/www/sum")
		time.Sleep(200 * time.Millisecond)
	}
	res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "--rm", "busybox:local",
		"/bin/sh", "-c", fmt.Sprintf("wget -q -O /tmp/blob http://%s/blob && md5sum /tmp/blob", ip))
	if res.code != 0 {
		t.Fatalf("wget across VMs failed:\n%s", res)
	}
	if got, w := strings.Fields(res.stdout), strings.Fields(want); len(got) == 0 || len(w) == 0 || got[0] != w[0] {
		t.Errorf("downloaded blob md5 %q, served %q", res.stdout, want)
	}
}

func TestPluginConcurrentRuns(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "conc")
	const n = 16
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600")
			if res.code != 0 {
				errs <- res.String()
				return
			}
			ids[i] = strings.TrimSpace(res.stdout)
		})
	}
	wg.Wait()
	close(errs)
	for _, id := range ids {
		if id != "" {
			r.rmAtEnd(t, vm1, "demo", id)
		}
	}
	for e := range errs {
		t.Errorf("concurrent run failed:\n%s", e)
	}
	rows := r.ps(t, vm1, "demo")
	vlans, ips := map[int]bool{}, map[string]bool{}
	for _, id := range ids {
		if id == "" {
			continue
		}
		row := rowOf(t, rows, id)
		if vlans[row.VLAN] || ips[row.ip(t)] {
			t.Errorf("VLAN %d or IP %s used twice", row.VLAN, row.ip(t))
		}
		vlans[row.VLAN], ips[row.ip(t)] = true, true
		if row.Status != "ACTIVE" {
			t.Errorf("%s: port %s", id, row.Status)
		}
	}
}

func TestPluginAttachNetnsAndSecondNetwork(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls1 := r.createNetwork(t, "demo", "n1")
	ls2 := r.createNetwork(t, "demo", "n2", "--ipv6-subnet", "fd00:77::/64")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls2, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)

	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls1, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	// Not on ls2 yet: the networks are isolated.
	if _, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "1", "-W", "1", peerIP); err == nil {
		t.Errorf("container on %s reaches %s on %s", ls1, peerIP, ls2)
	}
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls2, "attach", c)
	if out, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "1", "-W", "3", peerIP); err != nil {
		t.Errorf("after attach to %s (eth1): %v\n%s", ls2, err, out)
	}
	if out := r.mustDocker(t, vm1, "exec", c, "ip", "-o", "addr", "show", "eth1"); !strings.Contains(out, "fd00:77::") {
		t.Errorf("eth1 has no address of the IPv6 subnet: %s", out)
	}
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--network="+ls2, "detach", c)
	if out, err := r.docker(t.Context(), vm1, "exec", c, "ip", "link", "show", "eth1"); err == nil {
		t.Errorf("eth1 still there after detach: %s", out)
	}

	// Any network namespace, by path.
	ns := r.s.NewNetns(t, "bare")
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls2, "attach", "--netns", "/var/run/netns/"+ns, "--ifname", "eth5")
	PingEventually(t, ns, peerIP)
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "detach", "--netns", "/var/run/netns/"+ns)
	if out, err := InNetns(context.Background(), ns, "ip", "link", "show", "eth5"); err == nil {
		t.Errorf("eth5 still there after detach: %s", out)
	}
}

func TestPluginGC(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "gc")
	before := r.leftovers(t, vm1, "demo")
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	row := rowOf(t, r.ps(t, vm1, "demo"), c)
	// Removed behind the plugin's back: the holder, port, VLAN stay...
	r.mustDocker(t, vm1, "rm", "-f", c)
	// ... and a Neutron child port of this VM with no access port.
	r.makeOrphan(t, "vm1", cloudChild(r, "vm1", row))
	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0")
	t.Logf("gc:\n%s", out)
	r.portGone(t, vm1, "demo", row)
	if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
		t.Errorf("left behind after gc (-before +after):\n%s", d)
	}
}

func TestPluginCredentialsAndDiscovery(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "cred")
	// The token from the environment or a file (out of ps), and the VM's
	// port found by its MAC (no --vif-id, no OS_VIF_ID).
	tokFile := t.TempDir() + "/token"
	if err := os.WriteFile(tokFile, []byte(r.tokens["demo"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"env", []string{"OVN_DOCKER_CRED=" + r.tokens["demo"]}, nil},
		{"file", nil, []string{"--cred-file", tokFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args...), "--network="+ls, "run", "busybox:local", "sh", "-c", "ip -o -4 addr show eth0; exit 3")
			res := r.plugin(t, vm1, "demo", tc.env, args...)
			// Foreground: docker's exit code is the container's.
			if res.code != 3 || !strings.Contains(res.stdout, "inet ") {
				t.Fatalf("foreground run should show eth0's address and exit 3:\n%s", res)
			}
			rows := r.ps(t, vm1, "demo")
			for _, row := range rows {
				if row.Network == ls {
					r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", row.Containers[0].ID)
					r.portGone(t, vm1, "demo", row)
				}
			}
		})
	}
}

func TestPluginPortSecurity(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "psec", "--subnet", "10.213.0.0/24")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--cap-add", "NET_ADMIN", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	if out, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "1", "-W", "3", peerIP); err != nil {
		t.Fatalf("own address: %v\n%s", err, out)
	}
	// An address Neutron did not give the port is dropped by OVN.
	r.mustDocker(t, vm1, "exec", c, "ip", "addr", "add", "10.213.0.250/24", "dev", "eth0")
	if out, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "2", "-W", "1", "-I", "10.213.0.250", peerIP); err == nil {
		t.Errorf("spoofed source 10.213.0.250 got through:\n%s", out)
	}
}

// TestPluginCrashThenGC kills `run` at several points of its work and
// checks that `gc` then removes everything it had made.
func TestPluginCrashThenGC(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "crash")
	before := r.leftovers(t, vm1, "demo")
	for _, delay := range []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond, 900 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			cmd := vm1.Command(context.Background(), r.bin, "--cred="+r.tokens["demo"], "--vif-id="+r.vif["vm1"], "--network="+ls,
				"run", "-d", "busybox:local", "sleep", "3600")
			cmd.Env = r.vmEnv(vm1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			// A user container that did start is the user's: remove it
			// the way a user would if the run looked failed.
			for _, row := range r.ps(t, vm1, "demo") {
				for _, c := range row.Containers {
					r.mustDocker(t, vm1, "rm", "-f", c.ID)
				}
			}
			// A request the killed run had sent goes on in the server: real
			// Neutron may commit a port a second after its client died.
			// gc --grace=0 cannot know of a port not made yet, so it runs
			// once the project's ports have settled.
			r.portsSettled(t, "demo")
			out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0")
			t.Logf("killed after %s; gc:\n%s", delay, out)
			if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
				t.Errorf("left behind after gc (-before +after):\n%s", d)
			}
		})
	}
}

// TestPluginInterruptedRun interrupts `run` (Ctrl-C) at several points: it
// must undo what it did by itself, without gc.
func TestPluginInterruptedRun(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "intr")
	before := r.leftovers(t, vm1, "demo")
	for _, delay := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 600 * time.Millisecond, 800 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			cmd := vm1.Command(context.Background(), r.bin, "--cred="+r.tokens["demo"], "--vif-id="+r.vif["vm1"], "--network="+ls,
				"run", "-d", "busybox:local", "sleep", "3600")
			cmd.Env = r.vmEnv(vm1)
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			_ = cmd.Process.Signal(os.Interrupt)
			err := cmd.Wait()
			t.Logf("interrupted after %s: %v: %s", delay, err, strings.TrimSpace(out.String()))
			if err == nil {
				// It had finished: the container is the user's to remove.
				r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", strings.TrimSpace(out.String()))
			}
			if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
				t.Errorf("left behind (-before +after):\n%s", d)
			}
		})
	}
}

// TestPluginSinglePingTwentyTimes: a container whose whole command is one
// ping (no retry) to a container on another VM of its hypervisor succeeds
// every time — its network works from its very first instruction, also
// for a port that OVN has only just bound. (The peer is on the same
// hypervisor because that is what attach can prove: another chassis
// learns the new port, and the security group's address set that admits
// it, from the southbound DB on its own schedule, as with any OVN cloud.)
func TestPluginSinglePingTwentyTimes(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm3 := r.s.VM(t, "vm1"), r.s.VM(t, "vm3")
	if vm1.Hypervisor != vm3.Hypervisor {
		t.Fatalf("vm1 (%s) and vm3 (%s) should share a hypervisor", vm1.Hypervisor, vm3.Hypervisor)
	}
	ls := r.createNetwork(t, "demo", "ping20")
	peer := strings.TrimSpace(r.mustPlugin(t, vm3, "demo", "--cred=$TOKEN", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm3, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm3, "demo"), peer).ip(t)
	failed := 0
	for i := range 20 {
		if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--network="+ls, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", peerIP); res.code != 0 {
			failed++
			t.Errorf("run %d of 20: the single ping failed:\n%s", i+1, res)
		}
	}
	if failed > 0 {
		t.Errorf("%d of 20 single-ping containers got no reply", failed)
	}
}
