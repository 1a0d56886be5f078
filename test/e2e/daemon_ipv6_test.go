package e2e

// IPv6 through `ovn-docker daemon`: a Docker network created with --ipv6
// is a Neutron network with an IPv4 and an IPv6 subnet, and an endpoint
// gets both addresses of one Neutron port.

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// dockerAddrs are a container's addresses on a Docker network as the
// engine shows them: IPv4, IPv6, IPv6 gateway.
func dockerAddrs(t *testing.T, e *vmEngine, container, network string) (v4, v6 netip.Addr, gw6 string) {
	t.Helper()
	f := e.mustDocker(t, "inspect", "-f", "{{with index .NetworkSettings.Networks \""+network+"\"}}{{.IPAddress}} {{.GlobalIPv6Address}} {{.IPv6Gateway}}{{end}}", container)
	parts := strings.Fields(f)
	if len(parts) < 2 {
		t.Fatalf("container %s on %s: inspect says %q, want an IPv4 and an IPv6 address", container, network, f)
	}
	v4, err4 := netip.ParseAddr(parts[0])
	v6, err6 := netip.ParseAddr(parts[1])
	if err4 != nil || err6 != nil || !v4.Is4() || !v6.Is6() {
		t.Fatalf("container %s on %s: inspect says %q, want an IPv4 and an IPv6 address", container, network, f)
	}
	if len(parts) > 2 {
		gw6 = parts[2]
	}
	return v4, v6, gw6
}

// portWith is the Neutron port of the network holding ip.
func portWith(ps []cloud.Port, ip netip.Addr) (cloud.Port, bool) {
	for _, p := range ps {
		for _, f := range p.FixedIPs {
			if f.IP == ip {
				return p, true
			}
		}
	}
	return cloud.Port{}, false
}

// samePort fails unless one Neutron port of the network holds both
// addresses.
func (r *pluginRig) samePort(t *testing.T, netID string, v4, v6 netip.Addr) cloud.Port {
	t.Helper()
	ps := r.networkPorts(t, netID)
	p4, ok4 := portWith(ps, v4)
	p6, ok6 := portWith(ps, v6)
	if !ok4 || !ok6 || p4.ID != p6.ID {
		t.Fatalf("addresses %s and %s are not one Neutron port's (ports of the network: %+v)", v4, v6, ps)
	}
	return p4
}

func subnetOfVersion(t *testing.T, nw cloud.Network, v6 bool) cloud.Subnet {
	t.Helper()
	for _, s := range nw.Subnets {
		if s.CIDR.Addr().Is6() == v6 {
			return s
		}
	}
	t.Fatalf("Neutron network %s has no IPv%d subnet: %+v", nw.Name, map[bool]int{false: 4, true: 6}[v6], nw.Subnets)
	return cloud.Subnet{}
}

