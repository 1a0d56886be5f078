package e2e

// End-to-end tests of the data-path probe: an attach returns only once
// OVN's native DHCP answered the container's interface, i.e. once the
// port's flows are installed on the hypervisor -- "up" alone does not
// mean that for a child port. A network without DHCP skips the probe.

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Fresh pool ports, used right after `pool fill`, reach a container on
// the other VM with their very first packet: no retry.
func TestProbeFreshPoolPortsPingAtOnce(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "probefresh")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)
	r.fillPool(t, vm1, ls, 2) // also drains at the end
	seen := map[string]bool{}
	for round := range 4 {
		if round > 0 {
			// Drain and refill: every round uses ports made just now.
			r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "pool", "drain")
			r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "pool", "fill", "--size", "2")
		}
		ports := r.neutronPorts(t, vm1, ls)
		for _, p := range ports {
			if seen[p] {
				t.Errorf("round %d: pool port %s is not fresh", round+1, p)
			}
			seen[p] = true
		}
		for i := range 2 {
			if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", peerIP); res.code != 0 {
				t.Errorf("round %d, run %d: a fresh pool port's single ping failed:\n%s", round+1, i+1, res)
			}
		}
	}
}

// A port on a subnet without DHCP attaches (nothing could answer a probe,
// so none is made) and its container works.
func TestProbeSkippedWithoutDHCP(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "probenodhcp")
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), ls)
	if err != nil {
		t.Fatal(err)
	}
	sc := r.networkClient(t, "demo")
	off := false
	for _, s := range nw.Subnets {
		if _, err := subnets.Update(t.Context(), sc, s.ID, subnets.UpdateOpts{EnableDHCP: &off}).Extract(); err != nil {
			t.Fatalf("disabling DHCP on subnet %s: %v", s.ID, err)
		}
	}
	if nw, err = r.clouds["demo"].FindNetwork(t.Context(), ls); err != nil {
		t.Fatal(err)
	}
	for _, s := range nw.Subnets {
		if s.EnableDHCP {
			t.Fatalf("subnet %s still has DHCP", s.ID)
		}
	}
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	row := rowOf(t, r.ps(t, vm2, "demo"), peer)
	if got := strings.TrimSpace(r.s.NBCtl(t, "get", "Logical_Switch_Port", row.PortID, "dhcpv4_options")); got != "[]" {
		t.Errorf("port %s on a subnet without DHCP has dhcpv4_options %s", row.PortID, got)
	}
	// Without the probe the first packet may still be lost: ping until
	// one reply (busybox ping exits 0 once any reply came).
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "--rm", "busybox:local", "ping", "-c", "5", "-w", "10", row.ip(t)); res.code != 0 {
		t.Errorf("container on a network without DHCP cannot reach %s:\n%s", row.ip(t), res)
	}
}

// networkClient is Neutron as tenant through gophercloud itself, for
// calls the plugin does not make.
func (r *pluginRig) networkClient(t *testing.T, tenant string) *gophercloud.ServiceClient {
	t.Helper()
	p, err := openstack.NewClient(r.s.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	p.TokenID = r.tokens[tenant]
	base := gophercloud.NormalizeURL(strings.TrimSuffix(strings.TrimRight(r.clouds[tenant].NetworkURL(), "/"), "/v2.0"))
	return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: base, ResourceBase: base + "v2.0/", Type: "network"}
}
