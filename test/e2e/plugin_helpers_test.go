package e2e

// Helpers for the ovn-docker plugin tests: the plugin built once per test
// binary, tenants' Keystone tokens, the VMs' Neutron ports, running the
// plugin inside a VM as a user would, and snapshots of everything the
// plugin can leave behind.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// pluginBuild builds cmd/ovn-docker once, statically (the pause image is
// made from the executable itself).
var pluginBuild = sync.OnceValues(func() (string, error) {
	dir, err := buildCommand("ovn-docker")
	return filepath.Join(dir, "ovn-docker"), err
})

// buildCommand builds ./cmd/NAME statically into a new temporary
// directory and returns the directory.
func buildCommand(name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", name+"-e2e-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %w: %s", name, err, out)
	}
	return dir, nil
}

// pluginRig is the sandbox as the plugin tests use it.
type pluginRig struct {
	s      *Sandbox
	bin    string
	tokens map[string]string        // tenant -> token
	clouds map[string]*cloud.Client // tenant -> Neutron as that tenant
	vif    map[string]string        // VM name -> its Neutron port
}

// newPluginRig needs a sandbox whose cloud API answers and whose VM ports
// are Neutron ports (found by the VMs' MACs, as the plugin itself would).
func newPluginRig(t *testing.T) *pluginRig {
	t.Helper()
	s := needSandbox(t)
	unavailable := t.Skipf
	if os.Getenv(e2eEnv) == "1" {
		unavailable = t.Fatalf
	}
	bin, err := pluginBuild()
	if err != nil {
		t.Fatal(err)
	}
	r := &pluginRig{s: s, bin: bin, tokens: map[string]string{}, clouds: map[string]*cloud.Client{}, vif: map[string]string{}}
	ctx := t.Context()
	for _, tenant := range []string{"demo", "alt"} {
		tok, err := r.issueToken(ctx, s.User(t, tenant))
		if err != nil {
			unavailable("the sandbox's cloud API does not issue tokens (%v); is ovn-neutrond running at %s?", err, s.AuthURL)
			return nil
		}
		r.tokens[tenant] = tok
		cl, err := cloud.Connect(ctx, cloud.Options{Token: tok, Getenv: func(k string) string {
			if k == "OS_AUTH_URL" {
				return s.AuthURL
			}
			return ""
		}}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("connecting as %s: %v", tenant, err)
		}
		r.clouds[tenant] = cl
	}
	for _, vm := range s.VMs {
		ps, err := r.clouds[vm.Tenant].ListPorts(ctx, cloud.PortFilter{MAC: vm.MAC})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.ParentName == "" {
				r.vif[vm.Name] = p.ID
			}
		}
		if r.vif[vm.Name] == "" {
			unavailable("VM %s has no Neutron port with MAC %s (the sandbox makes VM ports through the API)", vm.Name, vm.MAC)
			return nil
		}
	}
	return r
}

func (r *pluginRig) issueToken(ctx context.Context, u User) (string, error) {
	p, err := openstack.NewClient(r.s.AuthURL)
	if err != nil {
		return "", err
	}
	p.HTTPClient.Timeout = 10 * time.Second
	ao := gophercloud.AuthOptions{
		IdentityEndpoint: r.s.AuthURL, Username: u.Name, Password: u.Password, DomainName: "Default",
		Scope: &gophercloud.AuthScope{ProjectName: u.Project, DomainName: "Default"},
	}
	if err := openstack.AuthenticateV3(ctx, p, &ao, gophercloud.EndpointOpts{}); err != nil {
		return "", err
	}
	return p.Token(), nil
}

// result of one plugin invocation.
type result struct {
	stdout, stderr string
	code           int
}

func (res result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
}

// vmEnv is what a user inside vm has: the cloud's auth URL, the VM's OVSDB
// and bridge; Docker is the VM's own engine, found by its default socket. No password and no OS_VIF_ID: tests pass --cred and
// --vif-id like the user does.
func (r *pluginRig) vmEnv(vm VM) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"OS_AUTH_URL=" + r.s.AuthURL,
		"OVN_DOCKER_OVSDB=" + vm.OVSDB,
		"OVN_DOCKER_BRIDGE=" + vm.Bridge,
	}
}

// plugin runs `ovn-docker ARGS…` inside vm with env added to vmEnv. A
// literal "$TOKEN" / "$VIF_ID" / "$OS_VIF_ID" in an argument is replaced, so tests can be
// written as the user types them.
func (r *pluginRig) plugin(t *testing.T, vm VM, tenant string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = slices.Clone(args)
	for i, a := range args {
		a = strings.ReplaceAll(a, "$TOKEN", r.tokens[tenant])
		a = strings.ReplaceAll(a, "$OS_VIF_ID", r.vif[vm.Name]) // as `sandbox exec` sets it
		args[i] = strings.ReplaceAll(a, "$VIF_ID", r.vif[vm.Name])
	}
	cmd := vm.Command(ctx, append([]string{r.bin}, args...)...)
	cmd.Env = append(r.vmEnv(vm), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running ovn-docker %v: %v", args, err)
	}
	return res
}

