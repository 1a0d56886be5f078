package e2e

// The hypervisor-side VM proxy (ovn-docker-proxy, sandbox/lib/proxy.sh):
// VMs with no credentials at all manage their containers' ports through
// it, reached at 169.254.169.254 through their network's OVN localport, and
// may touch nothing but the children of their own port.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

const proxyURL = "http://169.254.169.254:9696"

// proxyCall sends one request to the VM proxy from inside netns ns with
// curl and returns the HTTP status (0: no answer) and body.
func proxyCall(t *testing.T, ns, method, path, body string, extra ...string) (int, string) {
	t.Helper()
	args := append([]string{"curl", "-s", "-m", "5", "-X", method, "-w", "\n%{http_code}"}, extra...)
	if body != "" {
		args = append(args, "-H", "Content-Type: application/json", "--data-binary", body)
	}
	out, _ := InNetns(t.Context(), ns, append(args, proxyURL+path)...)
	i := strings.LastIndex(out, "\n")
	if i < 0 {
		return 0, out
	}
	code, err := strconv.Atoi(strings.TrimSpace(out[i+1:]))
	if err != nil {
		return 0, out
	}
	return code, out[:i]
}

// proxyPlugin runs the plugin inside vm as a user with no credentials:
// no OS_* variable, no token, no --vif-id.
func (r *pluginRig) proxyPlugin(t *testing.T, vm VM, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := vm.Command(ctx, append([]string{r.bin}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "OVN_DOCKER_OVSDB=" + vm.OVSDB, "OVN_DOCKER_BRIDGE=" + vm.Bridge}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	if e, ok := err.(interface{ ExitCode() int }); ok && err != nil {
		res.code = e.ExitCode()
	} else if err != nil {
		t.Fatalf("running ovn-docker %v: %v", args, err)
	}
	return res
}

func (r *pluginRig) mustProxyPlugin(t *testing.T, vm VM, args ...string) string {
	t.Helper()
	res := r.proxyPlugin(t, vm, args...)
	if res.code != 0 {
		t.Fatalf("ovn-docker %s (proxy mode):\n%s", strings.Join(args, " "), res)
	}
	return res.stdout
}

func (s *Sandbox) hv(t *testing.T, name string) Hypervisor {
	t.Helper()
	for _, h := range s.Hypervisors {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no hypervisor %s", name)
	return Hypervisor{}
}

// proxyNetns is the namespace of network net's localport on hv.
func (s *Sandbox) proxyNetns(hv, net string) string { return s.Name + "-" + hv + "p-" + net }

func (s *Sandbox) proxyLog(t *testing.T, hv string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.hv(t, hv).Dir, "ovn-docker-proxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// portIDs is the ids of demo's ports on a network.
func (r *pluginRig) portIDs(t *testing.T, net string) map[string]bool {
	t.Helper()
	ps := r.networkPorts(t, net)
	out := map[string]bool{}
	for _, p := range ps {
		out[p.ID] = true
	}
	return out
}

func newProxyRig(t *testing.T) (*pluginRig, VM, VM) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	if code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/ovn-docker/whoami", ""); code != http.StatusOK {
		t.Fatalf("the VM proxy does not answer vm1 (sandbox up starts it): %d %s", code, body)
	}
	return r, vm1, vm2
}

func TestProxyWhoAmI(t *testing.T) {
	r, vm1, vm2 := newProxyRig(t)
	for _, vm := range []VM{vm1, vm2} {
		code, body := proxyCall(t, vm.Netns, http.MethodGet, "/ovn-docker/whoami", "")
		var who cloud.WhoAmI
		if code != http.StatusOK || json.Unmarshal([]byte(body), &who) != nil {
			t.Fatalf("whoami from %s: %d %s", vm.Name, code, body)
		}
		if who.VIFID != r.vif[vm.Name] || who.ProjectID != r.s.User(t, "demo").ProjectID || who.NetworkID != r.s.Network.ID {
			t.Errorf("whoami from %s = %+v, want port %s, project %s, network %s", vm.Name, who, r.vif[vm.Name], r.s.User(t, "demo").ProjectID, r.s.Network.ID)
		}
	}
}

func TestProxyRefusesChildOfAnotherVM(t *testing.T) {
	r, vm1, vm2 := newProxyRig(t)
	net := r.s.Network.ID
	before := r.portIDs(t, net)
	for _, tc := range []struct{ name, body string }{
		{"binding:profile parent", fmt.Sprintf(`{"port": {"network_id": %q, "binding:profile": {"parent_name": %q, "tag": 77}}}`, net, r.vif[vm2.Name])},
		{"trunk-mode marker", fmt.Sprintf(`{"port": {"network_id": %q, "description": "ovn-docker child of %s via x"}}`, net, r.vif[vm2.Name])},
		{"project_id", fmt.Sprintf(`{"port": {"network_id": %q, "project_id": "other"}}`, net)},
	} {
		code, body := proxyCall(t, vm1.Netns, http.MethodPost, "/v2.0/ports", tc.body)
		if code != http.StatusForbidden {
			t.Errorf("%s: vm1 creating a child of vm2's port: %d %s, want 403", tc.name, code, body)
		}
	}
	// vm2's trunk: vm1 may neither read nor change it.
	tr, err := r.clouds["demo"].EnsureTrunk(t.Context(), r.vif[vm2.Name], "ovn-docker")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/v2.0/trunks/"+tr.ID, ""); code != http.StatusNotFound {
		t.Errorf("vm1 reading vm2's trunk: %d %s, want 404", code, body)
	}
	if code, body := proxyCall(t, vm1.Netns, http.MethodPut, "/v2.0/trunks/"+tr.ID+"/add_subports", `{"sub_ports": [{"port_id": "x", "segmentation_type": "vlan", "segmentation_id": 9}]}`); code != http.StatusForbidden {
		t.Errorf("vm1 adding to vm2's trunk: %d %s, want 403", code, body)
	}
	if diff := diffKeys(before, r.portIDs(t, net)); diff != "" {
		t.Errorf("ports appeared or went on the network: %s", diff)
	}
	if !strings.Contains(r.s.proxyLog(t, "hv1"), "vm_port="+r.vif[vm1.Name]) {
		t.Errorf("hv1's audit log names no request of vm1's port")
	}
}