func TestDaemonIPv6PingsAcrossVMs(t *testing.T) {
	r := newPluginRig(t)
	neutron := r.neutronNetworks(t, "net6")[0]
	e1 := r.startVMEngine(t, r.s.VM(t, "vm1"))
	e2 := r.startVMEngine(t, r.s.VM(t, "vm2"))
	netID := r.createDockerNetwork(t, e1, "LS6", neutron, "--ipv6")
	nw, err := r.clouds["demo"].GetNetwork(t.Context(), netID)
	if err != nil {
		t.Fatal(err)
	}
	sub4, sub6 := subnetOfVersion(t, nw, false), subnetOfVersion(t, nw, true)
	if len(nw.Subnets) != 2 {
		t.Errorf("Neutron network %s has subnets %+v, want one IPv4 and one IPv6", neutron, nw.Subnets)
	}
	// Docker's pools are the Neutron subnets.
	if got := e1.mustDocker(t, "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", "LS6"); got != sub4.CIDR.String()+" "+sub6.CIDR.String() {
		t.Errorf("vm1's LS6 has pools %q, want %s %s", got, sub4.CIDR, sub6.CIDR)
	}
	// The same Neutron network in vm2, with its subnets named.
	if id := r.createDockerNetwork(t, e2, "LS6", neutron, "--ipv6", "--subnet", sub4.CIDR.String(), "--subnet", sub6.CIDR.String()); id != netID {
		t.Fatalf("vm2's LS6 is Neutron network %s, vm1's %s", id, netID)
	}

	c2 := e2.runDetached(t, "--network", "LS6", daemonImage, "sleep", "600")
	v4, v6, gw6 := dockerAddrs(t, e2, c2, "LS6")
	p := r.samePort(t, netID, v4, v6)
	if gw6 != sub6.Gateway.String() {
		t.Errorf("c2's IPv6 gateway %q, want the subnet's %s", gw6, sub6.Gateway)
	}
	out := e2.mustDocker(t, "exec", c2, "sh", "-c", "ip addr show eth0; ip -6 route")
	for _, want := range []string{p.MAC.String(), v4.String() + "/" + strconv.Itoa(sub4.CIDR.Bits()), v6.String() + "/" + strconv.Itoa(sub6.CIDR.Bits()), "default via " + sub6.Gateway.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("c2's eth0 lacks %s:\n%s", want, out)
		}
	}

	// From vm1 (hv1) to vm2 (hv2) over IPv6, once hv2 knows the port.
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := e1.docker(t.Context(), "run", "--rm", "--network", "LS6", daemonImage, "ping", "-6", "-c1", "-W2", v6.String())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a container in vm1 (hv1) does not reach %s in vm2 (hv2) over IPv6: %v\n%s", v6, err, out)
		}
	}
	// IPv4 still works on the same network.
	if out, err := e1.docker(t.Context(), "run", "--rm", "--network", "LS6", daemonImage, "ping", "-c1", "-W2", v4.String()); err != nil {
		t.Errorf("IPv4 from vm1 to %s on the dual-stack network: %v\n%s", v4, err, out)
	}

	// --ip6 asks Neutron for that address, --ip too; both are the port's.
	want6 := r.freeAddr(t, netID, sub6.CIDR, 10)
	c3 := e2.runDetached(t, "--network", "LS6", "--ip6", want6.String(), daemonImage, "sleep", "600")
	v4, v6, _ = dockerAddrs(t, e2, c3, "LS6")
	if v6 != want6 {
		t.Errorf("--ip6 %s gave %s", want6, v6)
	}
	r.samePort(t, netID, v4, v6)
	want4 := r.freeAddr(t, netID, sub4.CIDR, 11)
	c4 := e2.runDetached(t, "--network", "LS6", "--ip", want4.String(), daemonImage, "sleep", "600")
	v4, v6, _ = dockerAddrs(t, e2, c4, "LS6")
	if v4 != want4 || !sub6.CIDR.Contains(v6) {
		t.Errorf("--ip %s gave %s and %s, want it and an address of %s", want4, v4, v6, sub6.CIDR)
	}
	r.samePort(t, netID, v4, v6)
	if out, err := e1.docker(t.Context(), "run", "--rm", "--network", "LS6", daemonImage, "ping", "-6", "-c1", "-W2", v6.String()); err != nil {
		t.Errorf("IPv6 from vm1 to --ip's container %s: %v\n%s", v6, err, out)
	}

	// Removing the containers frees their ports, both addresses with them.
	e2.mustDocker(t, append([]string{"rm", "-f"}, e2.containers...)...)
	e2.containers = nil
	if ps := r.networkPorts(t, netID); len(ps) != 0 {
		t.Errorf("after docker rm, Neutron network %s still has ports: %+v", neutron, ps)
	}
	if got := engineLeftovers(t, r.s.VM(t, "vm2")); len(got) != 0 {
		t.Errorf("after docker rm, vm2 has %v", got)
	}
}