// mustPlugin is plugin that fails the test on a non-zero exit.
func (r *pluginRig) mustPlugin(t *testing.T, vm VM, tenant string, args ...string) string {
	t.Helper()
	res := r.plugin(t, vm, tenant, nil, args...)
	if res.code != 0 {
		t.Fatalf("ovn-docker %s:\n%s", strings.Join(args, " "), res)
	}
	return res.stdout
}

// docker runs the docker CLI inside vm, against the VM's own engine.
func (r *pluginRig) docker(ctx context.Context, vm VM, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := vm.Command(ctx, append([]string{"docker"}, args...)...)
	cmd.Env = withoutDockerHost(os.Environ())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

func (r *pluginRig) mustDocker(t *testing.T, vm VM, args ...string) string {
	t.Helper()
	out, err := r.docker(context.Background(), vm, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// createNetwork makes a network for the test and deletes it at the end.
func (r *pluginRig) createNetwork(t *testing.T, tenant, what string, extra ...string) string {
	t.Helper()
	name := r.s.uniqueName(t, "net/"+what)
	vm := r.s.VMs[0]
	r.plugin(t, vm, tenant, nil, "--cred=$TOKEN", "delete", "network", name) // left over from a killed run
	r.mustPlugin(t, vm, tenant, append([]string{"--cred=$TOKEN", "create", "network", name}, extra...)...)
	t.Cleanup(func() {
		if res := r.plugin(t, vm, tenant, nil, "--cred=$TOKEN", "delete", "network", name); res.code != 0 {
			t.Errorf("cleanup: deleting network %s:\n%s", name, res)
		}
	})
	return name
}

// psRow is one row of `ovn-docker ps -o json`.
type psRow struct {
	OVSPort    string   `json:"ovs_port"`
	VLAN       int      `json:"vlan"`
	Container  string   `json:"container"`
	IfName     string   `json:"ifname"`
	Network    string   `json:"network"`
	NetworkID  string   `json:"network_id"`
	PortID     string   `json:"port_id"`
	MAC        string   `json:"mac"`
	Addresses  []string `json:"addresses"`
	Status     string   `json:"status"`
	Containers []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"containers"`
}

func (r *pluginRig) ps(t *testing.T, vm VM, tenant string) []psRow {
	t.Helper()
	out := r.mustPlugin(t, vm, tenant, "--cred=$TOKEN", "ps", "-o", "json")
	var rows []psRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("ps -o json: %v: %s", err, out)
	}
	return rows
}

// rowOf finds the ps row of a user container (by full or short id).
func rowOf(t *testing.T, rows []psRow, id string) psRow {
	t.Helper()
	for _, r := range rows {
		for _, c := range r.Containers {
			if strings.HasPrefix(c.ID, id) {
				return r
			}
		}
	}
	t.Fatalf("container %s not in ovn-docker ps: %+v", id, rows)
	return psRow{}
}

// ip is the container's IPv4 address from a ps row.
func (row psRow) ip(t *testing.T) string {
	t.Helper()
	for _, a := range row.Addresses {
		if ip, _, ok := strings.Cut(a, "/"); ok && !strings.Contains(ip, ":") {
			return ip
		}
	}
	t.Fatalf("no IPv4 address in %+v", row)
	return ""
}

// rmAtEnd removes a container through the plugin when the test ends,
// unless the test removed it already.
func (r *pluginRig) rmAtEnd(t *testing.T, vm VM, tenant, id string) {
	t.Cleanup(func() {
		res := r.plugin(t, vm, tenant, nil, "--cred=$TOKEN", "rm", id)
		if res.code != 0 && !strings.Contains(res.stderr, "No such container: "+id) {
			t.Errorf("cleanup: rm %s:\n%s", id, res)
		}
	})
}

// leftovers is everything the plugin can leave behind for one VM/tenant.
type leftovers struct {
	Containers  []string // all containers of the VM's engine
	OVSPorts    []string // ports of the VM bridge
	Links       []string // links in the VM
	NeutronPort []string // the tenant's container ports
	LSPs        []string // child ports of the VM's port in NB
}

func (r *pluginRig) leftovers(t *testing.T, vm VM, tenant string) leftovers {
	t.Helper()
	var l leftovers
	l.Containers = strings.Fields(r.mustDocker(t, vm, "ps", "-aq", "--no-trunc"))
	l.OVSPorts = strings.Fields(vm.VSCtl(t, "list-ports", vm.Bridge))
	// Stdout only: while a namespace is being destroyed, ip warns on stderr
	// ("Peer netns reference is invalid.") in the middle of a line.
	links, err := exec.CommandContext(t.Context(), "ip", "netns", "exec", vm.Netns, "ip", "-o", "link", "show").Output()
	if err != nil {
		t.Fatalf("ip link show in %s: %v", vm.Netns, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(links)), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 {
			l.Links = append(l.Links, strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	// The plugin's ports: container ports (binding-profile mode) and
	// ports marked as some VM's children (trunk mode).
	ps, err := r.clouds[tenant].ListPorts(t.Context(), cloud.PortFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.DeviceOwner == cloud.DeviceOwner || strings.HasPrefix(p.Description, "ovn-docker child of ") {
			l.NeutronPort = append(l.NeutronPort, p.ID)
		}
	}
	l.LSPs = strings.Fields(r.s.NBCtl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "parent_name="+r.vif[vm.Name]))
	for _, s := range [][]string{l.Containers, l.OVSPorts, l.Links, l.NeutronPort, l.LSPs} {
		slices.Sort(s)
	}
	return l
}

// portsSettled waits until two listings of tenant's Neutron ports, taken
// a settle interval apart, agree (at most 30 s): until the server has
// finished the requests that a killed client had sent.
func (r *pluginRig) portsSettled(t *testing.T, tenant string) {
	t.Helper()
	const settle = 1500 * time.Millisecond
	list := func() []string {
		ps, err := r.clouds[tenant].ListPorts(t.Context(), cloud.PortFilter{})
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids
	}
	prev := list()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(settle)
		cur := list()
		if slices.Equal(prev, cur) {
			return
		}
		t.Logf("Neutron ports still changing after the kill: %v -> %v", prev, cur)
		prev = cur
	}
	t.Fatalf("%s's Neutron ports still changing after 30 s", tenant)
}

// portGone checks that nothing of one attachment is left.
func (r *pluginRig) portGone(t *testing.T, vm VM, tenant string, row psRow) {
	t.Helper()
	if _, err := r.clouds[tenant].GetPort(t.Context(), row.PortID); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("Neutron port %s still there (err %v)", row.PortID, err)
	}
	if out := r.s.NBCtl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+row.PortID); out != "" {
		t.Errorf("Logical_Switch_Port %s still there", row.PortID)
	}
	if out := vm.VSCtl(t, "--bare", "--columns=name", "find", "Port", fmt.Sprintf("tag=%d", row.VLAN)); out != "" {
		t.Errorf("VLAN %d still claimed by OVS port %s", row.VLAN, out)
	}
	if out, err := InNetns(t.Context(), vm.Netns, "ip", "link", "show", row.OVSPort); err == nil {
		t.Errorf("veth %s still there: %s", row.OVSPort, out)
	}
}

// cloudChild describes an orphan child port of vm's port on row's network,
// with a VLAN no access port uses.
func cloudChild(r *pluginRig, vm string, row psRow) cloud.ChildPortOpts {
	return cloud.ChildPortOpts{NetworkID: row.NetworkID, Name: "orphan", ParentID: r.vif[vm], Tag: 4000}
}

// makeOrphan makes a child port of vm's port as a crashed plugin would
// leave it, in the mode the plugin uses on this cloud: a marked subport of
// the VM's trunk (trunk mode) or a binding:profile child.
func (r *pluginRig) makeOrphan(t *testing.T, vm string, o cloud.ChildPortOpts) cloud.Port {
	t.Helper()
	cl := r.clouds["demo"]
	if ok, err := cl.HasExtension(t.Context(), cloud.ExtTrunk); err != nil || !ok {
		p, err := cl.CreateChildPort(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p, err := cl.CreatePort(t.Context(), cloud.PortOpts{NetworkID: o.NetworkID, Name: o.Name, Description: "ovn-docker child of " + r.vif[vm]})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cl.EnsureTrunk(t.Context(), r.vif[vm], "ovn-docker")
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.AddSubport(t.Context(), tr.ID, p.ID, o.Tag); err != nil {
		t.Fatal(err)
	}
	return p
}

// deleteBehindBack deletes a Neutron port of the plugin's as someone else
// would: off its trunk first, if it is a subport.
func (r *pluginRig) deleteBehindBack(t *testing.T, vm, id string) {
	t.Helper()
	cl := r.clouds["demo"]
	if tr, err := cl.FindTrunk(t.Context(), r.vif[vm]); err == nil {
		if err := cl.RemoveSubport(t.Context(), tr.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.DeletePort(t.Context(), id); err != nil {
		t.Fatal(err)
	}
}