func diffKeys(a, b map[string]bool) string {
	var d []string
	for k := range a {
		if !b[k] {
			d = append(d, "-"+k)
		}
	}
	for k := range b {
		if !a[k] {
			d = append(d, "+"+k)
		}
	}
	return strings.Join(d, " ")
}

func TestProxyRefusesDeletingAnotherVMsChild(t *testing.T) {
	r, vm1, vm2 := newProxyRig(t)
	// A port made for vm2's port (trunk mode marks it so), with the
	// tenant's own credentials.
	p, err := r.clouds["demo"].CreatePort(t.Context(), cloud.PortOpts{NetworkID: r.s.Network.ID, Name: "vm2-child", Description: "ovn-docker child of " + r.vif[vm2.Name]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.clouds["demo"].DeletePort(context.Background(), p.ID) })
	if code, body := proxyCall(t, vm1.Netns, http.MethodDelete, "/v2.0/ports/"+p.ID, ""); code != http.StatusForbidden {
		t.Errorf("vm1 deleting vm2's child: %d %s, want 403", code, body)
	}
	if code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/v2.0/ports/"+p.ID, ""); code != http.StatusNotFound {
		t.Errorf("vm1 reading vm2's child: %d %s, want 404", code, body)
	}
	if code, body := proxyCall(t, vm1.Netns, http.MethodDelete, "/v2.0/ports/"+r.vif[vm2.Name], ""); code != http.StatusForbidden {
		t.Errorf("vm1 deleting vm2's own port: %d %s, want 403", code, body)
	}
	if _, err := r.clouds["demo"].GetPort(t.Context(), p.ID); err != nil {
		t.Fatalf("vm2's child is gone after vm1's refused delete: %v", err)
	}
	// vm1's list shows its own port and children only.
	code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/v2.0/ports", "")
	if code != http.StatusOK || strings.Contains(body, p.ID) || strings.Contains(body, r.vif[vm2.Name]) || !strings.Contains(body, r.vif[vm1.Name]) {
		t.Errorf("vm1's port list: %d %s: want its own port and none of vm2's", code, body)
	}
	// vm2 may.
	if code, body := proxyCall(t, vm2.Netns, http.MethodDelete, "/v2.0/ports/"+p.ID, ""); code != http.StatusNoContent {
		t.Errorf("vm2 deleting its own child: %d %s, want 204", code, body)
	}
}

