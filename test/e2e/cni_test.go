package e2e

// End-to-end tests of the CNI plugin ovn-cni inside the sandbox's VMs:
// cnitool (the CNI project's reference runtime, built from its Go module)
// and direct calls as a runtime makes them, against the `ovn-docker
// daemon` the sandbox runs in each VM (its CNI socket is the VM's
// /run/ovn-docker/cni.sock).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// cniBuild builds ovn-cni once, next to the cnitool `sandbox up` built.
var cniBuild = sync.OnceValues(func() (string, error) {
	dir, err := buildCommand("ovn-cni")
	if err != nil {
		return "", err
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	tool := filepath.Join(root, "bin", "cnitool")
	if _, err := os.Stat(tool); err != nil {
		return "", fmt.Errorf("cnitool: %w (sandbox/sandbox up builds it)", err)
	}
	if err := os.Symlink(tool, filepath.Join(dir, "cnitool")); err != nil {
		return "", err
	}
	return dir, nil
})

// cniRig is a VM with ovn-cni and a network configuration for a test.
type cniRig struct {
	*pluginRig
	bin     string // ovn-cni and cnitool
	confDir string
	network string // the Neutron network
	netID   string
}

// debianCNI is where Debian's containernetworking-plugins are.
const debianCNI = "/usr/lib/cni"

func (vm VM) cniSocket() string { return filepath.Join(vm.Dir, "run/ovn-docker/cni.sock") }

func newCNIRig(t *testing.T) *cniRig {
	t.Helper()
	r := newPluginRig(t)
	bin, err := cniBuild()
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range r.s.VMs {
		c, err := net.Dial("unix", vm.cniSocket())
		if err != nil {
			t.Fatalf("no ovn-docker daemon serves CNI in %s (%v): the sandbox starts one in each VM", vm.Name, err)
		}
		c.Close()
	}
	if _, err := os.Stat(filepath.Join(debianCNI, "loopback")); err != nil {
		t.Fatalf("Debian's containernetworking-plugins are missing (%v): run sandbox/sandbox install", err)
	}
	name := r.createNetwork(t, "demo", "cni")
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	c := &cniRig{pluginRig: r, bin: bin, confDir: t.TempDir(), network: name, netID: nw.ID}
	c.writeConf(t, "ovn-net", `{"cniVersion":"1.1.0","name":"ovn-net","type":"ovn-cni","network":"`+name+`"}`)
	return c
}

func (c *cniRig) writeConf(t *testing.T, name, conf string) {
	t.Helper()
	ext := ".conf"
	if strings.Contains(conf, `"plugins"`) {
		ext = ".conflist"
	}
	if err := os.WriteFile(filepath.Join(c.confDir, name+ext), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cniResult is the part of a CNI result the tests look at.
type cniResult struct {
	CNIVersion string `json:"cniVersion"`
	Interfaces []struct {
		Name    string `json:"name"`
		Mac     string `json:"mac"`
		Mtu     int    `json:"mtu"`
		Sandbox string `json:"sandbox"`
	} `json:"interfaces"`
	IPs []struct {
		Interface *int   `json:"interface"`
		Address   string `json:"address"`
		Gateway   string `json:"gateway"`
	} `json:"ips"`
	Routes []struct {
		Dst string `json:"dst"`
		GW  string `json:"gw"`
	} `json:"routes"`
	// A CNI error.
	Code uint   `json:"code"`
	Msg  string `json:"msg"`
}

func (r cniResult) ip() string { return strings.Split(r.IPs[0].Address, "/")[0] }

// cnitool runs `cnitool CMD NET NETNS` in vm; it returns stdout and the
// exit code.
func (c *cniRig) cnitool(t *testing.T, vm VM, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := vm.Command(ctx, append([]string{filepath.Join(c.bin, "cnitool")}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "CNI_PATH=" + c.bin + ":" + debianCNI, "NETCONFPATH=" + c.confDir}, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String() + errOut.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("cnitool %v: %v", args, err)
	}
	return out.String(), 0
}

// add attaches the host namespace ns (visible in every VM under
// /var/run/netns) through cnitool in vm, DEL when the test ends.
func (c *cniRig) add(t *testing.T, vm VM, net, ns string) cniResult {
	t.Helper()
	out, code := c.cnitool(t, vm, nil, "add", net, "/var/run/netns/"+ns)
	if code != 0 {
		t.Fatalf("cnitool add %s %s in %s: exit %d: %s", net, ns, vm.Name, code, out)
	}
	t.Cleanup(func() {
		if out, code := c.cnitool(t, vm, nil, "del", net, "/var/run/netns/"+ns); code != 0 {
			t.Errorf("cleanup: cnitool del: exit %d: %s", code, out)
		}
	})
	var res cniResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Interfaces) == 0 || len(res.IPs) == 0 {
		t.Fatalf("cnitool add printed no CNI result (%v): %s", err, out)
	}
	return res
}

// direct runs ovn-cni in vm as a runtime would: CNI_* variables, the
// configuration on stdin; it returns stdout, parsed, and the exit code.
func (c *cniRig) direct(t *testing.T, vm VM, command, containerID, netns, conf string) (cniResult, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := vm.Command(ctx, filepath.Join(c.bin, "ovn-cni"))
	cmd.Env = []string{"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + containerID, "CNI_NETNS=" + netns, "CNI_IFNAME=eth0", "CNI_PATH=" + c.bin}
	cmd.Stdin = strings.NewReader(conf)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var res cniResult
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("ovn-cni %s printed no JSON: %s", command, out.String())
		}
	}
	return res, out.String(), code
}

// cniPorts: the VM bridge's access ports of CNI attachments, by name,
// with their VLAN and CNI container id.
type cniPort struct {
	Name, Container, IfName, Netns string
	VLAN                           int
}

func cniPorts(t *testing.T, vm VM) []cniPort {
	t.Helper()
	out := vm.VSCtl(t, "--format=json", "--columns=name,tag,external_ids", "list", "Port")
	var doc struct {
		Data [][]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("ovs-vsctl list Port: %v", err)
	}
	var ps []cniPort
	for _, row := range doc.Data {
		p := cniPort{Name: row[0].(string)}
		if tag, ok := row[1].(float64); ok {
			p.VLAN = int(tag)
		}
		ids := map[string]string{}
		if m, ok := row[2].([]any); ok && len(m) == 2 {
			for _, kv := range m[1].([]any) {
				pair := kv.([]any)
				ids[pair[0].(string)] = pair[1].(string)
			}
		}
		if ids["ovn-docker:cni-container"] == "" {
			continue
		}
		p.Container, p.IfName, p.Netns = ids["ovn-docker:cni-container"], ids["ovn-docker:ifname"], ids["ovn-docker:netns"]
		ps = append(ps, p)
	}
	return ps
}

// noCNILeft checks that the network has no Neutron port and the VM no
// CNI access port (VLAN) and no veth of one.
func (c *cniRig) noCNILeft(t *testing.T, vm VM) {
	t.Helper()
	if ps := cniPorts(t, vm); len(ps) != 0 {
		t.Errorf("%s still has CNI access ports: %+v", vm.Name, ps)
	}
	if ps := c.networkPorts(t, c.netID); len(ps) != 0 {
		t.Errorf("network %s still has Neutron ports: %+v", c.network, ps)
	}
}

func TestCNIToolAddCheckDel(t *testing.T) {
	c := newCNIRig(t)
	vm1, vm2 := c.s.VM(t, "vm1"), c.s.VM(t, "vm2")
	ns1, ns2 := c.s.NewNetns(t, "pod1"), c.s.NewNetns(t, "pod2")
	res := c.add(t, vm1, "ovn-net", ns1)
	if res.CNIVersion != "1.1.0" || res.Interfaces[0].Name != "eth0" || res.Interfaces[0].Sandbox != "/var/run/netns/"+ns1 {
		t.Errorf("result: %+v", res)
	}
	if res.Interfaces[0].Mtu != 1442 || res.IPs[0].Gateway == "" || len(res.Routes) != 1 || res.Routes[0].Dst != "0.0.0.0/0" {
		t.Errorf("result without the network's MTU, gateway or default route: %+v", res)
	}
	// The namespace has what the result says.
	addr := MustInNetns(t, ns1, "ip", "addr", "show", "eth0")
	if !strings.Contains(addr, res.IPs[0].Address) || !strings.Contains(addr, res.Interfaces[0].Mac) || !strings.Contains(addr, "mtu 1442") {
		t.Errorf("eth0 in %s is not the result %+v:\n%s", ns1, res, addr)
	}
	if route := MustInNetns(t, ns1, "ip", "route", "show", "default"); !strings.Contains(route, "via "+res.IPs[0].Gateway) {
		t.Errorf("default route in %s: %q, want via %s", ns1, route, res.IPs[0].Gateway)
	}
	// A Neutron port with that MAC and address, a child of vm1's port,
	// recorded on a VLAN access port with the CNI attachment.
	ps := c.networkPorts(t, c.netID)
	if len(ps) != 1 || !strings.EqualFold(ps[0].MAC.String(), res.Interfaces[0].Mac) || ps[0].FixedIPs[0].IP.String() != res.ip() {
		t.Fatalf("Neutron ports of %s: %+v, want one with %s %s", c.network, ps, res.Interfaces[0].Mac, res.ip())
	}
	aps := cniPorts(t, vm1)
	if len(aps) != 1 || aps[0].VLAN == 0 || aps[0].IfName != "eth0" || aps[0].Netns != "/var/run/netns/"+ns1 || !strings.HasPrefix(aps[0].Container, "cnitool-") {
		t.Fatalf("CNI access ports of vm1: %+v", aps)
	}
	// Across hypervisors, to a namespace attached in vm2 (hv2).
	res2 := c.add(t, vm2, "ovn-net", ns2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := Ping(t.Context(), ns1, res2.ip())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s (vm1, hv1) does not reach %s (vm2, hv2): %v", ns1, res2.ip(), err)
		}
	}
	// CHECK passes, then fails once the interface lost its address.
	if out, code := c.cnitool(t, vm1, nil, "check", "ovn-net", "/var/run/netns/"+ns1); code != 0 {
		t.Errorf("cnitool check of a good attachment: exit %d: %s", code, out)
	}
	MustInNetns(t, ns1, "ip", "addr", "del", res.IPs[0].Address, "dev", "eth0")
	out, code := c.cnitool(t, vm1, nil, "check", "ovn-net", "/var/run/netns/"+ns1)
	if code == 0 || !strings.Contains(out, res.IPs[0].Address) {
		t.Errorf("cnitool check after the address was removed: exit %d: %s", code, out)
	}
	// DEL removes everything; again, and with the namespace gone, is fine.
	for i := range 2 {
		if out, code := c.cnitool(t, vm1, nil, "del", "ovn-net", "/var/run/netns/"+ns1); code != 0 {
			t.Fatalf("cnitool del #%d: exit %d: %s", i+1, code, out)
		}
	}
	if aps := cniPorts(t, vm1); len(aps) != 0 {
		t.Errorf("after DEL, vm1 still has CNI access ports: %+v", aps)
	}
	if _, err := c.clouds["demo"].GetPort(t.Context(), ps[0].ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("after DEL, Neutron port %s is still there (%v)", ps[0].ID, err)
	}
	if _, err := InNetns(t.Context(), ns1, "ip", "link", "show", "eth0"); err == nil {
		t.Errorf("after DEL, %s still has eth0", ns1)
	}
	mustRun(t, "ip", "netns", "del", ns2)
	mustRun(t, "ip", "netns", "add", ns2) // for NewNetns's cleanup
	if out, code := c.cnitool(t, vm2, nil, "del", "ovn-net", "/var/run/netns/"+ns2); code != 0 {
		t.Fatalf("cnitool del with the namespace gone: exit %d: %s", code, out)
	}
	c.noCNILeft(t, vm1)
	c.noCNILeft(t, vm2)
}