// Docker asks for an endpoint's two addresses in two requests; concurrent
// runs must each get both addresses of one port.
func TestDaemonIPv6ConcurrentRuns(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	neutron := r.neutronNetworks(t, "net6")[0]
	e := r.startVMEngine(t, vm)
	netID := r.createDockerNetwork(t, e, "LS6", neutron, "--ipv6")
	const n = 6
	ids := make(chan string, n)
	for range n {
		go func() {
			out, err := e.docker(t.Context(), "run", "-d", "--network", "LS6", daemonImage, "sleep", "600")
			if err != nil {
				t.Errorf("concurrent run: %v", err)
			}
			ids <- strings.TrimSpace(out)
		}()
	}
	var cs []string
	for range n {
		if id := <-ids; id != "" {
			cs = append(cs, id)
		}
	}
	e.containers = append(e.containers, cs...)
	seen := map[netip.Addr]bool{}
	for _, c := range cs {
		v4, v6, _ := dockerAddrs(t, e, c, "LS6")
		if seen[v4] || seen[v6] {
			t.Errorf("container %s: %s or %s given twice", c, v4, v6)
		}
		seen[v4], seen[v6] = true, true
		r.samePort(t, netID, v4, v6)
		// And the container has what Docker says.
		out := e.mustDocker(t, "exec", c, "ip", "addr", "show", "eth0")
		if !strings.Contains(out, v4.String()+"/") || !strings.Contains(out, v6.String()+"/") {
			t.Errorf("container %s lacks %s or %s:\n%s", c, v4, v6, out)
		}
	}
	if ps := r.networkPorts(t, netID); len(ps) != len(cs) {
		t.Errorf("%d containers, %d Neutron ports", len(cs), len(ps))
	}
}

// pairTimeoutE2E is the driver's wait for the IPv6 request that follows
// an IPv4 one (daemon.pairTimeout).
const pairTimeoutE2E = 5 * time.Second