func TestProxySpoofedSourceGetsNoAnswer(t *testing.T) {
	r, vm1, vm2 := newProxyRig(t)
	_ = r
	// vm1 sends with vm2's address: OVN's port security on vm1's port
	// drops it before it reaches any proxy.
	MustInNetns(t, vm1.Netns, "ip", "addr", "add", vm2.IP+"/32", "dev", vm1.Bridge)
	t.Cleanup(func() {
		mustRun(t, "ip", "netns", "exec", vm1.Netns, "ip", "addr", "del", vm2.IP+"/32", "dev", vm1.Bridge)
	})
	code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/ovn-docker/whoami", "", "--interface", vm2.IP, "-m", "4")
	if code != 0 {
		t.Errorf("a request from vm1 with vm2's source address got an answer: %d %s", code, body)
	}
	if strings.Contains(r.s.proxyLog(t, "hv1"), "src="+vm2.IP+":") {
		t.Errorf("hv1's proxy logged a request from %s (vm2 is on hv2): the spoofed packet reached it", vm2.IP)
	}
}

func TestProxyRefusesWhatDoesNotComeThroughAVMPort(t *testing.T) {
	r, _, _ := newProxyRig(t)
	// The localport's own namespace: the request has no VM port behind it.
	ns := r.s.proxyNetns("hv1", r.s.Network.ID)
	code, body := proxyCall(t, ns, http.MethodGet, "/ovn-docker/whoami", "")
	if code != http.StatusForbidden || !strings.Contains(body, "VMs only") {
		t.Errorf("a request from the proxy's namespace: %d %s, want 403 (VMs only)", code, body)
	}
	// The hypervisor itself has no path to it at all.
	if code, body := proxyCall(t, r.s.hv(t, "hv1").Netns, http.MethodGet, "/ovn-docker/whoami", "", "-m", "3"); code != 0 {
		t.Errorf("a request from hv1's namespace got %d %s", code, body)
	}
}

func TestProxyBadInput(t *testing.T) {
	r, vm1, _ := newProxyRig(t)
	net := r.s.Network.ID
	before := r.portIDs(t, net)
	big := `{"port": {"network_id": "` + net + `", "name": "` + strings.Repeat("x", 100<<10) + `"}}`
	for _, tc := range []struct {
		name, method, path, body string
		want                     int
		says                     string
	}{
		{"malformed", http.MethodPost, "/v2.0/ports", `{"port": {`, http.StatusBadRequest, "not JSON"},
		{"not an object", http.MethodPost, "/v2.0/ports", `{"port": 3}`, http.StatusBadRequest, "object"},
		{"oversize", http.MethodPost, "/v2.0/ports", big, http.StatusRequestEntityTooLarge, "over"},
		{"unknown network", http.MethodPost, "/v2.0/ports", `{"port": {"network_id": "0000dead-0000-0000-0000-000000000000"}}`, http.StatusNotFound, "could not be found"},
		{"bad network id", http.MethodPost, "/v2.0/ports", `{"port": {"network_id": "../../x"}}`, http.StatusBadRequest, "not a network id"},
		{"unknown attribute", http.MethodPost, "/v2.0/ports", `{"port": {"network_id": "` + net + `", "mac_address": "fa:16:3e:00:00:01"}}`, http.StatusForbidden, "mac_address"},
		{"network create off", http.MethodPost, "/v2.0/networks", `{"network": {"name": "x"}}`, http.StatusForbidden, "turned off"},
		{"other resource", http.MethodGet, "/v2.0/routers", "", http.StatusForbidden, "may not"},
		{"unknown port", http.MethodGet, "/v2.0/ports/0000dead-0000-0000-0000-000000000000", "", http.StatusNotFound, "could not be found"},
	} {
		code, body := proxyCall(t, vm1.Netns, tc.method, tc.path, tc.body)
		if code != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d %.200s, want %d saying %q", tc.name, code, body, tc.want, tc.says)
		}
	}
	if diff := diffKeys(before, r.portIDs(t, net)); diff != "" {
		t.Errorf("ports appeared or went on the network: %s", diff)
	}
	// A client that never finishes its headers is cut off.
	start := time.Now()
	out, err := InNetns(t.Context(), vm1.Netns, "bash", "-c",
		`exec 3<>/dev/tcp/169.254.169.254/9696; printf 'GET /ovn-docker/whoami HTTP/1.1\r\nHost: x\r\n' >&3; timeout 20 cat <&3; echo "rc=$?"`)
	if err != nil || !strings.Contains(out, "rc=0") || time.Since(start) > 15*time.Second {
		t.Errorf("a slow client was not cut off within 15 s (after %v): %v %s", time.Since(start), err, out)
	}
}