func TestCNIBadInput(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	ns := "/var/run/netns/" + c.s.NewNetns(t, "bad")
	good := func(extra string) string {
		return `{"cniVersion":"1.1.0","name":"ovn-net","type":"ovn-cni","network":"` + c.network + `"` + extra + `}`
	}
	for _, tc := range []struct {
		name, command, conf string
		code                uint
		msg                 string
	}{
		{"malformed config", "ADD", `{"cniVersion":"1.1.0","name":`, 6, "JSON"},
		{"no network", "ADD", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni"}`, 7, `no "network"`},
		{"unknown network", "ADD", `{"cniVersion":"1.1.0","name":"n","type":"ovn-cni","network":"no-such-network"}`, 7, "no-such-network"},
		{"wrong mtu", "ADD", good(`,"mtu":1500`), 7, "1442"},
		{"unsupported cniVersion", "ADD", `{"cniVersion":"9.9.9","name":"n","type":"ovn-cni","network":"` + c.network + `"}`, 1, "9.9.9"},
		{"daemon down", "ADD", good(`,"socket":"/run/ovn-docker/none.sock"`), 11, "not reachable"},
		{"daemon down, STATUS", "STATUS", good(`,"socket":"/run/ovn-docker/none.sock"`), 50, "not reachable"},
		{"daemon down, DEL", "DEL", good(`,"socket":"/run/ovn-docker/none.sock"`), 11, "not reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, out, exit := c.direct(t, vm, tc.command, "bad-"+strings.NewReplacer(" ", "-", ",", "").Replace(tc.name), ns, tc.conf)
			if exit == 0 || res.Code != tc.code || !strings.Contains(res.Msg+out, tc.msg) {
				t.Errorf("exit %d, output %s; want a CNI error with code %d naming %q", exit, out, tc.code, tc.msg)
			}
			c.noCNILeft(t, vm)
		})
	}
	// STATUS with the daemon up and the network known passes; VERSION is
	// the plugin's own.
	if _, out, exit := c.direct(t, vm, "STATUS", "", "", good("")); exit != 0 {
		t.Errorf("STATUS: exit %d: %s", exit, out)
	}
	_, out, exit := c.direct(t, vm, "VERSION", "", "", `{"cniVersion":"1.1.0"}`)
	var v struct {
		Supported []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(out), &v); exit != 0 || err != nil || !slices.Equal(v.Supported, []string{"0.4.0", "1.0.0", "1.1.0"}) {
		t.Errorf("VERSION: exit %d: %s", exit, out)
	}
}

