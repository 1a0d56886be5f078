package e2e

// Shared helpers for the end-to-end tests: reading the facts the sandbox
// wrote (sandbox/sandbox up → <state>/sandbox.json), running commands in its
// namespaces and databases, and waiting for OVN to converge. Other e2e test
// files use these; keep them general.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// e2eEnv, when "1", turns a missing sandbox into a failure instead of a skip
// (make test sets it, so CI can never pass by skipping).
const e2eEnv = "OVN_DOCKER_E2E"

// Sandbox is what sandbox.json says about a running sandbox.
type Sandbox struct {
	Name        string       `json:"name"`
	Cloud       string       `json:"cloud"` // cloudNeutrond or cloudOpenStack: what serves the API
	Dir         string       `json:"dir"`
	NBDB        string       `json:"nb_db"`      // unix:…, reachable from every netns
	NBDBTCP     string       `json:"nb_db_tcp"`  // tcp:127.0.0.1:…, host netns only
	NBMembers   []NBMember   `json:"nb_members"` // one, or the RAFT cluster's
	SBDB        string       `json:"sb_db"`
	APIURL      string       `json:"api_url"` // cloud API as seen from the VMs (and host)
	AuthURL     string       `json:"auth_url"`
	APIHostIP   string       `json:"api_host_ip"`
	APIPort     int          `json:"api_port"`
	MgmtBridge  string       `json:"mgmt_bridge"`
	Image       string       `json:"image"`
	Network     Network      `json:"network"`
	Hypervisors []Hypervisor `json:"hypervisors"`
	VMs         []VM         `json:"vms"`
	Domain      string       `json:"domain"`
	Users       []User       `json:"users"`
	// The topology under the hypervisors (topology_test.go).
	Fabric          Fabric           `json:"fabric"`
	ProviderNetwork *ProviderNetwork `json:"provider_network"` // nil: the cloud has no provider extension
	PhysicalHosts   []PhysicalHost   `json:"physical_hosts"`
}

// The clouds a sandbox can run (sandbox/sandbox up --cloud …).
const (
	cloudNeutrond  = "neutrond"  // ovn-neutrond: Neutron + Keystone subset over NB
	cloudOpenStack = "openstack" // Debian's Keystone and Neutron with ML2/OVN
)

// requireCloud skips the test unless the sandbox runs cloud: for behaviour
// only that cloud has. why says what the other cloud does instead, so the
// skip documents the difference.
func requireCloud(t *testing.T, s *Sandbox, cloud, why string) {
	t.Helper()
	if s.Cloud != cloud {
		t.Skipf("needs cloud %s, sandbox runs %s: %s", cloud, s.Cloud, why)
	}
}

// Network is the VMs' logical network.
type Network struct {
	Name string `json:"name"` // the Logical_Switch
	ID   string `json:"id"`   // the Neutron network
	CIDR string `json:"cidr"`
	MTU  int    `json:"mtu"`
}

// Hypervisor is a netns with br-int and ovn-controller.
type Hypervisor struct {
	Name    string `json:"name"`
	Netns   string `json:"netns"`
	OVSDB   string `json:"ovsdb"`
	Bridge  string `json:"bridge"`
	Chassis string `json:"chassis"`
	Dir     string `json:"dir"`
	EncapIP string `json:"encap_ip"` // Geneve endpoint, on the underlay
	// The fabric's ends of the hypervisor's underlay and physical links.
	FabricUnderlayLink string `json:"fabric_underlay_link"`
	FabricPhysicalLink string `json:"fabric_physical_link"`
}

// VM is a netns with its own OVS; NIC is the VM bridge's trunk uplink. Its
// Docker engine runs in the netns and in the VM's own mount namespace
// (MountNS), where the engine's socket, /run/docker/plugins and
// /etc/docker are the VM's: run docker and the plugin there (Command).
type VM struct {
	Name       string `json:"name"`
	Netns      string `json:"netns"`
	Hypervisor string `json:"hypervisor"`
	VIFID      string `json:"vif_id"`
	IP         string `json:"ip"`
	MAC        string `json:"mac"`
	OVSDB      string `json:"ovsdb"`
	Bridge     string `json:"bridge"`
	NIC        string `json:"nic"`
	HVPort     string `json:"hv_port"`
	MgmtIP     string `json:"mgmt_ip"`
	MgmtNIC    string `json:"mgmt_nic"`
	Tenant     string `json:"tenant"`
	Dir        string `json:"dir"`
	MountNS    string `json:"mntns"`
	DockerHost string `json:"docker_host"` // the VM's engine as seen from the host
	DockerdPID string `json:"dockerd_pid_file"`
}

