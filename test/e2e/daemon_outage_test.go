package e2e

// Bad input and outages through docker's own output: a --subnet that
// overlaps, the daemon not running, Neutron unreachable, and the pool
// exhausted while Neutron is down. Each is a clear message and leaves
// nothing behind.

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// blockCloudAPI makes the cloud API unreachable from vm (a route to
// nowhere for its host in the VM's netns) until the returned func (also
// run at cleanup) restores it.
func (r *pluginRig) blockCloudAPI(t *testing.T, vm VM) func() {
	t.Helper()
	u, err := url.Parse(r.s.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	route := []string{"ip", "route", "add", "unreachable", u.Hostname() + "/32"}
	MustInNetns(t, vm.Netns, route...)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			route[2] = "del"
			if _, err := InNetns(t.Context(), vm.Netns, route...); err != nil {
				t.Errorf("restoring the route to the cloud API in %s: %v", vm.Name, err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

// wantDockerError runs docker with args, wants it to fail saying want, and
// returns its error text.
func (e *vmEngine) wantDockerError(t *testing.T, want string, args ...string) {
	t.Helper()
	out, err := e.docker(t.Context(), args...)
	if err == nil {
		if args[0] == "network" {
			e.networks = append(e.networks, strings.TrimSpace(out))
		}
		t.Fatalf("docker %v succeeded: %s", args, out)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("docker %v: error does not say %q:\n%v", args, want, err)
	}
}

func TestDaemonOverlappingSubnet(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	names := r.neutronNetworks(t, "net1", "net2")
	e := r.startVMEngine(t, vm)
	existing, err := r.clouds["demo"].CreateNetwork(t.Context(), cloud.CreateNetworkOpts{Name: names[0], IPv4CIDR: mustPrefix(t, "10.251.3.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	r.createDockerNetwork(t, e, "LS1", names[0], "--subnet", "10.251.3.0/24")
	bridgeIDs := func() string { return vm.VSCtl(t, "get", "Bridge", vm.Bridge, "external_ids") }
	before := bridgeIDs()
	// A wider --subnet than the Neutron network's own subnet.
	e.wantDockerError(t, "overlaps 10.251.3.0/24", "network", "create", "-d", "ovn", "--ipam-driver", "ovn", "--subnet", "10.251.0.0/16", "-o", "network="+names[0], "BAD1")
	// A new Neutron network whose subnet overlaps one this VM serves.
	e.wantDockerError(t, "overlaps 10.251.3.0/24", "network", "create", "-d", "ovn", "--ipam-driver", "ovn", "--subnet", "10.251.3.128/25", "-o", "network="+names[1], "BAD2")
	if _, err := r.clouds["demo"].FindNetwork(t.Context(), names[1]); err == nil {
		t.Errorf("a refused docker network create made Neutron network %s", names[1])
	}
	nw, err := r.clouds["demo"].GetNetwork(t.Context(), existing.ID)
	if err != nil || len(nw.Subnets) != 1 {
		t.Errorf("Neutron network %s after the refusals: %+v, %v; want it with its one subnet", names[0], nw, err)
	}
	if after := bridgeIDs(); after != before {
		t.Errorf("refused creates changed the records on bridge %s:\nbefore %s\nafter  %s", vm.Bridge, before, after)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	r.sandboxDaemon(t, vm, "start")
	e := r.startVMEngine(t, vm)
	r.sandboxDaemon(t, vm, "stop")
	t.Cleanup(func() { r.sandboxDaemon(t, vm, "start") })
	neutron := r.neutronNetworks(t, "net")[0]
	// Docker's own message names the plugin by its socket.
	e.wantDockerError(t, "/run/docker/plugins/ovn.sock", "network", "create", "-d", "ovn", "--ipam-driver", "ovn", "-o", "network="+neutron, "LS1")
	if _, err := r.clouds["demo"].FindNetwork(t.Context(), neutron); err == nil {
		t.Errorf("docker network create without the daemon made Neutron network %s", neutron)
	}
}

func TestDaemonNeutronUnreachable(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	names := r.neutronNetworks(t, "net", "new")
	e := r.startVMEngine(t, vm)
	netID := r.createDockerNetwork(t, e, "LS1", names[0])
	// A pool of one port: a run takes it with Neutron down.
	r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+names[0], "pool", "fill", "--size", "1")
	t.Cleanup(func() {
		r.plugin(t, vm, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "pool", "drain", "--network", names[0])
	})
	bridgeIDs := func() string { return vm.VSCtl(t, "get", "Bridge", vm.Bridge, "external_ids") }
	owned := ownedPorts(t, vm)
	records := bridgeIDs()

	restore := r.blockCloudAPI(t, vm)
	// The daemon's connection to Neutron, open from the create above,
	// gets no answer any more: it is given up on within
	// cloud.UnreachableAfter, not the kernel's retransmissions or the
	// requests' own bound (minutes).
	start := time.Now()
	e.wantDockerError(t, "cannot reach Neutron", "network", "create", "-d", "ovn", "--ipam-driver", "ovn", "-o", "network="+names[1], "LS2")
	if took, bound := time.Since(start), 2*cloud.UnreachableAfter+10*time.Second; took > bound {
		t.Errorf("docker network create with Neutron unreachable failed after %s; want it within %s", took.Round(time.Second), bound)
	}
	holder := r.s.uniqueName(t, "pooled")
	e.runDetached(t, "--name", holder, "--network", "LS1", daemonImage, "sleep", "600")
	ip := e.mustDocker(t, "inspect", "-f", "{{.NetworkSettings.Networks.LS1.IPAddress}}", holder)
	e.wantDockerError(t, "no ready port left in this VM's pool, and a new one needs Neutron", "run", "--rm", "--network", "LS1", daemonImage, "true")
	if got := ownedPorts(t, vm); len(got) != len(owned) {
		t.Errorf("OVS access ports with Neutron down: %v; before %v (the pool's port is the holder's now)", got, owned)
	}
	if got := bridgeIDs(); got != records {
		t.Errorf("bridge records changed while Neutron was down:\nbefore %s\nafter  %s", records, got)
	}
	restore()
	if _, err := r.clouds["demo"].FindNetwork(t.Context(), names[1]); err == nil {
		t.Errorf("docker network create with Neutron down made Neutron network %s", names[1])
	}
	// Every Neutron port on the network is one the VM's OVS knows (the
	// holder's, and the pool's refill once Neutron is back), nothing else.
	if got, want := r.networkPortIDs(t, netID), vmPortsOn(t, vm, netID); !slices.Equal(got, want) {
		t.Errorf("Neutron ports on %s: %v; the VM's OVS knows %v", names[0], got, want)
	}
	if got := r.neutronAddrs(t, netID); !slices.Contains(got, ip) {
		t.Errorf("Neutron ports on %s have addresses %v, not the pooled container's %s", names[0], got, ip)
	}
	// Neutron back: runs work again.
	e.mustDocker(t, "run", "--rm", "--network", "LS1", daemonImage, "ping", "-c1", "-W2", ip)
}

var portIDRe = regexp.MustCompile(`"ovn-docker:port"+=+"*([0-9a-f-]{36})`)

// vmPortsOn: the Neutron ports the VM's OVS records for a network.
func vmPortsOn(t *testing.T, vm VM, networkID string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(vm.VSCtl(t, "--columns=external_ids", "--format=csv", "--no-headings", "list", "Port"), "\n") {
		if !strings.Contains(line, networkID) {
			continue
		}
		if m := portIDRe.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func (r *pluginRig) networkPortIDs(t *testing.T, networkID string) []string {
	t.Helper()
	var out []string
	for _, p := range r.networkPorts(t, networkID) {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}