func TestCNIGCKeepsValidAttachments(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	conf := `{"cniVersion":"1.1.0","name":"ovn-net","type":"ovn-cni","network":"` + c.network + `"`
	var nss []string
	for i := range 3 {
		ns := "/var/run/netns/" + c.s.NewNetns(t, fmt.Sprint("gc", i))
		nss = append(nss, ns)
		if _, out, exit := c.direct(t, vm, "ADD", fmt.Sprint("gc-", i), ns, conf+"}"); exit != 0 {
			t.Fatalf("ADD %d: %s", i, out)
		}
	}
	t.Cleanup(func() {
		for i, ns := range nss {
			c.direct(t, vm, "DEL", fmt.Sprint("gc-", i), ns, conf+"}")
		}
	})
	gc := conf + `,"cni.dev/valid-attachments":[{"containerID":"gc-1","ifname":"eth0"}]}`
	if _, out, exit := c.direct(t, vm, "GC", "", "", gc); exit != 0 {
		t.Fatalf("GC: exit %d: %s", exit, out)
	}
	ps := cniPorts(t, vm)
	if len(ps) != 1 || ps[0].Container != "gc-1" {
		t.Errorf("after GC keeping gc-1: %+v", ps)
	}
	if n := len(c.networkPorts(t, c.netID)); n != 1 {
		t.Errorf("after GC keeping one attachment, %d Neutron ports", n)
	}
}

