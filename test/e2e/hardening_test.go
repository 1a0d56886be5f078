package e2e

// The wrapper never loses data and never leaves a container without its
// network: name collisions, rm killed midway, runs killed inside docker
// run, a dockerd restart, a broken veth, and rm of what is not ours.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ip4 is the IPv4 address of eth0 in a container ("" if none).
func (r *pluginRig) ip4(t *testing.T, vm VM, id string) string {
	t.Helper()
	out, err := r.docker(t.Context(), vm, "exec", id, "ip", "-4", "-o", "addr", "show", "eth0")
	if err != nil {
		return ""
	}
	f := strings.Fields(out)
	for i, x := range f {
		if x == "inet" && i+1 < len(f) {
			return strings.Split(f[i+1], "/")[0]
		}
	}
	return ""
}

// statusOf is the ps STATUS of a user container ("" if it has no row).
func (r *pluginRig) statusOf(t *testing.T, vm VM, id string) string {
	t.Helper()
	for _, row := range r.ps(t, vm, "demo") {
		for _, c := range row.Containers {
			if strings.HasPrefix(c.ID, id) || c.Name == id {
				return row.Status
			}
		}
	}
	return ""
}

func (r *pluginRig) gc(t *testing.T, vm VM) string {
	t.Helper()
	return r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0s")
}

// A run whose holder's name is taken fails, names the container, and
// leaves it alone; a second run with the same --name leaves the first
// one's network alone, and gc keeps it.
func TestHardeningNameCollision(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "names")
	name := r.s.uniqueName(t, "db")
	other := r.mustDocker(t, vm1, "run", "-d", "--net=none", "--name", name+"-net", r.s.Image, "sleep", "3600")
	t.Cleanup(func() { _, _ = r.docker(t.Context(), vm1, "rm", "-f", other) })
	res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--name", name, r.s.Image, "sleep", "3600")
	if res.code == 0 || !strings.Contains(res.stderr, name+"-net") {
		t.Fatalf("run with a taken holder name: want an error naming %s-net:\n%s", name, res)
	}
	if got := r.mustDocker(t, vm1, "inspect", "-f", "{{.State.Running}}", other); got != "true" {
		t.Fatalf("the unrelated container %s-net: running=%s, want it untouched", name, got)
	}
	if _, err := r.docker(t.Context(), vm1, "inspect", name); err == nil {
		t.Errorf("a container %s was left behind", name)
	}

	dup := r.s.uniqueName(t, "dup")
	id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--name", dup, r.s.Image, "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", id)
	ip := r.ip4(t, vm1, id)
	res = r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--name", dup, r.s.Image, "sleep", "3600")
	if res.code == 0 || !strings.Contains(res.stderr, dup) {
		t.Fatalf("second run --name %s: want an error naming it:\n%s", dup, res)
	}
	r.gc(t, vm1)
	if st := r.statusOf(t, vm1, id); st != "ACTIVE" {
		t.Errorf("first %s after the second run and gc: ps status %q, want ACTIVE", dup, st)
	}
	if got := r.ip4(t, vm1, id); ip == "" || got != ip {
		t.Errorf("first %s's eth0 address %q, want %q", dup, got, ip)
	}
}

// rm killed at any moment, then gc: the container is either gone with
// all of its network, or runs with its network.
func TestHardeningRmKilledThenGC(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "rmkill")
	for _, delay := range []time.Duration{20 * time.Millisecond, 60 * time.Millisecond, 120 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", r.s.Image, "sleep", "3600"))
			row := rowOf(t, r.ps(t, vm1, "demo"), id)
			cmd := execPlugin(r, vm1, "rm", id)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
			time.Sleep(500 * time.Millisecond) // a removal the engine was doing ends
			t.Logf("gc:\n%s", r.gc(t, vm1))
			running, err := r.docker(t.Context(), vm1, "inspect", "-f", "{{.State.Running}}", id)
			if err != nil || strings.TrimSpace(running) != "true" {
				// Gone (or stopped): nothing of its network is left.
				_, _ = r.docker(t.Context(), vm1, "rm", "-f", id)
				r.gc(t, vm1)
				r.portGone(t, vm1, "demo", row)
				return
			}
			r.rmAtEnd(t, vm1, "demo", id)
			if r.ip4(t, vm1, id) == "" {
				t.Errorf("container %s runs without eth0 after the killed rm and gc", id)
			}
			if st := r.statusOf(t, vm1, id); st != "ACTIVE" {
				t.Errorf("container %s: ps status %q, want ACTIVE", id, st)
			}
		})
	}
}

