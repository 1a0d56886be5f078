package e2e

// Crashes and restarts around `ovn-docker daemon`: the daemon SIGKILLed in
// the middle of a burst of `docker run --network`, and the VM's dockerd
// restarted under containers with a restart policy. The daemon is the
// sandbox's (`sandbox daemon VM kill|start`), so its pid file stays true.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// sandboxDaemon runs `sandbox daemon VM what` (start, stop, kill, restart).
func (r *pluginRig) sandboxDaemon(t *testing.T, vm VM, what string) {
	t.Helper()
	if out, code := r.s.Script(t, "daemon", vm.Name, what); code != 0 {
		t.Fatalf("sandbox daemon %s %s: exit %d: %s", vm.Name, what, code, out)
	}
}

// ownedPorts: the VM bridge's access ports the plugin made, as "name:tag"
// (one VLAN claim each).
func ownedPorts(t *testing.T, vm VM) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(vm.VSCtl(t, "--columns=name,tag,external_ids", "--format=csv", "--no-headings", "list", "Port"), "\n") {
		if !strings.Contains(line, "ovn-docker:owner") {
			continue
		}
		f := strings.SplitN(line, ",", 3)
		out = append(out, f[0]+":"+f[1])
	}
	slices.Sort(out)
	return out
}

// runningOn: the address on network of each running container of names.
func (e *vmEngine) runningOn(t *testing.T, network string, names []string) map[string]string {
	t.Helper()
	ips := map[string]string{}
	for _, n := range names {
		out, err := e.docker(t.Context(), "inspect", "-f", "{{.State.Running}} {{(index .NetworkSettings.Networks \""+network+"\").IPAddress}}", n)
		if err != nil {
			continue // never created
		}
		f := strings.Fields(out)
		if len(f) == 2 && f[0] == "true" {
			ips[n] = f[1]
		}
	}
	return ips
}

// pingAll checks that each container reaches the next one's address (a
// ring), each with a single ping after a settle of at most 10 s.
func (e *vmEngine) pingAll(t *testing.T, ips map[string]string) {
	t.Helper()
	var names []string
	for n := range ips {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) < 2 {
		t.Fatalf("%d running containers; want at least 2 to ping each other", len(names))
	}
	for i, from := range names {
		to := names[(i+1)%len(names)]
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := e.docker(t.Context(), "exec", from, "ping", "-c1", "-W2", ips[to])
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s does not reach %s (%s): %v\n%s", from, to, ips[to], err, out)
				break
			}
		}
	}
}

// neutronAddrs: the addresses of the Neutron ports on a network.
func (r *pluginRig) neutronAddrs(t *testing.T, networkID string) []string {
	t.Helper()
	var out []string
	for _, p := range r.networkPorts(t, networkID) {
		for _, ip := range p.FixedIPs {
			out = append(out, ip.IP.String())
		}
	}
	slices.Sort(out)
	return out
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

var reservingRe = regexp.MustCompile(`"ovn-docker:state"+=+"*reserving\b`)

// waitReserving waits until an access port of vm is a reservation in the
// making (state reserving), and says whether one was seen in time.
func waitReserving(t *testing.T, vm VM, timeout time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if reservingRe.MatchString(vm.VSCtl(t, "--columns=external_ids", "--format=csv", "--no-headings", "list", "Port")) {
			return true
		}
	}
	return false
}