// A port that a CNI DEL gave back to the pool is no CNI attachment any
// more: GC leaves it, and when a CLI attach takes it, GC leaves that
// attachment too (it is not the network configuration's).
func TestCNIGCSparesPoolAndOtherAttachments(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	c.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+c.network, "pool", "fill", "--size", "1")
	t.Cleanup(func() {
		c.plugin(t, vm, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "pool", "drain", "--network", c.network)
	})
	conf := `{"cniVersion":"1.1.0","name":"ovn-net","type":"ovn-cni","network":"` + c.network + `"`
	ns := "/var/run/netns/" + c.s.NewNetns(t, "gcpool")
	if _, out, exit := c.direct(t, vm, "ADD", "gcpool", ns, conf+"}"); exit != 0 {
		t.Fatalf("ADD: exit %d: %s", exit, out)
	}
	if _, out, exit := c.direct(t, vm, "DEL", "gcpool", ns, conf+"}"); exit != 0 {
		t.Fatalf("DEL: exit %d: %s", exit, out)
	}
	if ps := cniPorts(t, vm); len(ps) != 0 {
		t.Errorf("after DEL gave the port back to the pool, CNI access ports: %+v", ps)
	}
	gc := conf + `,"cni.dev/valid-attachments":[]}`
	if _, out, exit := c.direct(t, vm, "GC", "", "", gc); exit != 0 {
		t.Fatalf("GC with the port back in the pool: exit %d: %s", exit, out)
	}
	cliNS := c.s.NewNetns(t, "gccli")
	cli := "/var/run/netns/" + cliNS
	c.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+c.network, "attach", "--netns", cli)
	t.Cleanup(func() {
		c.plugin(t, vm, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "detach", "--netns", cli)
	})
	if _, out, exit := c.direct(t, vm, "GC", "", "", gc); exit != 0 {
		t.Fatalf("GC with a CLI attachment on the pool's port: exit %d: %s", exit, out)
	}
	if n := len(c.networkPorts(t, c.netID)); n != 1 {
		t.Errorf("after GC, network %s has %d Neutron ports, want the CLI attachment's", c.network, n)
	}
	if out := MustInNetns(t, cliNS, "ip", "-o", "link", "show", "eth0"); !strings.Contains(out, "eth0") {
		t.Errorf("after GC the CLI attachment's eth0 is gone: %s", out)
	}
}