// Command is args run inside vm, in its network and mount namespaces, as a
// shell on the VM would run it: docker there talks to the VM's own engine.
func (vm VM) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=/run/netns/" + vm.Netns, "--mount=" + vm.MountNS, "--"}, args...)...)
}

// User is an identity of the cloud; Project is the tenant it belongs to.
type User struct {
	Name      string `json:"name"`
	ID        string `json:"user_id"`
	Project   string `json:"project"`
	ProjectID string `json:"project_id"`
	Password  string `json:"password"`
	Admin     bool   `json:"admin"`
}

// repoRoot is the directory holding go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// sandboxFile is where `sandbox up` wrote its facts: $SANDBOX_DIR or the
// repository's .sandbox.
func sandboxFile() (string, error) {
	if d := os.Getenv("SANDBOX_DIR"); d != "" {
		return filepath.Join(d, "sandbox.json"), nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("%w; set SANDBOX_DIR", err)
	}
	return filepath.Join(root, ".sandbox", "sandbox.json"), nil
}

// Script runs sandbox/sandbox with args against this sandbox and returns its
// stdout and exit code; stderr goes into the error.
func (s *Sandbox) Script(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "sandbox", "sandbox"), args...)
	cmd.Env = append(os.Environ(), "SANDBOX_NAME="+s.Name, "SANDBOX_DIR="+s.Dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("sandbox %v: %v: %s", args, err, errOut.String())
		return "", -1
	}
}

// needSandbox loads the running sandbox, or skips the test (fails it under
// OVN_DOCKER_E2E=1) when there is none or the test cannot use it.
func needSandbox(t *testing.T) *Sandbox {
	t.Helper()
	unavailable := t.Skipf
	if os.Getenv(e2eEnv) == "1" {
		unavailable = t.Fatalf
	}
	if os.Geteuid() != 0 {
		unavailable("e2e test needs root (network namespaces, OVS); run it through `make test`")
		return nil
	}
	for _, bin := range []string{"ip", "ovs-vsctl", "ovn-nbctl", "tcpdump", "ping"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable("e2e test needs %s: %v; run `sandbox/sandbox install`", bin, err)
			return nil
		}
	}
	path, err := sandboxFile()
	if err != nil {
		unavailable("no sandbox: %v", err)
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		unavailable("no sandbox (%v); start one with `sandbox/sandbox up`", err)
		return nil
	}
	var s Sandbox
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	if len(s.VMs) == 0 || s.NBDB == "" {
		t.Fatalf("%s lists no VMs or no NB DB; rerun `sandbox/sandbox up`", path)
	}
	if s.Cloud == "" { // written before clouds could be chosen
		s.Cloud = cloudNeutrond
	}
	return &s
}

// VM returns the VM called name.
func (s *Sandbox) VM(t *testing.T, name string) VM {
	t.Helper()
	for _, vm := range s.VMs {
		if vm.Name == name {
			return vm
		}
	}
	t.Fatalf("sandbox has no VM %q", name)
	return VM{}
}

