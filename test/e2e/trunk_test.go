package e2e

// The plugin in trunk mode: container ports are subports of the trunk
// whose parent is the VM's port. These tests need a cloud with Neutron's
// trunk extension (ovn-neutrond with trunks, or real Neutron); the plugin
// picks trunk mode by itself there (--port-mode=auto). The second
// tenant's attacks are refused by the cloud with alt's own credentials,
// whatever the plugin does.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// requireTrunks skips unless the sandbox's cloud has the trunk extension.
func requireTrunks(t *testing.T, r *pluginRig) {
	t.Helper()
	ok, err := r.clouds["demo"].HasExtension(t.Context(), cloud.ExtTrunk)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("the sandbox's cloud does not list Neutron's trunk extension: trunk mode is not used there")
	}
}

// vmTrunk is the trunk of vm's port as demo sees it.
func (r *pluginRig) vmTrunk(t *testing.T, vm string) cloud.Trunk {
	t.Helper()
	tr, err := r.clouds["demo"].FindTrunk(t.Context(), r.vif[vm])
	if err != nil {
		t.Fatalf("the trunk of %s's port: %v", vm, err)
	}
	return tr
}

// The README's workflow, verbatim, in trunk mode; the ports are subports
// of the VM's trunk with the VLAN of their access port, OVN has them as
// children with that tag, and containers on vm1 and vm2 reach each other.
func TestTrunkVerbatim(t *testing.T) {
	r := newPluginRig(t)
	requireTrunks(t, r)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	before := r.leftovers(t, vm1, "demo")
	ls1 := r.createNetwork(t, "demo", "LS1")
	ls2 := r.createNetwork(t, "demo", "LS2")
	// $ ovn-docker --cred=$TOKEN list networks
	if out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "list", "networks"); !strings.Contains(out, ls1) {
		t.Fatalf("list networks does not show %s:\n%s", ls1, out)
	}
	// $ ovn-docker --cred=$TOKEN --vif-id=$OS_VIF_ID --network=LS1 run -d --net=none busybox:local /bin/sh -c "…"
	c1 := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$OS_VIF_ID", "--network="+ls1, "run", "-d", "--net=none",
		"busybox:local", "/bin/sh", "-c", "while true; do echo hello world; sleep 1; done"))
	// $ ovn-docker --cred=$TOKEN ps
	row := rowOf(t, r.ps(t, vm1, "demo"), c1)
	if row.Status != "ACTIVE" || row.VLAN < 1 {
		t.Errorf("ps row %+v: want an ACTIVE subport", row)
	}
	if tr := r.vmTrunk(t, "vm1"); tr.VLANHolder(row.VLAN) != row.PortID {
		t.Errorf("trunk %+v: want port %s with VLAN %d", tr, row.PortID, row.VLAN)
	}
	lsp := r.s.NBCtl(t, "--bare", "--columns=parent_name,tag", "find", "Logical_Switch_Port", "name="+row.PortID)
	if want := r.vif["vm1"] + "\n" + strconv.Itoa(row.VLAN); strings.Join(strings.Fields(lsp), "\n") != want {
		t.Errorf("LSP parent_name/tag %q, want %q", lsp, want)
	}
	// A container in vm2 on the same network: the data path between VMs.
	c2 := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$OS_VIF_ID", "--network="+ls1, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", c2) // rm is idempotent
	ip2 := rowOf(t, r.ps(t, vm2, "demo"), c2).ip(t)
	if out, err := r.docker(t.Context(), vm1, "exec", c1, "ping", "-c", "2", "-W", "2", ip2); err != nil {
		t.Errorf("container on vm1 cannot ping the one on vm2 (%s): %v\n%s", ip2, err, out)
	}
	// $ ovn-docker --cred=$TOKEN --network=LS2 attach CONTAINER --ifname eth1
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--network="+ls2, "attach", c1, "--ifname", "eth1")
	if out := r.mustDocker(t, vm1, "exec", c1, "ip", "-o", "link", "show", "eth1"); !strings.Contains(out, "eth1") {
		t.Errorf("eth1: %s", out)
	}
	if tr := r.vmTrunk(t, "vm1"); len(tr.Subports) < 2 {
		t.Errorf("trunk %+v: want the two ports of %s", tr, c1)
	}
	// $ ovn-docker --cred=$TOKEN rm CONTAINER
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", c1)
	r.portGone(t, vm1, "demo", row)
	if tr := r.vmTrunk(t, "vm1"); slices.ContainsFunc(tr.Subports, func(s cloud.Subport) bool { return s.PortID == row.PortID }) {
		t.Errorf("subport %s still on trunk %s", row.PortID, tr.ID)
	}
	// $ ovn-docker --cred=$TOKEN gc
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "gc")
	r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "rm", c2)
	if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
		t.Errorf("left behind (-before +after):\n%s", d)
	}
}

