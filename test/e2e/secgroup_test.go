package e2e

// Security groups chosen by the plugin (--security-group) on the data
// path: a container's port is in the groups its run names, a pooled run
// takes only a port made for its set, and the subnet's DNS servers are
// the container's resolvers. Every check is a TCP connection from another
// container (or its refusal), on both clouds.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// webPort is the TCP port the tests' servers listen on.
const webPort = 8080

// webServer is a container script serving "served" on webPort.
var webServer = fmt.Sprintf("echo served > /index.html && httpd -f -p %d -h /", webPort)

// groupNamed makes a security group of demo named after the test and
// what (Neutron gives a new group egress rules only), deleted at the end
// (after the containers, whose cleanups were registered later).
func groupNamed(t *testing.T, r *pluginRig, c *gophercloud.ServiceClient, what string) groups.SecGroup {
	t.Helper()
	g, err := groups.Create(t.Context(), c, groups.CreateOpts{Name: r.s.uniqueName(t, "sg/"+what)}).Extract()
	if err != nil {
		t.Fatalf("security group %s: %v", what, err)
	}
	t.Cleanup(func() {
		if err := groups.Delete(context.Background(), c, g.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: delete security group %s: %v", g.Name, err)
		}
	})
	return *g
}

// allowTCP adds an ingress rule for TCP webPort to group: from anywhere,
// or from the members of remoteGroup when it is not "".
func allowTCP(t *testing.T, c *gophercloud.ServiceClient, group, remoteGroup string) {
	t.Helper()
	o := rules.CreateOpts{SecGroupID: group, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: webPort, PortRangeMax: webPort}
	if remoteGroup != "" {
		o.RemoteGroupID = remoteGroup
	} else {
		o.RemoteIPPrefix = "0.0.0.0/0"
	}
	if _, err := rules.Create(t.Context(), c, o).Extract(); err != nil {
		t.Fatalf("rule on %s: %v", group, err)
	}
}

// runInGroups starts `sh -c script` in vm on network through the plugin,
// with --security-group for each of sgs, and removes it at the end.
func (r *pluginRig) runInGroups(t *testing.T, vm VM, network string, sgs []string, script string) container {
	t.Helper()
	args := []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + network}
	for _, g := range sgs {
		args = append(args, "--security-group", g)
	}
	id := strings.TrimSpace(r.mustPlugin(t, vm, "demo", append(args, "run", "-d", "busybox:local", "/bin/sh", "-c", script)...))
	r.rmAtEnd(t, vm, "demo", id)
	row := rowOf(t, r.ps(t, vm, "demo"), id)
	return container{vm: vm, id: id, row: row, ip: row.ip(t)}
}

// fetch opens a TCP connection from container c to ip:webPort and
// fetches the page (2 s timeout: the image's busybox wget crashes with
// -T, so timeout(1) bounds it).
func (r *pluginRig) fetch(ctx context.Context, c container, ip string) (string, error) {
	return r.docker(ctx, c.vm, "exec", c.id, "timeout", "2", "wget", "-q", "-O", "-", fmt.Sprintf("http://%s:%d/index.html", ip, webPort))
}

// reaches waits up to 20 s for c to fetch the page of ip (a new port's
// group and address set reach the other chassis on their own schedule).
func (r *pluginRig) reaches(t *testing.T, c container, ip, why string) {
	t.Helper()
	var err error
	var out string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if out, err = r.fetch(t.Context(), c, ip); err == nil {
			if strings.TrimSpace(out) != "served" {
				t.Fatalf("%s fetched %q from %s, want the server's page", c.ip, out, ip)
			}
			return
		}
	}
	t.Fatalf("%s cannot open TCP %d on %s (%s): %v", c.ip, webPort, ip, why, err)
}