// User returns the user called name ("admin", "demo", "alt").
func (s *Sandbox) User(t *testing.T, name string) User {
	t.Helper()
	for _, u := range s.Users {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("sandbox has no user %q", name)
	return User{}
}

// Env is the environment a user of vm acting as tenant sees: what
// `sandbox/sandbox env --tenant T VM` prints.
func (s *Sandbox) Env(t *testing.T, vm VM, tenant string) []string {
	t.Helper()
	u := s.User(t, tenant)
	return []string{
		"OS_AUTH_URL=" + s.AuthURL,
		"OS_USERNAME=" + u.Name,
		"OS_PASSWORD=" + u.Password,
		"OS_PROJECT_NAME=" + u.Project,
		"OS_USER_DOMAIN_NAME=Default",
		"OS_PROJECT_DOMAIN_NAME=Default",
		"OS_IDENTITY_API_VERSION=3",
		"OS_VIF_ID=" + vm.VIFID,
		"OVN_NB_DB=" + s.NBDB,
		"OVN_SB_DB=" + s.SBDB,
		"OVN_DOCKER_OVSDB=" + vm.OVSDB,
		"OVN_DOCKER_BRIDGE=" + vm.Bridge,
	}
}

// cmdTimeout bounds every command a test runs, so a hung tool fails the
// test instead of the whole suite's timeout.
const cmdTimeout = 30 * time.Second

// scriptTimeout bounds a sandbox/sandbox command: `up` on a running
// sandbox checks and redoes every step for two hypervisors and three VMs,
// which took up to a minute on a busy 2-core machine.
const scriptTimeout = 3 * time.Minute

// run runs a command and returns its combined output; the error names the
// command and carries its output.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// mustRun runs a command and fails the test if it fails. It also serves
// cleanups, which run after t.Context() is cancelled; cmdTimeout bounds it.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(context.Background(), nil, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// InNetns runs a command in network namespace ns.
func InNetns(ctx context.Context, ns string, args ...string) (string, error) {
	return run(ctx, nil, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// MustInNetns runs a command in network namespace ns, failing the test if it fails.
func MustInNetns(t *testing.T, ns string, args ...string) string {
	t.Helper()
	return mustRun(t, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// VMExec runs a command inside vm as tenant would (`sandbox exec`), returning
// its combined output.
func (s *Sandbox) VMExec(t *testing.T, vm VM, tenant string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := vm.Command(ctx, args...)
	cmd.Env = append(withoutDockerHost(os.Environ()), s.Env(t, vm, tenant)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s: %w: %s", vm.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// withoutDockerHost is env without what would point docker elsewhere than
// the engine of the VM it runs in.
func withoutDockerHost(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "DOCKER_HOST=") && !strings.HasPrefix(e, "DOCKER_CONTEXT=") {
			out = append(out, e)
		}
	}
	return out
}

// NBCtl runs ovn-nbctl against the sandbox's Northbound DB.
func (s *Sandbox) NBCtl(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "ovn-nbctl", append([]string{"--db=" + s.NBDB, "--timeout=20"}, args...)...))
}

// NBCtlWait is NBCtl that returns once every hypervisor has applied the
// change (--wait=hv), so what a test observes next is the converged state.
func (s *Sandbox) NBCtlWait(t *testing.T, args ...string) string {
	t.Helper()
	return s.NBCtl(t, append([]string{"--wait=hv"}, args...)...)
}

// VSCtl runs ovs-vsctl against vm's own OVSDB.
func (vm VM) VSCtl(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, "ovs-vsctl", append([]string{"--db=" + vm.OVSDB, "--timeout=20"}, args...)...))
}

// uniqueName makes a name for something a test creates: the sandbox's prefix
// and a hash of the test's name and what, short enough for a link (≤ 15).
func (s *Sandbox) uniqueName(t *testing.T, what string) string {
	h := fnv.New32a()
	h.Write([]byte(t.Name() + "/" + what))
	return fmt.Sprintf("%s-%06x", s.Name, h.Sum32()&0xffffff)
}

// NewNetns creates a network namespace for the test (lo up, IPv6 off to keep
// captures quiet) and deletes it, and the links in it, when the test ends.
func (s *Sandbox) NewNetns(t *testing.T, what string) string {
	t.Helper()
	ns := s.uniqueName(t, "netns/"+what)
	_, _ = run(t.Context(), nil, "ip", "netns", "del", ns) // left over from a killed run
	mustRun(t, "ip", "netns", "add", ns)
	t.Cleanup(func() {
		if _, err := run(context.Background(), nil, "ip", "netns", "del", ns); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	MustInNetns(t, ns, "ip", "link", "set", "lo", "up")
	MustInNetns(t, ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

// Ping sends one echo request from netns ns to ip and waits one second.
func Ping(ctx context.Context, ns, ip string) error {
	_, err := InNetns(ctx, ns, "ping", "-n", "-c", "1", "-W", "1", ip)
	return err
}

// pingTries bounds how often a ping is retried while OVN converges.
const pingTries = 10

// PingEventually fails the test unless ns reaches ip within pingTries pings.
func PingEventually(t *testing.T, ns, ip string) {
	t.Helper()
	var err error
	for range pingTries {
		if err = Ping(t.Context(), ns, ip); err == nil {
			return
		}
	}
	t.Fatalf("%s cannot reach %s after %d pings: %v", ns, ip, pingTries, err)
}

// PingNever fails the test if ns gets any reply from ip over tries pings.
// Make the change under test with NBCtlWait first, so that the silence is
// the converged state and not a race.
func PingNever(t *testing.T, ns, ip string, tries int) {
	t.Helper()
	for i := range tries {
		if err := Ping(t.Context(), ns, ip); err == nil {
			t.Fatalf("%s got a reply from %s (ping %d of %d), want none", ns, ip, i+1, tries)
		}
	}
}

// Capture is a running tcpdump -e -n in a namespace.
type Capture struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // stdout: written by exec's copier until Wait returns
	stderr bytes.Buffer // read only after exited is closed
	exited chan struct{}
	err    error // of Wait, set before exited is closed
	once   sync.Once
}

// StartCapture starts tcpdump on iface in ns with a capture filter and
// returns once it listens; Stop ends it. The test's cleanup stops it too.
func StartCapture(t *testing.T, ns, iface, filter string) *Capture {
	t.Helper()
	args := []string{"netns", "exec", ns, "tcpdump", "--immediate-mode", "-l", "-n", "-e", "-i", iface}
	args = append(args, strings.Fields(filter)...)
	c := &Capture{cmd: exec.Command("ip", args...), exited: make(chan struct{})}
	c.cmd.Stdout = &c.out
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting tcpdump on %s in %s: %v", iface, ns, err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			c.stderr.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "listening on") {
				close(listening)
				signalled = true
			}
		}
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() { c.Stop() })
	select {
	case <-listening:
	case <-c.exited:
		t.Fatalf("tcpdump on %s in %s exited: %v: %s", iface, ns, c.err, strings.TrimSpace(c.stderr.String()))
	case <-time.After(10 * time.Second):
		c.Stop()
		t.Fatalf("tcpdump on %s in %s did not start listening within 10s", iface, ns)
	}
	return c
}

// Stop ends the capture and returns the lines tcpdump printed.
func (c *Capture) Stop() []string {
	c.once.Do(func() {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
	})
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(c.out.String()), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// Background is a command running in a namespace while the test goes on.
type Background struct {
	cmd    *exec.Cmd
	out    bytes.Buffer
	exited chan struct{}
	err    error
}

// StartInNetns starts a command in ns and returns at once; the test's
// cleanup kills it if it still runs.
func StartInNetns(t *testing.T, ns string, args ...string) *Background {
	t.Helper()
	b := &Background{cmd: exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...), exited: make(chan struct{})}
	b.cmd.Stdout = &b.out
	b.cmd.Stderr = &b.out
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("starting %v in %s: %v", args, ns, err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.exited
	})
	return b
}

