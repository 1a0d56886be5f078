package e2e

import (
	"net/netip"
	"testing"
)

// TestDaemonReusedAddressReachable: a container that gets the address a
// removed container had (a new port, so a new MAC) is reached at once by
// a peer that talked to the old one, over IPv4 and IPv6. Real Neutron
// picks a port's address at random among the free ones, so it can hand
// the address just freed out again; the peer's neighbour entry still
// maps it to the old MAC, and OVN answers ARP and neighbour solicitations
// itself, so the peer never hears the new container's. The plugin
// announces the addresses (gratuitous ARP, unsolicited neighbour
// advertisement) once the data path is proven.
func TestDaemonReusedAddressReachable(t *testing.T) {
	r := newPluginRig(t)
	neutron := r.neutronNetworks(t, "net6")[0]
	e1 := r.startVMEngine(t, r.s.VM(t, "vm1"))
	e3 := r.startVMEngine(t, r.s.VM(t, "vm3"))
	netID := r.createDockerNetwork(t, e3, "LS6", neutron, "--ipv6")
	nw, err := r.clouds["demo"].GetNetwork(t.Context(), netID)
	if err != nil {
		t.Fatal(err)
	}
	sub4, sub6 := subnetOfVersion(t, nw, false).CIDR, subnetOfVersion(t, nw, true).CIDR
	// Docker takes --ip and --ip6 only on a network with user-given subnets.
	r.createDockerNetwork(t, e1, "LS6", neutron, "--ipv6", "--subnet", sub4.String(), "--subnet", sub6.String())
	peer := e3.runDetached(t, "--network", "LS6", daemonImage, "sleep", "600")
	peer4, peer6, _ := dockerAddrs(t, e3, peer, "LS6")
	reused4, reused6 := r.freeAddr(t, netID, sub4, 20), r.freeAddr(t, netID, sub6, 20)
	for i := range 3 {
		// Each run is a new port, with a new MAC, holding the same two
		// addresses. Two echo requests a second apart, the run failing
		// only when neither gets a reply: a peer left with the old MAC
		// keeps it far longer (its entry stays reachable for 15 to 45 s),
		// while one packet lost on a loaded machine is not what this
		// test is about (once in eleven loaded runs).
		for _, ping := range [][]string{{"ping", "-c2", "-W2", peer4.String()}, {"ping", "-6", "-c2", "-W2", peer6.String()}} {
			args := append([]string{"run", "--rm", "--network", "LS6", "--ip", reused4.String(), "--ip6", reused6.String(), daemonImage}, ping...)
			if out, err := e1.docker(t.Context(), args...); err != nil {
				t.Fatalf("run %d: a container holding %s and %s again: %v: %v\n%s", i, reused4, reused6, ping, err, out)
			}
		}
	}
}

// freeAddr is the first address from the n-th after the prefix's first
// that no port on Neutron network netID holds: real Neutron gives ports
// addresses at random, so any fixed one may be taken already.
func (r *pluginRig) freeAddr(t *testing.T, netID string, p netip.Prefix, n int) netip.Addr {
	t.Helper()
	held := map[netip.Addr]bool{}
	for _, port := range r.networkPorts(t, netID) {
		for _, ip := range port.FixedIPs {
			held[ip.IP] = true
		}
	}
	for a := nthAddr(p, n); p.Contains(a); a = a.Next() {
		if !held[a] {
			return a
		}
	}
	t.Fatalf("no free address in %s from the %d-th on", p, n)
	return netip.Addr{}
}

// nthAddr is the address n after the prefix's first.
func nthAddr(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for range n {
		a = a.Next()
	}
	return a
}