// refused checks that c cannot open a TCP connection to ip:webPort, three
// times.
func (r *pluginRig) refused(t *testing.T, c container, ip, why string) {
	t.Helper()
	for range 3 {
		if out, err := r.fetch(t.Context(), c, ip); err == nil {
			t.Fatalf("%s fetched %q from %s:%d, though %s", c.ip, out, ip, webPort, why)
		}
	}
}

// portGroups are the security groups of a Neutron port, sorted.
func portGroups(t *testing.T, c *gophercloud.ServiceClient, id string) []string {
	t.Helper()
	p, err := ports.Get(t.Context(), c, id).Extract()
	if err != nil {
		t.Fatalf("port %s: %v", id, err)
	}
	g := slices.Clone(p.SecurityGroups)
	slices.Sort(g)
	return g
}

// defaultGroup is demo's default security group.
func defaultGroup(t *testing.T, c *gophercloud.ServiceClient) string {
	t.Helper()
	pages, err := groups.List(c, groups.ListOpts{Name: "default"}).AllPages(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gs, err := groups.ExtractGroups(pages)
	if err != nil || len(gs) != 1 {
		t.Fatalf("default group: %v %v", gs, err)
	}
	return gs[0].ID
}

// A container run with a group that lets TCP webPort in from anywhere is
// reached on it from a peer; one run without it (the default group, which
// lets in only its members) is not. The peer is in a group of its own
// (egress only), and the servers are on another hypervisor than the peer
// and on the same one.
func TestSecurityGroupRunAdmitsTCP(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2, vm3 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2"), r.s.VM(t, "vm3")
	demo := neutronAs(t, r.s, "demo")
	web := groupNamed(t, r, demo, "web")
	allowTCP(t, demo, web.ID, "")
	client := groupNamed(t, r, demo, "client")
	ls := r.createNetwork(t, "demo", "sgrun")

	// By name and by id.
	open := r.runInGroups(t, vm2, ls, []string{web.Name}, webServer)
	openLocal := r.runInGroups(t, vm3, ls, []string{web.ID}, webServer)
	closed := r.runInGroups(t, vm2, ls, nil, webServer)
	peer := r.runInGroups(t, vm1, ls, []string{client.Name}, "sleep 3600")

	if d := cmp.Diff([]string{web.ID}, portGroups(t, demo, open.row.PortID)); d != "" {
		t.Errorf("groups of the port run with --security-group %s (-want +got):\n%s", web.Name, d)
	}
	if d := cmp.Diff([]string{defaultGroup(t, demo)}, portGroups(t, demo, closed.row.PortID)); d != "" {
		t.Errorf("groups of the port run without --security-group (-want +got):\n%s", d)
	}
	r.reaches(t, peer, open.ip, "its group "+web.Name+" lets TCP in from anywhere")
	r.reaches(t, peer, openLocal.ip, "its group "+web.Name+" lets TCP in from anywhere")
	r.refused(t, peer, closed.ip, "it is in the default group only, which the peer is no member of")
}

// A rule with remote_group_id lets in the members of that group only: a
// client in the group reaches the server, one outside it does not.
func TestSecurityGroupRemoteGroupAdmitsMembersOnly(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	demo := neutronAs(t, r.s, "demo")
	members := groupNamed(t, r, demo, "members")
	allowTCP(t, demo, members.ID, members.ID)
	outsiders := groupNamed(t, r, demo, "outsiders")
	ls := r.createNetwork(t, "demo", "sgremote")

	server := r.runInGroups(t, vm2, ls, []string{members.Name}, webServer)
	member := r.runInGroups(t, vm1, ls, []string{members.Name}, "sleep 3600")
	outsider := r.runInGroups(t, vm1, ls, []string{outsiders.Name}, "sleep 3600")
	r.reaches(t, member, server.ip, "both are members of "+members.Name)
	r.refused(t, outsider, server.ip, "it is no member of "+members.Name)
}

// A pool keeps ports per security group set: a run with {web} takes the
// {web} pool port (in group web, reachable on webPort), a run without
// groups takes the default set's (not reachable), and neither takes the
// other's.
func TestSecurityGroupPooledRunRespectsItsSet(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	demo := neutronAs(t, r.s, "demo")
	web := groupNamed(t, r, demo, "web")
	allowTCP(t, demo, web.ID, "")
	client := groupNamed(t, r, demo, "client")
	ls := r.createNetwork(t, "demo", "sgpool")

	r.fillPool(t, vm2, ls, 1)
	r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "--security-group", web.Name, "pool", "fill", "--size", "1")
	pooled := r.neutronPorts(t, vm2, ls)
	if len(pooled) != 2 {
		t.Fatalf("after filling both pools: %d Neutron ports %v, want 2", len(pooled), pooled)
	}
	byGroups := map[string]string{} // groups -> pool port
	for _, id := range pooled {
		byGroups[strings.Join(portGroups(t, demo, id), ",")] = id
	}
	want := map[string]bool{web.ID: true, defaultGroup(t, demo): true}
	for g := range byGroups {
		if !want[g] {
			t.Fatalf("pool ports by groups %v, want one in %s and one in the default group", byGroups, web.ID)
		}
	}

	peer := r.runInGroups(t, vm1, ls, []string{client.Name}, "sleep 3600")
	open := r.runInGroups(t, vm2, ls, []string{web.Name}, webServer)
	closed := r.runInGroups(t, vm2, ls, nil, webServer)
	if open.row.PortID != byGroups[web.ID] {
		t.Errorf("the {%s} run got port %s, want the {%s} pool port %s", web.Name, open.row.PortID, web.Name, byGroups[web.ID])
	}
	if closed.row.PortID != byGroups[defaultGroup(t, demo)] {
		t.Errorf("the run without groups got port %s, want the default set's pool port %s", closed.row.PortID, byGroups[defaultGroup(t, demo)])
	}
	if got := r.neutronPorts(t, vm2, ls); !slices.Equal(got, pooled) {
		t.Errorf("Neutron ports after both runs %v, want the pool's %v (no new port)", got, pooled)
	}
	r.reaches(t, peer, open.ip, "the pooled port is in "+web.Name)
	r.refused(t, peer, closed.ip, "the pooled port is in the default group only")

	// Both pools are empty now: another {web} run makes a port in web,
	// and never takes a default-set port given back meanwhile.
	r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "rm", closed.id)
	if st := r.poolStatus(t, vm2, ls); st.Ready != 1 {
		t.Fatalf("after rm of the default-set run: %+v, want its port back in the pool", st)
	}
	again := r.runInGroups(t, vm2, ls, []string{web.Name}, webServer)
	if again.row.PortID == byGroups[defaultGroup(t, demo)] {
		t.Errorf("a {%s} run took the default set's pool port %s", web.Name, again.row.PortID)
	}
	if d := cmp.Diff([]string{web.ID}, portGroups(t, demo, again.row.PortID)); d != "" {
		t.Errorf("groups of the second {%s} run's port (-want +got):\n%s", web.Name, d)
	}
	r.reaches(t, peer, again.ip, "its new port is in "+web.Name)
}

