package e2e

// The Docker driver needs no credential in the VM either: a daemon started
// with no OS_* variable, token or --vif-id finds the hypervisor's VM proxy
// (as the command line does) and serves `docker network create -d ovn` and
// `docker run --network` through it.

import (
	"os"
	"strings"
	"testing"
)

func TestDaemonInProxyMode(t *testing.T) {
	r, vm1, _ := newProxyRig(t)
	vm3 := r.s.VM(t, "vm3")
	// Made with the project's credentials: the proxy does not create
	// networks unless the operator allows it.
	neutron := r.createNetwork(t, "demo", "proxyd")

	// vm1's daemon, the sandbox's (with credentials), makes way for one
	// without; it is back when the test ends (registered first, this
	// cleanup runs after the test's daemon has stopped).
	r.sandboxDaemon(t, vm1, "stop")
	t.Cleanup(func() { r.sandboxDaemon(t, vm1, "start") })
	e1 := r.startVMEngineEnv(t, vm1, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"OVN_DOCKER_OVSDB=" + vm1.OVSDB, "OVN_DOCKER_BRIDGE=" + vm1.Bridge})
	e3 := r.startVMEngine(t, vm3)

	nw, err := r.clouds["demo"].FindNetwork(t.Context(), neutron)
	if err != nil || len(nw.Subnets) == 0 {
		t.Fatalf("Neutron network %s: %+v, %v", neutron, nw, err)
	}
	subnet := nw.Subnets[0].CIDR.String()
	netID := r.createDockerNetwork(t, e1, "LSP", neutron, "--subnet", subnet)
	r.createDockerNetwork(t, e3, "LSP", neutron, "--subnet", subnet)
	c3 := e3.runDetached(t, "--network", "LSP", daemonImage, "sleep", "600")
	ip3 := e3.mustDocker(t, "inspect", "-f", "{{.NetworkSettings.Networks.LSP.IPAddress}}", c3)
	before := r.portIDs(t, netID)
	made := createdThroughProxy(r.s.proxyLog(t, vm1.Hypervisor))

	// A single ping to a container on the same hypervisor: the network is
	// ready before the container's first instruction, in this mode too.
	if out, err := e1.docker(t.Context(), "run", "--rm", "--network", "LSP", daemonImage, "ping", "-c1", "-W2", ip3); err != nil {
		t.Fatalf("docker run --network LSP in vm1 (daemon through the VM proxy) cannot ping %s in vm3: %v\n%s", ip3, err, out)
	}
	// --rm gave the port back: the network has no port it did not have.
	for id := range r.portIDs(t, netID) {
		if !before[id] {
			t.Errorf("port %s left on %s after docker run --rm through the VM proxy", id, netID)
		}
	}
	// The port was made through the proxy: its audit has one more create.
	if n := createdThroughProxy(r.s.proxyLog(t, vm1.Hypervisor)); n <= made {
		t.Errorf("%s's VM proxy logged %d successful create_port before the run and %d after: the daemon did not go through it", vm1.Hypervisor, made, n)
	}
}

// createdThroughProxy counts the audit lines of ports the proxy created.
func createdThroughProxy(log string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "create_port") && (strings.Contains(l, "status=201") || strings.Contains(l, `"status":201`)) {
			n++
		}
	}
	return n
}