// Wait waits up to d for the command to end and returns its combined output.
func (b *Background) Wait(d time.Duration) (string, error) {
	select {
	case <-b.exited:
		if b.err != nil {
			return b.out.String(), fmt.Errorf("%v: %w: %s", b.cmd.Args, b.err, strings.TrimSpace(b.out.String()))
		}
		return b.out.String(), nil
	case <-time.After(d):
		return "", fmt.Errorf("%v still running after %s", b.cmd.Args, d)
	}
}

// The script's env lines and the Go helpers' Env describe the same sandbox.
func TestSandboxEnvMatchesFacts(t *testing.T) {
	s := needSandbox(t)
	for _, tc := range []struct{ tenant, vm string }{{"demo", "vm1"}, {"alt", "vm2"}} {
		out, code := s.Script(t, "env", "--tenant", tc.tenant, tc.vm)
		if code != 0 {
			t.Fatalf("sandbox env --tenant %s %s: exit %d", tc.tenant, tc.vm, code)
		}
		got := map[string]string{}
		for l := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
			if !ok {
				t.Fatalf("sandbox env printed %q, want export K=V lines", l)
			}
			got[k] = v
		}
		want := map[string]string{}
		for _, kv := range s.Env(t, s.VM(t, tc.vm), tc.tenant) {
			k, v, _ := strings.Cut(kv, "=")
			want[k] = v
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sandbox env --tenant %s %s (-facts +script):\n%s", tc.tenant, tc.vm, diff)
		}
	}
}

// sandbox exec runs in the VM's netns, with its environment, and passes the
// exit code on.
func TestSandboxExecRunsInVM(t *testing.T) {
	s := needSandbox(t)
	vm := s.VM(t, "vm2")
	out, code := s.Script(t, "exec", "--tenant", "alt", vm.Name, "--",
		"sh", "-c", `ip -4 -o addr show dev "$OVN_DOCKER_BRIDGE" | awk '{print $4}'; echo "$OS_VIF_ID $OS_USERNAME"; exit 3`)
	if code != 3 {
		t.Errorf("exit code %d, want 3 (the command's)", code)
	}
	want := fmt.Sprintf("%s/24\n%s alt", vm.IP, vm.VIFID)
	if diff := cmp.Diff(want, strings.TrimSpace(out)); diff != "" {
		t.Errorf("sandbox exec output (-want +got):\n%s", diff)
	}
}

// Every VM reaches the one host address the cloud API will listen on.
func TestVMsReachCloudAPIHost(t *testing.T) {
	s := needSandbox(t)
	for _, vm := range s.VMs {
		PingEventually(t, vm.Netns, s.APIHostIP)
	}
}

// readPidFile is the pid a daemon's pid file names.
func readPidFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	return pid, nil
}