// An unknown group name fails the run, naming it, with nothing left.
func TestSecurityGroupUnknownNameLeavesNothing(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "sgbad")
	before := r.leftovers(t, vm, "demo")
	for _, args := range [][]string{
		{"--security-group", "no-such-group", "run", "-d", "busybox:local", "sleep", "60"},
		{"run", "--security-group", "no-such-group", "-d", "busybox:local", "sleep", "60"},
		{"--security-group", "no-such-group", "pool", "fill", "--size", "1"},
	} {
		res := r.plugin(t, vm, "demo", nil, append([]string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls}, args...)...)
		if res.code == 0 || !strings.Contains(res.stderr, `security group "no-such-group"`) {
			t.Errorf("ovn-docker %s: want a failure naming the group:\n%s", strings.Join(args, " "), res)
		}
	}
	if d := cmp.Diff(before, r.leftovers(t, vm, "demo")); d != "" {
		t.Errorf("left behind (-before +after):\n%s", d)
	}
	if st := r.poolStatus(t, vm, ls); st.Target != 0 || st.Ready+st.Pending != 0 {
		t.Errorf("pool after a refused fill: %+v", st)
	}
}

// The subnet's dns_nameservers are the container's resolvers; --dns
// keeps the user's.
func TestRunResolversFromSubnet(t *testing.T) {
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	demo := neutronAs(t, r.s, "demo")
	ls := r.createNetwork(t, "demo", "dns")
	sub, _ := subnetOf(t, demo, ls)
	servers := []string{"192.0.2.53", "198.51.100.53"}
	if _, err := subnets.Update(t.Context(), demo, sub, subnets.UpdateOpts{DNSNameservers: &servers}).Extract(); err != nil {
		t.Fatalf("dns_nameservers on subnet %s: %v", sub, err)
	}
	nameservers := func(extra ...string) []string {
		args := append([]string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "--network=" + ls, "run", "--rm"}, extra...)
		out := r.mustPlugin(t, vm, "demo", append(args, "busybox:local", "cat", "/etc/resolv.conf")...)
		var ns []string
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "nameserver" {
				ns = append(ns, f[1])
			}
		}
		return ns
	}
	if d := cmp.Diff(servers, nameservers()); d != "" {
		t.Errorf("resolvers of a container on a subnet with dns_nameservers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"203.0.113.53"}, nameservers("--dns", "203.0.113.53")); d != "" {
		t.Errorf("resolvers with --dns (-want +got):\n%s", d)
	}
}