func TestDaemonIPv6BadInput(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	names := r.neutronNetworks(t, "v4only", "net6", "alt")
	e := r.startVMEngine(t, vm)
	vm2 := r.s.VM(t, "vm2")
	e2 := r.startVMEngine(t, vm2)
	v4only, err := r.clouds["demo"].CreateNetwork(t.Context(), cloud.CreateNetworkOpts{Name: names[0], IPv4CIDR: mustPrefix(t, "10.251.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	altNet, err := r.clouds["alt"].CreateNetwork(t.Context(), cloud.CreateNetworkOpts{Name: names[2], IPv4CIDR: mustPrefix(t, "10.251.2.0/24"), IPv6CIDR: mustPrefix(t, "fd00:251:2::/64")})
	if err != nil {
		t.Fatal(err)
	}
	// With --subnet, the subnets are those (and Docker takes --ip6 only
	// on a network whose subnets were given).
	netID := r.createDockerNetwork(t, e, "LS6", names[1], "--ipv6", "--subnet", "10.251.5.0/24", "--subnet", "fd00:251:5::/64")
	nw, err := r.clouds["demo"].GetNetwork(t.Context(), netID)
	if err != nil {
		t.Fatal(err)
	}
	sub4, sub6 := subnetOfVersion(t, nw, false), subnetOfVersion(t, nw, true)
	if sub4.CIDR.String() != "10.251.5.0/24" || sub6.CIDR.String() != "fd00:251:5::/64" {
		t.Errorf("--subnet 10.251.5.0/24 --subnet fd00:251:5::/64 made subnets %+v", nw.Subnets)
	}
	bridgeIDs := func(vm VM) string { return vm.VSCtl(t, "get", "Bridge", vm.Bridge, "external_ids") }
	before, before2 := bridgeIDs(vm), bridgeIDs(vm2)

	for _, c := range []struct {
		name string
		e    *vmEngine
		args []string
		want string
	}{
		{"IPv4 network we did not create", e, []string{"--ipv6", "-o", "network=" + v4only.Name, "--subnet", "10.251.1.0/24"}, "has no IPv6 subnet"},
		{"another project's network", e, []string{"--ipv6", "-o", "network=" + altNet.ID}, "no network of your project has that id"},
		// In vm2, where the network is not bound yet.
		{"another IPv6 subnet", e2, []string{"--ipv6", "-o", "network=" + names[1], "--subnet", sub4.CIDR.String(), "--subnet", "fd00:251:9::/64"}, "not fd00:251:9::/64: create the Docker network --ipv6 with --subnet " + sub6.CIDR.String()},
		// In vm1, where it is.
		{"IPv6 subnet overlapping one of this VM", e, []string{"--ipv6", "-o", "network=" + names[1], "--subnet", sub6.CIDR.String()}, "overlaps " + sub6.CIDR.String()},
		{"IPv4 CIDR as the IPv6 subnet", e2, []string{"--ipv6", "-o", "network=" + names[1], "--subnet", "10.251.3.0/24", "--subnet", "10.251.4.0/24"}, "at most one IPv4 --subnet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"network", "create", "-d", "ovn", "--ipam-driver", "ovn"}, c.args...)
			out, err := c.e.docker(t.Context(), append(args, "BAD")...)
			if err == nil {
				c.e.networks = append(c.e.networks, strings.TrimSpace(out))
				t.Fatalf("docker network create %v succeeded: %s", c.args, out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error does not say %q:\n%v", c.want, err)
			}
		})
	}
	if after := bridgeIDs(vm); after != before {
		t.Errorf("refused creates left records on vm1's bridge %s:\nbefore %s\nafter  %s", vm.Bridge, before, after)
	}
	if after := bridgeIDs(vm2); after != before2 {
		t.Errorf("refused creates left records on vm2's bridge %s:\nbefore %s\nafter  %s", vm2.Bridge, before2, after)
	}
	if got, err := r.clouds["demo"].GetNetwork(t.Context(), v4only.ID); err != nil || len(got.Subnets) != 1 {
		t.Errorf("the IPv4 network we did not create: %+v, %v; want it unchanged", got, err)
	}

	// --ip6 outside the subnet: refused, no port left.
	out, err := e.docker(t.Context(), "run", "--rm", "--network", "LS6", "--ip6", "fd00:251:9::5", daemonImage, "true")
	if err == nil {
		t.Fatalf("--ip6 outside %s succeeded: %s", sub6.CIDR, out)
	}
	if !strings.Contains(err.Error(), "fd00:251:9::5") {
		t.Errorf("--ip6 outside the subnet: error does not name it:\n%v", err)
	}
	// Docker refuses it itself, after the IPv4 address was reserved, and
	// does not release that: the driver frees it when no IPv6 request
	// follows. Its Neutron port leaves the listing before the driver has
	// its DELETE's answer (real Neutron answers after its OVN work), and
	// the VLAN is released after that answer: both are waited for.
	waitNoPorts := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(3 * pairTimeoutE2E); ; time.Sleep(200 * time.Millisecond) {
			ps, left := r.networkPorts(t, netID), engineLeftovers(t, vm)
			if len(ps) == 0 && len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Neutron ports left: %+v; OVS leftovers: %v", what, ps, left)
			}
		}
	}
	waitNoPorts("--ip6 outside the subnet")
	// --ip6 already taken: Neutron's refusal, no port left.
	c1 := e.runDetached(t, "--network", "LS6", daemonImage, "sleep", "600")
	_, v6, _ := dockerAddrs(t, e, c1, "LS6")
	out, err = e.docker(t.Context(), "run", "--rm", "--network", "LS6", "--ip6", v6.String(), daemonImage, "true")
	if err == nil {
		t.Fatalf("--ip6 %s, c1's, succeeded: %s", v6, out)
	}
	if !strings.Contains(err.Error(), "--ip6 "+v6.String()) {
		t.Errorf("--ip6 taken: error does not name it:\n%v", err)
	}
	if ps := r.networkPorts(t, netID); len(ps) != 1 {
		t.Errorf("after the refused runs, the network has %d ports, want c1's only: %+v", len(ps), ps)
	}
	if got := engineLeftovers(t, vm); len(got) != 1 {
		t.Errorf("after the refused runs, want c1's reservation only: %v", got)
	}
}