func TestProxyRateLimit(t *testing.T) {
	_, vm1, _ := newProxyRig(t)
	args := []string{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}\n", "--parallel", "--parallel-max", "50"}
	for range 400 {
		args = append(args, proxyURL+"/ovn-docker/whoami")
	}
	out := MustInNetns(t, vm1.Netns, args...)
	counts := map[string]int{}
	for _, c := range strings.Fields(out) {
		counts[c]++
	}
	if counts["429"] == 0 || counts["200"] == 0 {
		t.Errorf("a burst of 400 requests got %v: want some 200 and some 429", counts)
	}
	time.Sleep(2 * time.Second) // the bucket refills
	if code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/ovn-docker/whoami", ""); code != http.StatusOK {
		t.Errorf("after the burst: %d %s, want 200", code, body)
	}
}

func TestProxyCredentialIsNowhere(t *testing.T) {
	r, vm1, _ := newProxyRig(t)
	secret := r.s.User(t, "admin").Password
	var seen []string
	for _, path := range []string{"/ovn-docker/whoami", "/v2.0/networks", "/v2.0/ports", "/v2.0/routers", "/v2.0/ports/none"} {
		_, body := proxyCall(t, vm1.Netns, http.MethodGet, path, "", "-i")
		seen = append(seen, body)
	}
	seen = append(seen, r.s.proxyLog(t, "hv1"), r.s.proxyLog(t, "hv2"), mustRun(t, "ps", "-eo", "args"))
	for i, s := range seen {
		if strings.Contains(s, secret) {
			t.Errorf("the proxy's password appears in output %d", i)
		}
		if strings.Contains(strings.ToLower(s), "x-auth-token") || strings.Contains(strings.ToLower(s), "x-subject-token") {
			t.Errorf("a token header appears in output %d", i)
		}
	}
	// Nor in the VM's environment.
	if out := r.mustProxyPlugin(t, vm1, "list", "networks"); !strings.Contains(out, "vmnet") {
		t.Errorf("list networks with no credentials: %s", out)
	}
}