// A run killed inside `docker run` after the container was created but
// before it started leaves a container that never ran: gc removes it, its
// holder and its port.
func TestHardeningCreatedNeverStarted(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "created")
	// A docker CLI that creates the container and then hangs where
	// `docker run` would start it.
	fake := filepath.Join(t.TempDir(), "docker")
	script := "#!/bin/sh\nif [ \"$1\" = run ]; then shift; docker create \"$@\"; exec sleep 3600; fi\nexec docker \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	marker := "kcreated=" + r.s.uniqueName(t, "c")
	// Foreground: `docker create` has no -d.
	cmd := execPlugin(r, vm1, "--docker="+fake, "--network="+ls, "run", "--label", marker, r.s.Image, "sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	for deadline := time.Now().Add(60 * time.Second); id == ""; time.Sleep(100 * time.Millisecond) {
		id = r.mustDocker(t, vm1, "ps", "-aq", "--no-trunc", "--filter", "label="+marker)
		if time.Now().After(deadline) {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("the run never created its container")
		}
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	if st := r.mustDocker(t, vm1, "inspect", "-f", "{{.State.Status}}", id); st != "created" {
		t.Fatalf("container status %q, want created", st)
	}
	holder := r.mustDocker(t, vm1, "inspect", "-f", `{{index .Config.Labels "ovn-docker.holder"}}`, id)
	var row psRow
	for _, x := range r.ps(t, vm1, "demo") {
		if x.Container == holder {
			row = x
		}
	}
	if row.PortID == "" {
		t.Fatalf("no attachment for holder %s in ps", holder)
	}
	t.Logf("gc:\n%s", r.gc(t, vm1))
	for _, c := range []string{id, holder} {
		if _, err := r.docker(t.Context(), vm1, "inspect", c); err == nil {
			t.Errorf("container %.12s still there after gc", c)
		}
	}
	r.portGone(t, vm1, "demo", row)
}

// restartDockerd stops vm's dockerd (by its pid file) and brings it back
// with `sandbox up`; every container of the VM stops with it.
func (r *pluginRig) restartDockerd(t *testing.T, vm VM) {
	t.Helper()
	b, err := os.ReadFile(vm.DockerdPID)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("dockerd pid file: %q", b)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); syscall.Kill(pid, 0) == nil && !zombie(pid); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("dockerd did not stop")
		}
	}
	// `up` starts what is down (here dockerd) and checks the rest; it
	// takes longer than Script's bound.
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "sandbox", "sandbox"), "up")
	cmd.Env = append(os.Environ(), "SANDBOX_NAME="+r.s.Name, "SANDBOX_DIR="+r.s.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sandbox up after stopping dockerd: %v: %s", err, out)
	}
}

