package e2e

// Routers, SNAT, floating IPs and security groups on the data path:
// containers on two networks reach each other through a router, reach the
// physical host phys1 through the router's SNAT on the provider network,
// and phys1 reaches a container through its floating IP only as far as
// the container's security group allows.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// subnetOf returns the id and CIDR of the IPv4 subnet of network name.
func subnetOf(t *testing.T, c *gophercloud.ServiceClient, name string) (id, cidr string) {
	t.Helper()
	pages, err := subnets.List(c, subnets.ListOpts{}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	all, err := subnets.ExtractSubnets(pages)
	if err != nil {
		t.Fatal(err)
	}
	netPages, err := networks.List(c, networks.ListOpts{Name: name}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(netPages)
	if err != nil || len(nets) != 1 {
		t.Fatalf("network %s: %v %v", name, nets, err)
	}
	for _, sn := range all {
		if sn.NetworkID == nets[0].ID && sn.IPVersion == 4 {
			return sn.ID, sn.CIDR
		}
	}
	t.Fatalf("network %s has no IPv4 subnet", name)
	return "", ""
}

// routerAtEnd makes a router of demo with interfaces on the given
// subnets (and a gateway on gwNet when not ""), undone when the test ends.
func routerAtEnd(t *testing.T, c *gophercloud.ServiceClient, gwNet string, subnetIDs ...string) *routers.Router {
	t.Helper()
	ctx := t.Context()
	opts := routers.CreateOpts{Name: "e2e-" + strings.ReplaceAll(t.Name(), "/", "-")}
	if gwNet != "" {
		opts.GatewayInfo = &routers.GatewayInfo{NetworkID: gwNet}
	}
	r, err := routers.Create(ctx, c, opts).Extract()
	if err != nil {
		t.Fatalf("create router: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, id := range subnetIDs {
			_, _ = routers.RemoveInterface(ctx, c, r.ID, routers.RemoveInterfaceOpts{SubnetID: id}).Extract()
		}
		if err := routers.Delete(ctx, c, r.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: delete router %s: %v", r.ID, err)
		}
	})
	for _, id := range subnetIDs {
		if _, err := routers.AddInterface(ctx, c, r.ID, routers.AddInterfaceOpts{SubnetID: id}).Extract(); err != nil {
			t.Fatalf("add interface on subnet %s: %v", id, err)
		}
	}
	return r
}

// Containers on two networks of one project, in VMs on different
// hypervisors, reach each other through a router (their default security
// group lets members in).
func TestRouterConnectsNetworks(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls1, ls2 := r.createNetwork(t, "demo", "rt1"), r.createNetwork(t, "demo", "rt2")
	demo := neutronAs(t, r.s, "demo")
	sub1, _ := subnetOf(t, demo, ls1)
	sub2, _ := subnetOf(t, demo, ls2)
	c1 := r.runContainer(t, vm1, ls1, "sleep 3600")
	c2 := r.runContainer(t, vm2, ls2, "sleep 3600")
	if err := r.pingFrom(t.Context(), c1, c2.ip); err == nil {
		t.Fatalf("%s reaches %s on another network before any router connects them", c1.ip, c2.ip)
	}
	routerAtEnd(t, demo, "", sub1, sub2)
	var err error
	for range pingTries {
		if err = r.pingFrom(t.Context(), c1, c2.ip); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("container %s on %s (%s) cannot reach %s on %s (%s) through the router: %v", c1.ip, ls1, vm1.Hypervisor, c2.ip, ls2, vm2.Hypervisor, err)
	}
	if err := r.pingFrom(t.Context(), c2, c1.ip); err != nil {
		t.Fatalf("the way back, %s to %s: %v", c2.ip, c1.ip, err)
	}
}

// makeExternal marks the sandbox's provider network router:external for
// the test (as admin) and restores it afterwards.
func makeExternal(t *testing.T, admin *gophercloud.ServiceClient, id string) {
	t.Helper()
	yes, no := true, false
	if _, err := networks.Update(t.Context(), admin, id, external.UpdateOptsExt{UpdateOptsBuilder: networks.UpdateOpts{}, External: &yes}).Extract(); err != nil {
		t.Fatalf("make the provider network external: %v", err)
	}
	t.Cleanup(func() {
		if _, err := networks.Update(context.Background(), admin, id, external.UpdateOptsExt{UpdateOptsBuilder: networks.UpdateOpts{}, External: &no}).Extract(); err != nil {
			t.Errorf("cleanup: provider network back to internal: %v", err)
		}
	})
}

// groupAtEnd makes a security group of its own (Neutron gives it
// egress rules only) and puts the port in it alone, for the test: the
// sandbox lets the provider subnet into each project's default group.
func groupAtEnd(t *testing.T, c *gophercloud.ServiceClient, portID string) string {
	t.Helper()
	g, err := groups.Create(t.Context(), c, groups.CreateOpts{Name: "e2e-" + strings.ReplaceAll(t.Name(), "/", "-")}).Extract()
	if err != nil {
		t.Fatalf("security group: %v", err)
	}
	pages, err := groups.List(c, groups.ListOpts{Name: "default"}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := groups.ExtractGroups(pages)
	if err != nil || len(defaults) != 1 {
		t.Fatalf("default group: %v %v", defaults, err)
	}
	t.Cleanup(func() {
		// The port is the container's, which goes later (or back to a
		// pool): give it its default group back first.
		ctx := context.Background()
		if _, err := ports.Update(ctx, c, portID, ports.UpdateOpts{SecurityGroups: &[]string{defaults[0].ID}}).Extract(); err != nil {
			t.Errorf("cleanup: port %s back into its default group: %v", portID, err)
		}
		if err := groups.Delete(ctx, c, g.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: delete security group %s: %v", g.ID, err)
		}
	})
	if _, err := ports.Update(t.Context(), c, portID, ports.UpdateOpts{SecurityGroups: &[]string{g.ID}}).Extract(); err != nil {
		t.Fatalf("port %s into group %s: %v", portID, g.ID, err)
	}
	return g.ID
}

// fetchFrom fetches url in netns ns with curl (2 s timeout); an HTTP
// error status is an error too.
func fetchFrom(ctx context.Context, ns, url string) (string, error) {
	return InNetns(ctx, ns, "curl", "-sSf", "-m", "2", url)
}

// A container reaches phys1 through its router's SNAT (phys1 has no route
// to the container's subnet, so a reply proves the translation); phys1
// reaches the container through a floating IP once, and only while, a
// security group rule lets TCP to its port in.
func TestRouterSNATAndFloatingIP(t *testing.T) {
	r := newPluginRig(t)
	pn := needProviderNetwork(t, r.s)
	phys := r.s.physicalHost(t, "phys1")
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "snat")
	demo, admin := neutronAs(t, r.s, "demo"), neutronAs(t, r.s, "admin")
	sub, _ := subnetOf(t, demo, ls)
	makeExternal(t, admin, pn.ID)
	rt := routerAtEnd(t, demo, pn.ID, sub)
	c := r.runContainer(t, vm1, ls, "echo served > /index.html && httpd -f -p 8080 -h /")
	if out, err := InNetns(t.Context(), phys.Netns, "ip", "route", "get", c.ip); err == nil {
		t.Fatalf("phys1 has a route to the container's address %s (%s): a reply would not prove SNAT", c.ip, out)
	}

	// SNAT: the container reaches phys1.
	var err error
	for range pingTries {
		if err = r.pingFrom(t.Context(), c, phys.IP); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("container %s cannot reach %s through the router's SNAT (gateway %+v): %v", c.ip, phys.IP, rt.GatewayInfo, err)
	}

	// A floating IP for the container.
	fip, err := floatingips.Create(t.Context(), demo, floatingips.CreateOpts{FloatingNetworkID: pn.ID, PortID: c.row.PortID}).Extract()
	if err != nil {
		t.Fatalf("floating IP: %v", err)
	}
	t.Cleanup(func() {
		if err := floatingips.Delete(context.Background(), demo, fip.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: delete floating IP: %v", err)
		}
	})
	url := fmt.Sprintf("http://%s:8080/index.html", fip.FloatingIP)

	// A group without ingress rules lets no one from outside in.
	group := groupAtEnd(t, demo, c.row.PortID)
	time.Sleep(2 * time.Second) // let ovn-controller apply the move
	for range 3 {
		if out, err := fetchFrom(t.Context(), phys.Netns, url); err == nil {
			t.Fatalf("phys1 fetched %s (%q) without a rule letting it in", url, out)
		}
	}

	// A rule lets TCP 8080 in from phys1: new connections work.
	added := time.Now()
	rule, err := rules.Create(t.Context(), demo, rules.CreateOpts{SecGroupID: group, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: 8080, PortRangeMax: 8080, RemoteIPPrefix: phys.IP + "/32"}).Extract()
	if err != nil {
		t.Fatalf("rule: %v", err)
	}
	ruleGone := false
	t.Cleanup(func() {
		if !ruleGone {
			_ = rules.Delete(context.Background(), demo, rule.ID).ExtractErr()
		}
	})
	var out string
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, err = fetchFrom(t.Context(), phys.Netns, url); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("phys1 cannot fetch %s through the floating IP with the rule in place: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("rule added → first fetch through the floating IP after %v (API call included)", time.Since(added).Round(time.Millisecond))
	if strings.TrimSpace(out) != "served" {
		t.Fatalf("fetched %q through the floating IP, want the container's page", out)
	}

	// Removing the rule cuts new connections.
	if err := rules.Delete(t.Context(), demo, rule.ID).ExtractErr(); err != nil {
		t.Fatalf("delete rule: %v", err)
	}
	ruleGone = true
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, err := fetchFrom(t.Context(), phys.Netns, url); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("phys1 still fetches %s 30 s after the rule was removed", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