func TestCNIConcurrentAdds(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	const n = 16
	nss := make([]string, n)
	for i := range nss {
		nss[i] = c.s.NewNetns(t, fmt.Sprint("c", i))
	}
	results := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			out, code := c.cnitool(t, vm, nil, "add", "ovn-net", "/var/run/netns/"+nss[i])
			if code != 0 {
				errs[i] = fmt.Errorf("add %d: exit %d: %s", i, code, out)
			}
			results[i] = out
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, ns := range nss {
			c.cnitool(t, vm, nil, "del", "ovn-net", "/var/run/netns/"+ns)
		}
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ips := map[string]bool{}
	for i, out := range results {
		var res cniResult
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.IPs) == 0 {
			t.Fatalf("add %d: %s", i, out)
		}
		ips[res.ip()] = true
	}
	vlans := map[int]bool{}
	for _, p := range cniPorts(t, vm) {
		vlans[p.VLAN] = true
	}
	if len(ips) != n || len(vlans) != n {
		t.Errorf("%d concurrent ADDs: %d distinct addresses, %d distinct VLANs", n, len(ips), len(vlans))
	}
	var wg2 sync.WaitGroup
	for i := range n {
		wg2.Go(func() {
			if out, code := c.cnitool(t, vm, nil, "del", "ovn-net", "/var/run/netns/"+nss[i]); code != 0 {
				t.Errorf("del %d: exit %d: %s", i, code, out)
			}
		})
	}
	wg2.Wait()
	c.noCNILeft(t, vm)
}

// A chain: ovn-cni first, Debian's tuning plugin after it, which gets
// ovn-cni's result as prevResult and passes it on.
func TestCNIChain(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	c.writeConf(t, "ovn-chain", `{"cniVersion":"1.0.0","name":"ovn-chain","plugins":[
		{"type":"ovn-cni","network":"`+c.network+`"},
		{"type":"tuning","sysctl":{"net.ipv4.conf.eth0.arp_ignore":"1"}}]}`)
	ns := c.s.NewNetns(t, "chain")
	res := c.add(t, vm, "ovn-chain", ns)
	if res.CNIVersion != "1.0.0" || len(res.IPs) != 1 || res.Interfaces[0].Sandbox != "/var/run/netns/"+ns {
		t.Errorf("chain result: %+v", res)
	}
	if v := strings.TrimSpace(MustInNetns(t, ns, "sysctl", "-n", "net.ipv4.conf.eth0.arp_ignore")); v != "1" {
		t.Errorf("tuning after ovn-cni: arp_ignore %s", v)
	}
	if out, code := c.cnitool(t, vm, nil, "check", "ovn-chain", "/var/run/netns/"+ns); code != 0 {
		t.Errorf("cnitool check of the chain: exit %d: %s", code, out)
	}
}

// criRig is a VM's CRI containerd (`sandbox cri VM`) with ovn-cni as its
// pod network, driven by crictl as kubelet drives the CRI.
type criRig struct {
	*cniRig
	vm       VM
	endpoint string
	dir      string
}

