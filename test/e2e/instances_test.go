package e2e

// Sandbox instances side by side: each test brings up (or half brings up)
// another instance next to the one the suite runs against, through
// sandbox/sandbox as a user would, and checks what each leaves on the host.
// Instance isolation does not depend on the cloud, so these run once, with
// the suite's neutrond run.

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// claimDir is where sandbox instances hold their name and index.
const claimDir = "/run/ovn-docker-sandbox"

// instance is a sandbox instance: another one run by a test, or the
// suite's (whose settings come from the environment).
type instance struct {
	name, dir string
	index     int
	suite     bool
}

// newInstance picks a name, a state dir and a free index for another
// instance; the test's cleanup brings it down if it is still there.
func newInstance(t *testing.T, s *Sandbox, what string) instance {
	t.Helper()
	h := fnv.New32a()
	h.Write([]byte(s.Dir + "/" + t.Name() + "/" + what))
	sum := h.Sum32()
	in := instance{name: fmt.Sprintf("i%05x", sum&0xfffff), dir: filepath.Join(t.TempDir(), "sb"), index: freeIndex(t, s, int(sum%200)+30)}
	t.Cleanup(func() {
		if _, err := os.Stat(in.dir); err == nil {
			if out, err := in.cmd(context.Background(), "down").CombinedOutput(); err != nil {
				t.Errorf("cleanup: down of %s: %v: %s", in.name, err, out)
			}
		}
	})
	return in
}

// freeIndex is an index from start on that no instance uses: not the
// suite's, not claimed, no host address in its subnet, its ports free.
func freeIndex(t *testing.T, s *Sandbox, start int) int {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	used := func(i int) bool {
		if s.APIHostIP == fmt.Sprintf("169.254.%d.1", i) {
			return true
		}
		if _, err := os.Stat(filepath.Join(claimDir, "index-"+strconv.Itoa(i))); err == nil {
			return true
		}
		for _, a := range addrs {
			if strings.HasPrefix(a.String(), fmt.Sprintf("169.254.%d.", i)) {
				return true
			}
		}
		for _, port := range []int{16000 + i, 19000 + i, 20000 + i} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				return true
			}
			l.Close()
		}
		return false
	}
	for k := range 240 {
		if i := (start+k)%240 + 10; !used(i) {
			return i
		}
	}
	t.Fatal("no free sandbox index")
	return 0
}