func TestProxyPluginWorkflow(t *testing.T) {
	r, vm1, _ := newProxyRig(t)
	before := r.leftovers(t, vm1, "demo")
	out := r.mustProxyPlugin(t, vm1, "--network="+r.s.Network.ID, "run", "-d", r.s.Image, "sleep", "1d")
	_ = out
	net := r.s.Network.ID
	id := strings.TrimSpace(lastLine(out))
	r.mustProxyPlugin(t, vm1, "--network=vmnet", "run", "-d", "--name", r.s.uniqueName(t, "c2"), r.s.Image, "sleep", "1d")
	var rows []psRow
	if err := json.Unmarshal([]byte(r.mustProxyPlugin(t, vm1, "ps", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	row := rowOf(t, rows, id)
	if row.Status != "ACTIVE" && row.Status != "DOWN" {
		t.Errorf("ps: %+v", row)
	}
	peer := r.s.VM(t, "vm3")
	PingEventually(t, peer.Netns, row.ip(t))
	// attach: a second interface on a container started without one.
	c3 := strings.TrimSpace(r.mustDocker(t, vm1, "run", "-d", "--net=none", r.s.Image, "sleep", "1d"))
	r.mustProxyPlugin(t, vm1, "--network="+net, "attach", c3)
	r.mustProxyPlugin(t, vm1, "rm", id)
	r.mustProxyPlugin(t, vm1, "rm", r.s.uniqueName(t, "c2"))
	r.mustProxyPlugin(t, vm1, "detach", c3)
	r.mustDocker(t, vm1, "rm", "-f", c3)
	r.mustProxyPlugin(t, vm1, "gc")
	r.portGone(t, vm1, "demo", row)
	after := r.leftovers(t, vm1, "demo")
	if d := diffKeys(setOf(before.NeutronPort), setOf(after.NeutronPort)); d != "" {
		t.Errorf("Neutron ports left: %s", d)
	}
	if d := diffKeys(setOf(before.OVSPorts), setOf(after.OVSPorts)); d != "" {
		t.Errorf("OVS ports left: %s", d)
	}
}

func setOf(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestProxyHV2ServesVM2WithHV1Down(t *testing.T) {
	r, vm1, vm2 := newProxyRig(t)
	pid, err := readPidFile(filepath.Join(r.s.hv(t, "hv1").Dir, "ovn-docker-proxy.pid"))
	if err != nil {
		t.Fatal(err)
	}
	// Stopped, not killed: it answers nothing, and comes back at the end.
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	if code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/ovn-docker/whoami", "", "-m", "3"); code != 0 {
		t.Errorf("vm1 got %d %s with hv1's proxy stopped", code, body)
	}
	if code, body := proxyCall(t, vm2.Netns, http.MethodGet, "/ovn-docker/whoami", ""); code != http.StatusOK || !strings.Contains(body, r.vif[vm2.Name]) {
		t.Errorf("vm2 with hv1's proxy stopped: %d %s, want hv2's proxy to answer", code, body)
	}
	if out := r.mustProxyPlugin(t, vm2, "list", "networks"); !strings.Contains(out, "vmnet") {
		t.Errorf("vm2's list networks: %s", out)
	}
}

func TestProxyOtherTenantSeesOnlyItsNetworks(t *testing.T) {
	r, _, _ := newProxyRig(t)
	ctx := t.Context()
	alt := r.clouds["alt"]
	// A network of alt with a VM of alt on hv1 (a namespace whose veth is
	// the VM's port on br-int), served by the proxy.
	n, err := alt.CreateNetwork(ctx, cloud.CreateNetworkOpts{Name: r.s.uniqueName(t, "altnet"), IPv4CIDR: mustPrefix(t, "10.77.0.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := r.issueToken(ctx, r.s.User(t, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, hv := range r.s.Hypervisors {
			_, _ = run(context.Background(), nil, "ip", "netns", "del", r.s.proxyNetns(hv.Name, n.ID))
		}
		if b, err := os.ReadFile(filepath.Join(r.s.Dir, "proxy", n.ID+".port")); err == nil {
			_, _ = run(context.Background(), nil, "curl", "-s", "-X", "DELETE", "-H", "X-Auth-Token: "+admin, r.s.APIURL+"/v2.0/ports/"+strings.TrimSpace(string(b)))
		}
		if err := alt.DeleteNetwork(context.Background(), n.ID); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	lp, code := r.s.Script(t, "proxy-network", n.ID)
	if code != 0 {
		t.Fatalf("sandbox proxy-network %s: exit %d", n.ID, code)
	}
	vmPort, err := alt.CreatePort(ctx, cloud.PortOpts{NetworkID: n.ID, Name: "alt-vm"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alt.DeletePort(context.Background(), vmPort.ID) })
	// Nova's device_owner: the proxy answers VM ports only.
	mustRun(t, "curl", "-sf", "-o", "/dev/null", "-X", "PUT", "-H", "X-Auth-Token: "+admin, "-H", "Content-Type: application/json",
		"-d", `{"port": {"device_owner": "compute:nova", "device_id": "alt-vm"}}`, r.s.APIURL+"/v2.0/ports/"+vmPort.ID)
	hv := r.s.hv(t, "hv1")
	ns := r.s.NewNetns(t, "altvm")
	link := r.s.uniqueName(t, "altlink")
	mustRun(t, "ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", link, "netns", hv.Netns)
	MustInNetns(t, ns, "ip", "link", "set", "eth0", "address", vmPort.MAC.String(), "up")
	MustInNetns(t, ns, "ethtool", "-K", "eth0", "tx", "off")
	MustInNetns(t, hv.Netns, "ethtool", "-K", link, "tx", "off")
	MustInNetns(t, hv.Netns, "ip", "link", "set", link, "up")
	MustInNetns(t, ns, "ip", "addr", "add", vmPort.FixedIPs[0].IP.String()+"/24", "dev", "eth0")
	MustInNetns(t, ns, "ip", "route", "add", "169.254.169.254/32", "via", strings.TrimSpace(lp))
	mustRun(t, "ovs-vsctl", "--db="+hv.OVSDB, "add-port", "br-int", link, "--", "set", "Interface", link, "external_ids:iface-id="+vmPort.ID)
	t.Cleanup(func() {
		_, _ = run(context.Background(), nil, "ovs-vsctl", "--db="+hv.OVSDB, "--if-exists", "del-port", "br-int", link)
	})
	var who cloud.WhoAmI
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := proxyCall(t, ns, http.MethodGet, "/ovn-docker/whoami", "", "-m", "2")
		if code == http.StatusOK && json.Unmarshal([]byte(body), &who) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alt's VM gets no answer from the proxy: %d %s", code, body)
		}
		time.Sleep(time.Second)
	}
	if who.ProjectID != r.s.User(t, "alt").ProjectID || who.VIFID != vmPort.ID {
		t.Errorf("whoami of alt's VM: %+v", who)
	}
	code, body := proxyCall(t, ns, http.MethodGet, "/v2.0/networks", "")
	if code != http.StatusOK || strings.Contains(body, r.s.Network.ID) || !strings.Contains(body, n.ID) {
		t.Errorf("alt's VM lists networks: %d %s: want alt's network and not demo's %s", code, body, r.s.Network.ID)
	}
	if code, body := proxyCall(t, ns, http.MethodGet, "/v2.0/networks/"+r.s.Network.ID, ""); code != http.StatusNotFound {
		t.Errorf("alt's VM shows demo's network: %d %s, want 404", code, body)
	}
	if code, body := proxyCall(t, ns, http.MethodPost, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, r.s.Network.ID)); code != http.StatusNotFound {
		t.Errorf("alt's VM makes a port on demo's network: %d %s, want 404", code, body)
	}
}

func TestProxyKilledMidCreateLeavesNothingGCCannotClean(t *testing.T) {
	r, vm1, _ := newProxyRig(t)
	before := r.leftovers(t, vm1, "demo")
	pidFile := filepath.Join(r.s.hv(t, "hv1").Dir, "ovn-docker-proxy.pid")
	restart := func() {
		if _, code := r.s.Script(t, "proxy-network", r.s.Network.ID); code != 0 {
			t.Fatalf("restarting the proxies: sandbox proxy-network exit %d", code)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := proxyCall(t, vm1.Netns, http.MethodGet, "/ovn-docker/whoami", "", "-m", "2")
			if code == http.StatusOK {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("hv1's proxy is not back: %d %s", code, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Cleanup(func() { r.s.Script(t, "proxy-network", r.s.Network.ID) }) // after a failure half way
	// The kill lands at several moments of a run: once its network is
	// read (before the port create), once the port is made (before it
	// becomes a child: add_subports in trunk mode), and a little later.
	for _, k := range []struct {
		after string
		delay time.Duration
	}{{"list_subnets", 0}, {"create_port", 0}, {"create_port", 20 * time.Millisecond}, {"add_subports", 0}} {
		seen := strings.Count(r.s.proxyLog(t, "hv1"), "action="+k.after)
		done := make(chan result, 1)
		go func() {
			done <- r.proxyPlugin(t, vm1, "--network=vmnet", "run", "-d", r.s.Image, "sleep", "1d")
		}()
		for deadline := time.Now().Add(60 * time.Second); strings.Count(r.s.proxyLog(t, "hv1"), "action="+k.after) == seen; {
			if time.Now().After(deadline) {
				t.Fatalf("the run never made a %s request through hv1's proxy", k.after)
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(k.delay)
		b, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		res := <-done
		t.Logf("killed %v after its %s: run exit %d", k.delay, k.after, res.code)
		restart()
		if res.code == 0 {
			r.mustProxyPlugin(t, vm1, "rm", lastLine(res.stdout))
		}
	}
	t.Logf("Neutron ports left by the kills, for gc: %s", diffKeys(setOf(before.NeutronPort), setOf(r.leftovers(t, vm1, "demo").NeutronPort)))
	r.mustProxyPlugin(t, vm1, "gc")
	after := r.leftovers(t, vm1, "demo")
	for what, d := range map[string]string{
		"Neutron ports": diffKeys(setOf(before.NeutronPort), setOf(after.NeutronPort)),
		"OVS ports":     diffKeys(setOf(before.OVSPorts), setOf(after.OVSPorts)),
		"NB children":   diffKeys(setOf(before.LSPs), setOf(after.LSPs)),
		"containers":    diffKeys(setOf(before.Containers), setOf(after.Containers)),
	} {
		if d != "" {
			t.Errorf("%s left after the kills and gc: %s", what, d)
		}
	}
}