func (c *cniRig) startCRI(t *testing.T, vm VM, conflist string) *criRig {
	t.Helper()
	out, code := c.s.Script(t, "cri", vm.Name)
	if code != 0 {
		t.Fatalf("sandbox cri %s: exit %d: %s", vm.Name, code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	r := &criRig{cniRig: c, vm: vm, endpoint: lines[len(lines)-1], dir: t.TempDir()}
	conf := filepath.Join(vm.Dir, "cri", "net.d", "10-pods.conflist")
	if err := os.WriteFile(conf, []byte(conflist), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(conf) })
	return r
}

// crictl runs crictl in the VM against its CRI containerd.
func (r *criRig) crictl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := r.vm.Command(ctx, append([]string{filepath.Join(root, "bin", "crictl"), "--runtime-endpoint", r.endpoint, "--image-endpoint", r.endpoint, "--timeout", "90s"}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("crictl %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (r *criRig) mustCrictl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := r.crictl(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// podConfig writes a pod sandbox config named name and returns its path.
func (r *criRig) podConfig(t *testing.T, name string) string {
	t.Helper()
	f := filepath.Join(r.dir, name+".json")
	conf := fmt.Sprintf(`{"metadata":{"name":%q,"namespace":"default","uid":%q,"attempt":1},"log_directory":%q,"linux":{}}`, name, name+"-uid", r.dir)
	if err := os.WriteFile(f, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// runp starts a pod sandbox (CNI ADD); it is stopped and removed when
// the test ends unless the test did.
func (r *criRig) runp(ctx context.Context, t *testing.T, name string) (id, conf string, err error) {
	conf = r.podConfig(t, name)
	id, err = r.crictl(ctx, "runp", conf)
	if err == nil {
		t.Cleanup(func() { _, _ = r.crictl(context.Background(), "rmp", "-f", id) })
	}
	return id, conf, err
}

// podIP is the pod's address as the CRI reports it (from ovn-cni's result).
func (r *criRig) podIP(t *testing.T, id string) string {
	t.Helper()
	out := r.mustCrictl(t, "inspectp", id)
	var doc struct {
		Status struct {
			Network struct {
				IP string `json:"ip"`
			} `json:"network"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Status.Network.IP == "" {
		t.Fatalf("crictl inspectp %s: no IP (%v): %s", id, err, out)
	}
	return doc.Status.Network.IP
}

func (c *cniRig) podConflist() string {
	return `{"cniVersion":"1.0.0","name":"ovn-pods","plugins":[{"type":"ovn-cni","network":"` + c.network + `"},{"type":"portmap","capabilities":{"portMappings":true}}]}`
}

func TestCRIPodPingsOtherHypervisorAndLeavesNothing(t *testing.T) {
	c := newCNIRig(t)
	vm1, vm2 := c.s.VM(t, "vm1"), c.s.VM(t, "vm2")
	r := c.startCRI(t, vm1, c.podConflist())
	// A peer on the other hypervisor.
	peer := c.add(t, vm2, "ovn-net", c.s.NewNetns(t, "peer"))
	pod, podConf, err := r.runp(t.Context(), t, c.s.uniqueName(t, "pod"))
	if err != nil {
		t.Fatal(err)
	}
	ip := r.podIP(t, pod)
	aps := cniPorts(t, vm1)
	if len(aps) != 1 || aps[0].Container != pod || aps[0].VLAN == 0 {
		t.Fatalf("vm1's CNI access ports: %+v, want one of pod %s", aps, pod)
	}
	var port cloud.Port
	for _, p := range c.networkPorts(t, c.netID) {
		if p.FixedIPs[0].IP.String() == ip {
			port = p
		}
	}
	if port.ID == "" {
		t.Fatalf("no Neutron port of %s has the pod's address %s", c.network, ip)
	}
	ctrConf := filepath.Join(r.dir, "bb.json")
	if err := os.WriteFile(ctrConf, []byte(`{"metadata":{"name":"bb"},"image":{"image":"docker.io/library/busybox:local"},"command":["sleep","600"],"linux":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctr := r.mustCrictl(t, "create", pod, ctrConf, podConf)
	r.mustCrictl(t, "start", ctr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := r.crictl(t.Context(), "exec", ctr, "ping", "-c1", "-W2", peer.ip())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod's busybox in vm1 (hv1) does not reach %s in vm2 (hv2): %v\n%s", peer.ip(), err, out)
		}
	}
	r.mustCrictl(t, "stopp", pod)
	r.mustCrictl(t, "rmp", pod)
	if aps := cniPorts(t, vm1); len(aps) != 0 {
		t.Errorf("after stopp+rmp, vm1 still has CNI access ports (VLANs): %+v", aps)
	}
	if _, err := c.clouds["demo"].GetPort(t.Context(), port.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("after stopp+rmp, Neutron port %s is still there (%v)", port.ID, err)
	}
	links, _ := InNetns(t.Context(), vm1.Netns, "ip", "-o", "link")
	for _, l := range strings.Split(links, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasPrefix(f[1], aps[0].Name) {
			t.Errorf("after stopp+rmp, vm1 still has %s", f[1])
		}
	}
}

func TestCRIConcurrentPods(t *testing.T) {
	c := newCNIRig(t)
	vm := c.s.VM(t, "vm1")
	r := c.startCRI(t, vm, c.podConflist())
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], _, errs[i] = r.runp(context.Background(), t, c.s.uniqueName(t, fmt.Sprint("pod", i))) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ips := map[string]bool{}
	for _, id := range ids {
		ips[r.podIP(t, id)] = true
	}
	vlans := map[int]bool{}
	for _, p := range cniPorts(t, vm) {
		vlans[p.VLAN] = true
	}
	if len(ips) != n || len(vlans) != n {
		t.Errorf("%d concurrent runp: %d distinct addresses, %d distinct VLANs", n, len(ips), len(vlans))
	}
	for _, id := range ids {
		r.mustCrictl(t, "stopp", id)
		r.mustCrictl(t, "rmp", id)
	}
	c.noCNILeft(t, vm)
}

// podman (Debian's, with its CNI network backend) in vm1, its storage and
// configuration the test's own; the CNI network is ovn-cni's.
func TestPodmanRunOnOVNNetwork(t *testing.T) {
	c := newCNIRig(t)
	vm1, vm2 := c.s.VM(t, "vm1"), c.s.VM(t, "vm2")
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatalf("podman is missing (%v): run sandbox/sandbox install", err)
	}
	d := t.TempDir()
	for _, sub := range []string{"net.d", "root", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[network]
network_backend = "cni"
cni_plugin_dirs = [%q, %q]
network_config_dir = %q
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = %q
`, c.bin, debianCNI, filepath.Join(d, "net.d"), filepath.Join(d, "tmp"))
	if err := os.WriteFile(filepath.Join(d, "containers.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "net.d", "ovn-net.conflist"), []byte(`{"cniVersion":"1.0.0","name":"ovn-net","plugins":[{"type":"ovn-cni","network":"`+c.network+`"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	podman := func(ctx context.Context, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := vm1.Command(ctx, append([]string{"podman", "--root", filepath.Join(d, "root"), "--runroot", filepath.Join(d, "run"), "--storage-driver", "vfs"}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CONTAINERS_CONF=" + filepath.Join(d, "containers.conf")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	t.Cleanup(func() {
		_, _ = podman(context.Background(), "rm", "-af")
		_, _ = podman(context.Background(), "system", "reset", "-f")
	})
	if out, err := podman(t.Context(), "import", "--change", `CMD ["/bin/sh"]`, filepath.Join(c.s.Dir, "image", "busybox.tar"), "localhost/busybox:local"); err != nil {
		t.Fatal(err, out)
	}
	peer := c.add(t, vm2, "ovn-net", c.s.NewNetns(t, "peer"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		// Explicit limits: podman's defaults exceed the hard limits the
		// sandbox's processes have, and runc refuses to raise them.
		out, err := podman(t.Context(), "run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "ovn-net", "localhost/busybox:local", "ping", "-c1", "-W2", peer.ip())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("podman run --network ovn-net in vm1 does not reach %s in vm2: %v\n%s", peer.ip(), err, out)
		}
	}
	if ps := cniPorts(t, vm1); len(ps) != 0 {
		t.Errorf("after podman run --rm, vm1 still has CNI access ports: %+v", ps)
	}
}