// cmd is sandbox/sandbox ARGS for this instance (its own process group, so
// that a test can kill all of it); the cloud is neutrond, ports derive from
// the index.
func (in instance) cmd(ctx context.Context, args ...string) *exec.Cmd {
	root, err := repoRoot()
	if err != nil {
		root = "."
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "sandbox", "sandbox"), args...)
	cmd.Env = append(os.Environ(), "SANDBOX_NAME="+in.name, "SANDBOX_DIR="+in.dir)
	if !in.suite {
		cmd.Env = append(cmd.Env, "SANDBOX_INDEX="+strconv.Itoa(in.index),
			"SANDBOX_CLOUD=neutrond", "SANDBOX_NB_PORT=", "SANDBOX_API_PORT=", "SANDBOX_KEYSTONE_PORT=")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// mustUp brings the instance up.
func (in instance) mustUp(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if out, err := in.cmd(ctx, "up").CombinedOutput(); err != nil {
		t.Fatalf("up of %s: %v: %s", in.name, err, out)
	}
	t.Logf("%s up in %s", in.name, time.Since(start).Round(time.Second))
}

// exec runs sandbox exec VM -- ARGS in the instance.
func (in instance) exec(ctx context.Context, vm string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := in.cmd(ctx, append([]string{"exec", vm, "--"}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: exec %s -- %s: %w: %s", in.name, vm, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// suiteInstance is the sandbox the suite runs against, as an instance.
func suiteInstance(s *Sandbox) instance {
	idx, _ := strconv.Atoi(strings.Split(s.APIHostIP, ".")[2])
	return instance{name: s.Name, dir: s.Dir, index: idx, suite: true}
}

// footprint is what an instance has on the host outside its state dir, and
// whether the dir is there.
type footprint struct {
	Netns  []string // named <name>-…
	Links  []string // host links named <name>-…
	Procs  []string // "pid command": naming the state dir, or in its VMs' mount namespaces
	Mounts []string // mount points under the state dir
	Claims []string // claim files naming the state dir
	Dir    bool
}

func (f footprint) empty() bool {
	return len(f.Netns)+len(f.Links)+len(f.Procs)+len(f.Mounts)+len(f.Claims) == 0 && !f.Dir
}

// footprintOf looks at the host for everything of the instance; mntns are
// the ids ("mnt:[inode]") of its VMs' mount namespaces.
func footprintOf(t *testing.T, in instance, mntns []string) footprint {
	t.Helper()
	var f footprint
	prefix := in.name + "-"
	out := mustRun(t, "ip", "netns", "list")
	for l := range strings.SplitSeq(out, "\n") {
		if n := strings.Fields(l); len(n) > 0 && strings.HasPrefix(n[0], prefix) {
			f.Netns = append(f.Netns, n[0])
		}
	}
	out = mustRun(t, "ip", "-o", "link", "show")
	for l := range strings.SplitSeq(out, "\n") {
		if n := strings.Fields(l); len(n) > 1 {
			if name := strings.Split(strings.TrimSuffix(n[1], ":"), "@")[0]; strings.HasPrefix(name, prefix) {
				f.Links = append(f.Links, name)
			}
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid := filepath.Base(p)
		if pid == strconv.Itoa(os.Getpid()) {
			continue
		}
		stat, err := os.ReadFile(p + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			continue
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		cl := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		mnt, _ := os.Readlink(p + "/ns/mnt")
		if strings.Contains(cl, in.dir+"/") || (mnt != "" && slices.Contains(mntns, mnt)) {
			f.Procs = append(f.Procs, pid+" "+cl)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(mi), "\n") {
		if m := strings.Fields(l); len(m) > 4 && strings.HasPrefix(m[4], in.dir+"/") {
			f.Mounts = append(f.Mounts, m[4])
		}
	}
	claims, _ := filepath.Glob(filepath.Join(claimDir, "*"))
	for _, c := range claims {
		if b, err := os.ReadFile(c); err == nil && strings.TrimSpace(string(b)) == in.dir {
			f.Claims = append(f.Claims, filepath.Base(c))
		}
	}
	_, err = os.Stat(in.dir)
	f.Dir = err == nil
	for _, l := range [][]string{f.Netns, f.Links, f.Procs, f.Mounts, f.Claims} {
		slices.Sort(l)
	}
	return f
}

// mountNamespaces: the ids ("mnt:[inode]") of the instance's VMs' mount
// namespaces that are bound to their files under <dir>/ns.
func mountNamespaces(t *testing.T, in instance) []string {
	t.Helper()
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for l := range strings.SplitSeq(string(mi), "\n") {
		if m := strings.Fields(l); len(m) > 4 && strings.HasPrefix(m[3], "mnt:[") && strings.HasPrefix(m[4], in.dir+"/ns/") {
			ids = append(ids, m[3])
		}
	}
	return ids
}

// attachAndPing is the basic check of an instance: a network, a container
// in the second VM, and a container in the first that pings it.
func attachAndPing(t *testing.T, in instance, vms []VM) {
	t.Helper()
	ctx := t.Context()
	vmA, vmB := vms[0].Name, vms[len(vms)-1].Name
	net := "inst-" + in.name
	_, _ = in.exec(ctx, vmA, "ovn-docker", "delete", "network", net) // left over from a killed run
	if _, err := in.exec(ctx, vmA, "ovn-docker", "create", "network", net); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = in.exec(context.Background(), vmA, "ovn-docker", "delete", "network", net) })
	id, err := in.exec(ctx, vmB, "ovn-docker", "--network="+net, "run", "-d", "busybox:local", "sleep", "3600")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = in.exec(context.Background(), vmB, "ovn-docker", "rm", id) })
	addr, err := in.exec(ctx, vmB, "docker", "exec", id, "ip", "-4", "-o", "addr", "show", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(addr)
	if len(f) < 4 {
		t.Fatalf("%s: no IPv4 address on eth0 of %s: %q", in.name, id, addr)
	}
	ip, _, _ := strings.Cut(f[3], "/")
	if out, err := in.exec(ctx, vmA, "ovn-docker", "--network="+net, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "3", ip); err != nil {
		t.Errorf("%s: a container in %s cannot ping the one in %s (%s): %v\n%s", in.name, vmA, vmB, ip, err, out)
	}
	// The container is in vmB's engine only.
	if out, err := in.exec(ctx, vmA, "docker", "inspect", id); err == nil {
		t.Errorf("%s: %s's engine knows %s's container %.12s: %s", in.name, vmA, vmB, id, out)
	}
}

// Two instances up side by side each pass attach + ping; `up` with a name
// a live instance holds fails clearly and touches nothing of it, and
// neither does `down` with that name from another state dir.
func TestInstancesSideBySide(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, "instance isolation does not depend on the cloud; it is checked once")
	a := suiteInstance(s)
	b := newInstance(t, s, "b")
	b.mustUp(t)
	t.Run("AttachAndPing", func(t *testing.T) {
		for _, in := range []instance{a, b} {
			t.Run(in.name, func(t *testing.T) {
				t.Parallel()
				attachAndPing(t, in, s.VMs)
			})
		}
	})

	t.Run("NameInUse", func(t *testing.T) {
		bns := mountNamespaces(t, b)
		before := footprintOf(t, b, bns)
		if len(before.Netns) == 0 || len(before.Procs) == 0 || len(before.Claims) != 2 {
			t.Fatalf("instance %s that is up: %+v, want namespaces, processes and two claims", b.name, before)
		}
		c := b
		c.dir = filepath.Join(t.TempDir(), "other")
		c.index = freeIndex(t, s, b.index+1)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		out, err := c.cmd(ctx, "up").CombinedOutput()
		want := fmt.Sprintf("sandbox name '%s' is in use by the instance in %s", b.name, b.dir)
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("up with %s's name from %s: %v, output:\n%s\nwant a failure saying %q", b.name, c.dir, err, out, want)
		}
		if _, err := os.Stat(c.dir); err == nil {
			t.Errorf("the refused up made %s", c.dir)
		}
		if out, err := c.cmd(ctx, "down").CombinedOutput(); err != nil {
			t.Errorf("down with %s's name from %s: %v: %s", b.name, c.dir, err, out)
		}
		if d := cmp.Diff(before, footprintOf(t, b, bns)); d != "" {
			t.Errorf("instance %s after up and down with its name from %s (-before +after):\n%s", b.name, c.dir, d)
		}
		if out, err := b.cmd(ctx, "status").CombinedOutput(); err != nil {
			t.Errorf("status of %s: %v:\n%s", b.name, err, out)
		}
	})

	bns := mountNamespaces(t, b)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := b.cmd(ctx, "down").CombinedOutput(); err != nil {
		t.Fatalf("down of %s: %v: %s", b.name, err, out)
	}
	if f := footprintOf(t, b, bns); !f.empty() {
		t.Errorf("instance %s after down: %+v, want nothing", b.name, f)
	}
}

// `down` after an `up` killed half way (engines starting, daemons up)
// removes everything of that instance and nothing of the suite's.
func TestInstanceDownAfterKilledUp(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudNeutrond, "instance isolation does not depend on the cloud; it is checked once")
	a := suiteInstance(s)
	ans := mountNamespaces(t, a)
	aBefore := footprintOf(t, a, ans)

	k := newInstance(t, s, "k")
	up := k.cmd(context.Background(), "up")
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed once the first VM's engine runs: namespaces, mounts and
	// daemons exist, the VMs are not wired yet.
	pidFile := filepath.Join(k.dir, s.VMs[0].Name, "run", "docker.pid")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(-up.Process.Pid, syscall.SIGKILL)
			_ = up.Wait()
			t.Fatalf("%s: no engine after 2 minutes of up", k.name)
		}
	}
	time.Sleep(time.Second)
	_ = syscall.Kill(-up.Process.Pid, syscall.SIGKILL)
	_ = up.Wait()
	kns := mountNamespaces(t, k)
	before := footprintOf(t, k, kns)
	if len(before.Netns) == 0 || len(before.Procs) == 0 || len(before.Mounts) == 0 || len(kns) == 0 {
		t.Fatalf("after the killed up, %s has %+v (mount namespaces %v); want namespaces, mounts and processes", k.name, before, kns)
	}
	t.Logf("%s after the killed up: %d netns, %d links, %d processes, %d mounts", k.name, len(before.Netns), len(before.Links), len(before.Procs), len(before.Mounts))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if out, err := k.cmd(ctx, "down").CombinedOutput(); err != nil {
		t.Fatalf("down of %s: %v: %s", k.name, err, out)
	}
	if f := footprintOf(t, k, kns); !f.empty() {
		t.Errorf("instance %s after down: %+v, want nothing", k.name, f)
	}
	if d := cmp.Diff(aBefore, footprintOf(t, a, ans)); d != "" {
		t.Errorf("the suite's instance %s changed (-before +after):\n%s", a.name, d)
	}
	for _, vm := range s.VMs {
		if out, err := s.VMExec(t, vm, "demo", "docker", "version", "--format", "{{.Server.Version}}"); err != nil {
			t.Errorf("the engine of %s in %s: %v: %s", vm.Name, a.name, err, out)
		}
		PingEventually(t, vm.Netns, s.APIHostIP)
	}
}