// TestDaemonKillDuringBurst: the daemon is SIGKILLed while 12 `docker run
// --network` are in flight, and started again. Runs may fail, but
// afterwards every running container (those from before the burst
// included) has its network and pings, and nothing else is left: one
// Neutron port, one OVS port and one VLAN per running container.
func TestDaemonKillDuringBurst(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	r.sandboxDaemon(t, vm, "start")
	t.Cleanup(func() { r.sandboxDaemon(t, vm, "start") })
	neutron := r.neutronNetworks(t, "net")[0]
	e := r.startVMEngine(t, vm)
	netID := r.createDockerNetwork(t, e, "LS1", neutron)
	ownedBefore := ownedPorts(t, vm)

	var names []string
	for i := range 2 {
		n := r.s.uniqueName(t, fmt.Sprintf("before%d", i))
		e.runDetached(t, "--name", n, "--network", "LS1", daemonImage, "sleep", "600")
		names = append(names, n)
	}
	before := e.runningOn(t, "LS1", names)
	portsBefore := r.networkPorts(t, netID)

	const burst = 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i := range burst {
		n := r.s.uniqueName(t, fmt.Sprintf("burst%d", i))
		names = append(names, n)
		e.containers = append(e.containers, n) // removed at the end, whatever happened
		wg.Go(func() {
			if _, err := e.docker(t.Context(), "run", "-d", "--name", n, "--network", "LS1", daemonImage, "sleep", "600"); err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				t.Logf("run %s during the kill: %v", n, err)
				// Docker resends a call the kill cut short with an empty
				// body: the answer says what happened.
				if strings.Contains(err.Error(), "malformed request") {
					t.Errorf("run %s: a resent call was answered as malformed: %v", n, err)
				}
			}
		})
	}
	// The kill lands while a reservation is half made (its VLAN claimed,
	// its Neutron port being made), which is what a restart must clean
	// up; some runs are done by then, some in flight.
	time.Sleep(700 * time.Millisecond)
	if !waitReserving(t, vm, 15*time.Second) {
		t.Logf("no reservation seen half made; killing the daemon all the same")
	}
	r.sandboxDaemon(t, vm, "kill")
	r.sandboxDaemon(t, vm, "start")
	wg.Wait()

	running := e.runningOn(t, "LS1", names)
	t.Logf("%d of %d runs failed around the kill; %d containers running", failed, burst, len(running))
	for n, ip := range before {
		if running[n] != ip {
			t.Errorf("%s, running before the kill with %s, now has %q", n, ip, running[n])
		}
	}
	e.pingAll(t, running)
	// The ports of the containers from before are the same ones.
	for _, p := range portsBefore {
		if _, err := r.clouds["demo"].GetPort(t.Context(), p.ID); err != nil {
			t.Errorf("Neutron port %s of a container from before the kill: %v", p.ID, err)
		}
	}
	// Nothing but the running containers' ports. A port create the
	// killed daemon had sent may complete in the cloud after the restart
	// freed its claim: the restarted daemon deletes such a port once the
	// create has settled (10 s after its claim), so this may take that
	// long.
	var addrs, owned []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		addrs, owned = r.neutronAddrs(t, netID), ownedPorts(t, vm)
		if (slices.Equal(addrs, sortedValues(running)) && len(owned) == len(ownedBefore)+len(running)) || time.Now().After(deadline) {
			break
		}
	}
	if want := sortedValues(running); !slices.Equal(addrs, want) {
		t.Errorf("Neutron ports on the network have addresses %v; the running containers %v", addrs, want)
	}
	if len(owned) != len(ownedBefore)+len(running) {
		t.Errorf("OVS access ports (VLANs) after: %v; before the containers: %v; %d containers run", owned, ownedBefore, len(running))
	}
	// And the restarted daemon serves new runs.
	if out, err := e.docker(t.Context(), "run", "--rm", "--network", "LS1", daemonImage, "ping", "-c1", "-W2", before[names[0]]); err != nil {
		t.Errorf("a run after the restart does not reach %s: %v\n%s", before[names[0]], err, out)
	}
}

// TestDaemonEngineRestart: the VM's dockerd restarts under containers run
// with --restart=always on an ovn network; they come back on that network
// and ping each other, and the ports of their old endpoints are gone.
func TestDaemonEngineRestart(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	r.sandboxDaemon(t, vm, "start")
	neutron := r.neutronNetworks(t, "net")[0]
	e := r.startVMEngine(t, vm)
	netID := r.createDockerNetwork(t, e, "LS1", neutron)
	ownedBefore := ownedPorts(t, vm)
	var names []string
	for i := range 2 {
		n := r.s.uniqueName(t, fmt.Sprintf("always%d", i))
		e.runDetached(t, "--name", n, "--restart=always", "--network", "LS1", daemonImage, "sleep", "600")
		names = append(names, n)
	}
	if got := e.runningOn(t, "LS1", names); len(got) != 2 {
		t.Fatalf("running before the restart: %v", got)
	}
	if out, code := r.s.Script(t, "engine", vm.Name, "restart"); code != 0 {
		t.Fatalf("sandbox engine %s restart: exit %d: %s", vm.Name, code, out)
	}
	var running map[string]string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if running = e.runningOn(t, "LS1", names); len(running) == len(names) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := r.s.Script(t, "logs", "5")
			t.Fatalf("after dockerd's restart, running on LS1: %v; want %v\n%s", running, names, b)
		}
	}
	e.pingAll(t, running)
	if got, want := r.neutronAddrs(t, netID), sortedValues(running); !slices.Equal(got, want) {
		t.Errorf("Neutron ports on the network have addresses %v; the running containers %v", got, want)
	}
	if got := ownedPorts(t, vm); len(got) != len(ownedBefore)+len(names) {
		t.Errorf("OVS access ports (VLANs) after: %v; before the containers: %v", got, ownedBefore)
	}
}