// After a dockerd restart a --restart=always container runs again (its
// holder has a restart policy too); ps says its network is gone, and gc
// re-plugs it with the same address.
func TestHardeningDockerdRestart(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "restart")
	id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--restart=always", r.s.Image, "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", id)
	peer := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--restart=always", r.s.Image, "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", peer)
	ip := r.ip4(t, vm1, id)
	if ip == "" {
		t.Fatal("no address before the restart")
	}
	holders := map[string]string{}
	for _, c := range []string{id, peer} {
		holders[c] = strings.TrimSpace(r.mustDocker(t, vm1, "inspect", "-f", `{{index .Config.Labels "ovn-docker.holder"}}`, c))
	}
	r.restartDockerd(t, vm1)
	// The engine restarts the holders (they have restart policies of
	// their own); a user container only if its holder happened to be up
	// first, and never again: gc starts those after re-plugging.
	running := func(c string) bool {
		out, _ := r.docker(t.Context(), vm1, "inspect", "-f", "{{.State.Running}}", c)
		return strings.TrimSpace(out) == "true"
	}
	for _, c := range []string{id, peer} {
		for deadline := time.Now().Add(60 * time.Second); !running(holders[c]); time.Sleep(500 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the holder %.12s of the --restart=always container %.12s was not restarted with dockerd", holders[c], c)
			}
		}
	}
	if st := r.statusOf(t, vm1, id); running(id) && !strings.HasPrefix(st, "NO-NETWORK") {
		t.Errorf("ps after the dockerd restart: status %q, want NO-NETWORK…", st)
	}
	out := r.gc(t, vm1)
	if !strings.Contains(out, "re-plugged") {
		t.Errorf("gc did not re-plug:\n%s", out)
	}
	for _, c := range []string{id, peer} {
		if !running(c) {
			t.Fatalf("the --restart=always container %.12s is not running after gc:\n%s", c, out)
		}
	}
	if st := r.statusOf(t, vm1, id); st != "ACTIVE" {
		t.Errorf("ps after gc: status %q, want ACTIVE", st)
	}
	if got := r.ip4(t, vm1, id); got != ip {
		t.Errorf("address after the re-plug %q, want %q", got, ip)
	}
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if _, err = r.docker(t.Context(), vm1, "exec", peer, "ping", "-c1", "-W1", ip); err == nil {
			break
		}
	}
	if err != nil {
		t.Errorf("a peer on the network cannot reach the re-plugged container: %v", err)
	}
}

// ps does not say ACTIVE for a container whose veth is gone, and says
// what is wrong; gc re-plugs it.
func TestHardeningPsReportsBrokenNetwork(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "broken")
	id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", r.s.Image, "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", id)
	row := rowOf(t, r.ps(t, vm1, "demo"), id)
	if row.Status != "ACTIVE" {
		t.Fatalf("status %q before breaking it", row.Status)
	}
	MustInNetns(t, vm1.Netns, "ip", "link", "del", row.OVSPort)
	st := r.statusOf(t, vm1, id)
	if !strings.HasPrefix(st, "NO-NETWORK") || !strings.Contains(st, row.OVSPort) {
		t.Errorf("ps with the veth deleted: status %q, want NO-NETWORK naming %s", st, row.OVSPort)
	}
	r.gc(t, vm1)
	if st := r.statusOf(t, vm1, id); st != "ACTIVE" {
		t.Errorf("ps after gc: status %q, want ACTIVE", st)
	}
	if r.ip4(t, vm1, id) == "" {
		t.Error("no eth0 after gc")
	}
}

// rm of an unknown container, or of one without our network, fails and
// touches nothing.
func TestHardeningRmUnknown(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", "nosuchcontainer")
	if res.code == 0 || !strings.Contains(res.stderr, "nosuchcontainer") {
		t.Errorf("rm nosuchcontainer: want a non-zero exit naming it:\n%s", res)
	}
	plain := r.mustDocker(t, vm1, "run", "-d", "--net=none", r.s.Image, "sleep", "3600")
	t.Cleanup(func() { _, _ = r.docker(t.Context(), vm1, "rm", "-f", plain) })
	res = r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", plain)
	if res.code == 0 || !strings.Contains(res.stderr, "no network from ovn-docker") {
		t.Errorf("rm of a container without our network: want a non-zero exit saying so:\n%s", res)
	}
	if got := r.mustDocker(t, vm1, "inspect", "-f", "{{.State.Running}}", plain); got != "true" {
		t.Errorf("the container was touched: running=%s", got)
	}
}