// The pool holds ready subports; run takes one; drain removes them from
// the trunk and deletes them.
func TestTrunkPool(t *testing.T) {
	r := newPluginRig(t)
	requireTrunks(t, r)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "tpool")
	before := r.leftovers(t, vm1, "demo")
	r.fillPool(t, vm1, ls, 2)
	ports := r.neutronPorts(t, vm1, ls)
	tr := r.vmTrunk(t, "vm1")
	for _, id := range ports {
		if !slices.ContainsFunc(tr.Subports, func(s cloud.Subport) bool { return s.PortID == id }) {
			t.Errorf("pool port %s is not a subport of %s: %+v", id, tr.ID, tr.Subports)
		}
	}
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	row := rowOf(t, r.ps(t, vm1, "demo"), c)
	if !slices.Contains(ports, row.PortID) || row.Status != "ACTIVE" {
		t.Errorf("run took port %s (%s), want one of the pool's %v", row.PortID, row.Status, ports)
	}
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", c)
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "pool", "drain")
	tr = r.vmTrunk(t, "vm1")
	for _, id := range ports {
		if slices.ContainsFunc(tr.Subports, func(s cloud.Subport) bool { return s.PortID == id }) {
			t.Errorf("drained port %s still on trunk %s", id, tr.ID)
		}
	}
	if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" {
		t.Errorf("left behind (-before +after):\n%s", d)
	}
}

// A subport someone else put on the VM's trunk holds the VLAN the next
// attach would claim: the attach moves to another VLAN, and gc reports
// the stranger without deleting it.
func TestTrunkForeignSubport(t *testing.T) {
	r := newPluginRig(t)
	requireTrunks(t, r)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "tforeign")
	cl := r.clouds["demo"]
	nw, err := cl.FindNetwork(t.Context(), ls)
	if err != nil {
		t.Fatal(err)
	}
	// The lowest VLAN free in vm1's OVS: the one the next claim takes.
	used := map[int]bool{}
	for _, tag := range strings.Fields(vm1.VSCtl(t, "--bare", "--columns=tag", "list", "Port")) {
		if v, err := strconv.Atoi(tag); err == nil {
			used[v] = true
		}
	}
	tr, err := cl.EnsureTrunk(t.Context(), r.vif["vm1"], "e2e")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range tr.Subports {
		used[s.VLAN] = true
	}
	free := 1
	for used[free] {
		free++
	}
	stranger, err := cl.CreatePort(t.Context(), cloud.PortOpts{NetworkID: nw.ID, Name: "not-ovn-docker"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // t.Context() is done by now
		_ = cl.RemoveSubport(context.Background(), tr.ID, stranger.ID)
		_ = cl.DeletePort(context.Background(), stranger.ID)
	})
	if err := cl.AddSubport(t.Context(), tr.ID, stranger.ID, free); err != nil {
		t.Fatal(err)
	}
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	row := rowOf(t, r.ps(t, vm1, "demo"), c)
	if row.VLAN == free || row.Status != "ACTIVE" {
		t.Errorf("run got VLAN %d (%s); VLAN %d is the stranger's", row.VLAN, row.Status, free)
	}
	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0")
	if !strings.Contains(out, stranger.ID) || !strings.Contains(out, "left alone") {
		t.Errorf("gc does not report the stranger %s:\n%s", stranger.ID, out)
	}
	if _, err := cl.GetPort(t.Context(), stranger.ID); err != nil {
		t.Errorf("gc deleted the stranger: %v", err)
	}
	if tr := r.vmTrunk(t, "vm1"); tr.VLANHolder(free) != stranger.ID {
		t.Errorf("gc took the stranger off the trunk: %+v", tr)
	}
}