// The Docker driver's -o security_groups puts the network's container
// ports in those groups: a server run with plain `docker run --network`
// on such a network is in group web and reached by a peer that the
// default group would refuse.
func TestSecurityGroupDockerNetworkOption(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	demo := neutronAs(t, r.s, "demo")
	web := groupNamed(t, r, demo, "web")
	allowTCP(t, demo, web.ID, "")
	client := groupNamed(t, r, demo, "client")
	ls := r.createNetwork(t, "demo", "sgdocker")
	_, cidr := subnetOf(t, demo, ls)
	e := r.startVMEngine(t, vm2)

	// A bad group: refused, naming it, nothing made.
	if out, err := e.docker(t.Context(), "network", "create", "-d", "ovn", "--ipam-driver", "ovn", "-o", "network="+ls,
		"-o", "security_groups="+web.Name+",no-such-group", "--subnet", cidr, "sgbad"); err == nil || !strings.Contains(err.Error(), `security group "no-such-group"`) {
		t.Fatalf("docker network create with an unknown group: %v %s, want an error naming it", err, out)
	}

	netID := r.createDockerNetwork(t, e, "sgweb", ls, "-o", "security_groups="+web.Name, "--subnet", cidr)
	server := e.runDetached(t, "--network", "sgweb", daemonImage, "/bin/sh", "-c", webServer)
	ip := e.mustDocker(t, "inspect", "-f", "{{.NetworkSettings.Networks.sgweb.IPAddress}}", server)
	var portID string
	for _, p := range r.networkPorts(t, netID) {
		for _, fip := range p.FixedIPs {
			if fip.IP.String() == ip {
				portID = p.ID
			}
		}
	}
	if portID == "" {
		t.Fatalf("no Neutron port has the server's address %s", ip)
	}
	if d := cmp.Diff([]string{web.ID}, portGroups(t, demo, portID)); d != "" {
		t.Errorf("groups of the server's port (-want +got):\n%s", d)
	}
	peer := r.runInGroups(t, vm1, ls, []string{client.Name}, "sleep 3600")
	r.reaches(t, peer, ip, "the Docker network's ports are in "+web.Name)
}