// The second tenant attacks demo's VM: a trunk on vm1's port, a subport
// on vm1's trunk, a binding:profile child of vm1's port, and the plugin
// with vm1's vif-id are all refused with alt's credentials; no logical
// port of alt's becomes a child of vm1's port; and nothing from alt's
// port reaches demo's container.
func TestTrunkSecondTenantAttack(t *testing.T) {
	r := newPluginRig(t)
	requireTrunks(t, r)
	vm1 := r.s.VM(t, "vm1")
	lsA := r.createNetwork(t, "demo", "victim")
	lsB := r.createNetwork(t, "alt", "attacker")
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+lsA, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	row := rowOf(t, r.ps(t, vm1, "demo"), c)
	demoTrunk := r.vmTrunk(t, "vm1")
	capture := StartCapture(t, vm1.Netns, row.OVSPort, "")

	alt := r.clouds["alt"]
	nb, err := alt.FindNetwork(t.Context(), lsB)
	if err != nil {
		t.Fatal(err)
	}
	altPort, err := alt.CreatePort(t.Context(), cloud.PortOpts{NetworkID: nb.ID, Name: "attacker"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alt.DeletePort(context.Background(), altPort.ID) })

	if tr, err := alt.CreateTrunk(t.Context(), r.vif["vm1"], "attack"); err == nil {
		t.Errorf("alt made trunk %s on demo's VM port", tr.ID)
	} else {
		t.Logf("trunk on vm1's port refused: %v", err)
	}
	vlan := row.VLAN + 100
	if err := alt.AddSubport(t.Context(), demoTrunk.ID, altPort.ID, vlan); err == nil {
		t.Errorf("alt added port %s to demo's trunk %s", altPort.ID, demoTrunk.ID)
		_ = alt.RemoveSubport(t.Context(), demoTrunk.ID, altPort.ID)
	} else if !errors.Is(err, cloud.ErrNotFound) {
		t.Logf("subport on demo's trunk refused (not as not found): %v", err)
	}
	if p, err := alt.CreateChildPort(t.Context(), cloud.ChildPortOpts{NetworkID: nb.ID, ParentID: r.vif["vm1"], Tag: vlan + 1}); err == nil {
		t.Errorf("alt nested port %s in demo's VM port with binding:profile", p.ID)
		_ = alt.DeletePort(t.Context(), p.ID)
	}
	res := r.plugin(t, vm1, "alt", nil, "--cred=$TOKEN", "--vif-id="+r.vif["vm1"], "--network="+lsB, "run", "-d", "busybox:local", "sleep", "60")
	if res.code == 0 || !strings.Contains(res.stderr, "ovn-docker:") {
		t.Errorf("alt running with demo's vif-id should fail clearly:\n%s", res)
	}
	// Only demo's subports on demo's trunk, no alt port nested in vm1's.
	if tr := r.vmTrunk(t, "vm1"); slices.ContainsFunc(tr.Subports, func(s cloud.Subport) bool { return s.PortID == altPort.ID }) {
		t.Errorf("alt's port on demo's trunk: %+v", tr)
	}
	if out := r.s.NBCtl(t, "--bare", "--columns=parent_name", "find", "Logical_Switch_Port", "name="+altPort.ID); strings.TrimSpace(out) != "" {
		t.Errorf("alt's logical port has parent %q", out)
	}
	time.Sleep(time.Second)
	var fromAlt []string
	for _, l := range capture.Stop() {
		if strings.Contains(l, altPort.MAC.String()) || strings.Contains(l, fmt.Sprintf("vlan %d", vlan)) {
			fromAlt = append(fromAlt, l)
		}
	}
	if len(fromAlt) > 0 {
		t.Errorf("frames from alt reached demo's container:\n%s", strings.Join(fromAlt, "\n"))
	}
}
