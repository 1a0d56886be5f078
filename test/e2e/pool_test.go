package e2e

// End-to-end tests of the port pool: `ovn-docker pool fill|status|drain`,
// run/attach taking pool ports without creating Neutron ports, rm giving
// them back, gc, and the pool surviving a restart of the cloud API.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// poolStatus is one row of `ovn-docker pool status -o json`.
type poolStatus struct {
	NetworkID string `json:"network_id"`
	Network   string `json:"network"`
	Ready     int    `json:"ready"`
	InUse     int    `json:"in_use"`
	Pending   int    `json:"pending"`
	Target    int    `json:"target"`
}

func (r *pluginRig) poolStatus(t *testing.T, vm VM, network string) poolStatus {
	t.Helper()
	out := r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "pool", "status", "-o", "json")
	var rows []poolStatus
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("pool status -o json: %v: %s", err, out)
	}
	for _, row := range rows {
		if row.Network == network || row.NetworkID == network {
			return row
		}
	}
	return poolStatus{Network: network}
}

// fillPool fills network's pool on vm and drains it when the test ends
// (before the network is deleted: cleanups run last-registered first).
func (r *pluginRig) fillPool(t *testing.T, vm VM, network string, size int) {
	t.Helper()
	r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+network, "pool", "fill", "--size", strconv.Itoa(size))
	t.Cleanup(func() {
		if res := r.plugin(t, vm, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+network, "pool", "drain"); res.code != 0 {
			t.Errorf("cleanup: pool drain %s:\n%s", network, res)
		}
	})
}

// neutronPorts: ids of the tenant's container ports on network (name)
// that are children of vm's port.
func (r *pluginRig) neutronPorts(t *testing.T, vm VM, network string) []string {
	t.Helper()
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), network)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := r.clouds["demo"].ListPorts(t.Context(), cloud.PortFilter{NetworkID: nw.ID})
	if err != nil {
		t.Fatal(err)
	}
	// binding-profile mode: container ports with the VM's port as
	// parent; trunk mode: ports marked as the VM's children (a member
	// does not see a subport's binding:profile on real Neutron).
	var ids []string
	for _, p := range ps {
		if attach.IsChildDescription(p.Description, r.vif[vm.Name]) || (p.DeviceOwner == cloud.DeviceOwner && p.ParentName == r.vif[vm.Name]) {
			ids = append(ids, p.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// lsps: names of the child LSPs of vm's port on network (name).
func (r *pluginRig) lsps(t *testing.T, vm VM, network string) []string {
	t.Helper()
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), network)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.Fields(r.s.NBCtl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "parent_name="+r.vif[vm.Name],
		"external_ids:neutron\\:network_name=neutron-"+nw.ID))
	slices.Sort(l)
	return l
}

func TestPoolFillRunRmDrain(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	before := r.leftovers(t, vm1, "demo")
	ls := r.createNetwork(t, "demo", "pool")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)

	r.fillPool(t, vm1, ls, 2)
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 || st.InUse != 0 || st.Target != 2 {
		t.Fatalf("after fill --size 2: %+v", st)
	}
	pool := r.neutronPorts(t, vm1, ls)
	if len(pool) != 2 {
		t.Fatalf("Neutron ports of vm1 after fill: %v, want 2", pool)
	}
	if d := cmp.Diff(pool, r.lsps(t, vm1, ls)); d != "" {
		t.Errorf("LSPs are not the pool's ports (-ports +lsps):\n%s", d)
	}
	// The human-readable status too.
	if out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "pool", "status"); !strings.Contains(out, ls) || !strings.Contains(out, "READY") {
		t.Errorf("pool status:\n%s", out)
	}

	// A container whose only command is one ping, no retry: the pool port
	// carries traffic as soon as run starts the container.
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", peerIP); res.code != 0 {
		t.Errorf("single ping from a pool port failed:\n%s", res)
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("a run --rm from the pool changed the Neutron ports (-before +after):\n%s", d)
	}
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 || st.InUse != 0 {
		t.Errorf("after run --rm: %+v, want the port back", st)
	}

	// run -d takes a pool port: its port is one of the pool's, no new one.
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	row := rowOf(t, r.ps(t, vm1, "demo"), c)
	if !slices.Contains(pool, row.PortID) || row.Status != "ACTIVE" {
		t.Errorf("container's port %s (%s) is not one of the pool's %v", row.PortID, row.Status, pool)
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("run from the pool changed the Neutron ports (-before +after):\n%s", d)
	}
	if st := r.poolStatus(t, vm1, ls); st.Ready != 1 || st.InUse != 1 {
		t.Errorf("with one container: %+v", st)
	}
	if mac := r.mustDocker(t, vm1, "exec", c, "cat", "/sys/class/net/eth0/address"); mac != row.MAC {
		t.Errorf("eth0 MAC %s, Neutron's %s", mac, row.MAC)
	}
	if out, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "1", "-W", "2", peerIP); err != nil {
		t.Errorf("container on a pool port cannot ping the one on vm2: %v\n%s", err, out)
	}
	// rm gives it back.
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "rm", c)
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 || st.InUse != 0 {
		t.Errorf("after rm: %+v", st)
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("rm of a pool container changed the Neutron ports (-before +after):\n%s", d)
	}

	// Three containers: two from the pool, one port made. Removing them
	// fills the pool to its target and deletes the port beyond it.
	var cs []string
	for range 3 {
		cs = append(cs, strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600")))
	}
	if n := len(r.neutronPorts(t, vm1, ls)); n != 3 {
		t.Errorf("%d Neutron ports with 3 containers and a pool of 2, want 3", n)
	}
	// The one beyond the pool reaches the others.
	other := rowOf(t, r.ps(t, vm1, "demo"), cs[0]).ip(t)
	if out, err := r.docker(t.Context(), vm1, "exec", cs[2], "ping", "-c", "1", "-W", "2", other); err != nil {
		t.Errorf("container to container on vm1: %v\n%s", err, out)
	}
	r.mustPlugin(t, vm1, "demo", append([]string{"--cred=$TOKEN", "rm"}, cs...)...)
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 || st.InUse != 0 {
		t.Errorf("after rm of 3: %+v", st)
	}
	if n := len(r.neutronPorts(t, vm1, ls)); n != 2 {
		t.Errorf("%d Neutron ports after rm, want the pool's 2", n)
	}

	// drain removes Neutron ports, LSPs and OVS ports.
	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "pool", "drain")
	if !strings.Contains(out, "deleted 2") {
		t.Errorf("pool drain: %s", out)
	}
	if st := r.poolStatus(t, vm1, ls); st != (poolStatus{Network: ls}) {
		t.Errorf("after drain: %+v", st)
	}
	if d := cmp.Diff(before, r.leftovers(t, vm1, "demo")); d != "" && !onlyOtherContainers(before, r.leftovers(t, vm1, "demo")) {
		t.Errorf("left behind on vm1 after drain (-before +after):\n%s", d)
	}
	if l := r.lsps(t, vm1, ls); len(l) != 0 {
		t.Errorf("LSPs left after drain: %v", l)
	}
}

func TestPoolConcurrentRunsTakeDistinctPorts(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "poolconc")
	const n = 4
	r.fillPool(t, vm1, ls, n)
	pool := r.neutronPorts(t, vm1, ls)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600")
			if res.code != 0 {
				t.Errorf("concurrent run:\n%s", res)
				return
			}
			ids[i] = strings.TrimSpace(res.stdout)
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != "" {
			r.rmAtEnd(t, vm1, "demo", id)
		}
	}
	rows := r.ps(t, vm1, "demo")
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" {
			continue
		}
		row := rowOf(t, rows, id)
		if seen[row.PortID] {
			t.Errorf("port %s taken by two containers", row.PortID)
		}
		seen[row.PortID] = true
		if !slices.Contains(pool, row.PortID) {
			t.Errorf("container %s got port %s, not one of the pool's", id[:12], row.PortID)
		}
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("concurrent runs from the pool made Neutron ports (-before +after):\n%s", d)
	}
	if st := r.poolStatus(t, vm1, ls); st.Ready != 0 || st.InUse != n {
		t.Errorf("status: %+v", st)
	}
}

func TestPoolGCHalfMade(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "poolgc")
	r.fillPool(t, vm1, ls, 2)
	st := r.poolStatus(t, vm1, ls)
	pool := r.neutronPorts(t, vm1, ls)

	// An OVS entry whose Neutron port is gone.
	gone := pool[0]
	r.deleteBehindBack(t, "vm1", gone)
	goneOVS := strings.TrimSpace(vm1.VSCtl(t, "--bare", "--columns=name", "find", "Port", "external_ids:ovn-docker\\:port="+gone))
	if goneOVS == "" {
		t.Fatalf("no OVS port records Neutron port %s", gone)
	}
	// A Neutron port without OVS entry.
	orphan := r.makeOrphan(t, "vm1", cloud.ChildPortOpts{NetworkID: st.NetworkID, Name: "ovn-docker-pool", ParentID: r.vif["vm1"], Tag: 4000})
	// An OVS entry of a fill that died before making its port.
	vm1.VSCtl(t, "add-port", vm1.Bridge, "ovdv4001", "tag=4001", "--", "set", "Port", "ovdv4001",
		"external_ids:ovn-docker\\:owner=ovn-docker", "external_ids:ovn-docker\\:vif="+r.vif["vm1"],
		"external_ids:ovn-docker\\:network="+st.NetworkID, "external_ids:ovn-docker\\:state=pool-filling",
		"external_ids:ovn-docker\\:pid=999999999", "external_ids:ovn-docker\\:pooled=true")

	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0")
	t.Logf("gc:\n%s", out)
	for _, want := range []string{"removed pool port " + goneOVS, "removed pool port ovdv4001", "deleted Neutron port " + orphan.ID} {
		if !strings.Contains(out, want) {
			t.Errorf("gc output lacks %q", want)
		}
	}
	if got := r.neutronPorts(t, vm1, ls); !cmp.Equal(got, pool[1:]) {
		t.Errorf("Neutron ports after gc: %v, want %v", got, pool[1:])
	}
	ports := strings.Fields(vm1.VSCtl(t, "list-ports", vm1.Bridge))
	if slices.Contains(ports, goneOVS) || slices.Contains(ports, "ovdv4001") {
		t.Errorf("OVS ports after gc: %v", ports)
	}
	if st := r.poolStatus(t, vm1, ls); st.Ready != 1 || st.Pending != 0 {
		t.Errorf("status after gc: %+v", st)
	}
	// fill makes up for it.
	r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "pool", "fill", "--size", "2")
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 {
		t.Errorf("status after refill: %+v", st)
	}
}

func TestPoolSurvivesNeutrondRestart(t *testing.T) {
	r := newPluginRig(t)
	requireCloud(t, r.s, cloudNeutrond, "kills and restarts ovn-neutrond by its pid file; the openstack cloud has no such process")
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "poolrst")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)
	r.fillPool(t, vm1, ls, 2)
	pool := r.neutronPorts(t, vm1, ls)

	pidfile := filepath.Join(r.s.Dir, "neutrond", "ovn-neutrond.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file %s: %q", pidfile, b)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil && !zombie(pid); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ovn-neutrond %d still running", pid)
		}
	}
	if out, code := r.s.Script(t, "up"); code != 0 {
		t.Fatalf("sandbox up after killing ovn-neutrond: exit %d\n%s", code, out)
	}
	if st := r.poolStatus(t, vm1, ls); st.Ready != 2 || st.Target != 2 {
		t.Errorf("after the restart: %+v", st)
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("Neutron ports changed across the restart (-before +after):\n%s", d)
	}
	// `up` touches the running VMs and hypervisor again (addresses, OVS
	// settings), so the data path may take a moment to settle here: the
	// strict single-ping checks are in the other tests.
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	if row := rowOf(t, r.ps(t, vm1, "demo"), c); !slices.Contains(pool, row.PortID) {
		t.Errorf("run after the restart got port %s, not one of the pool's %v", row.PortID, pool)
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("run after the restart did not use the pool (-before +after):\n%s", d)
	}
	start := time.Now()
	for {
		out, err := r.docker(t.Context(), vm1, "exec", c, "ping", "-c", "1", "-W", "1", peerIP)
		if err == nil {
			t.Logf("pool port reaches the peer %v after the run", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("pool port after the restart cannot reach the peer: %v\n%s", err, out)
		}
	}
}

// zombie: the process has exited but is not reaped yet.
func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// TestPoolCrashThenGC kills `run` (taking a pool port) and `rm` (giving it
// back) at several points; gc then leaves every pool port either ready,
// with its Neutron port, or removed, and nothing else.
func TestPoolCrashThenGC(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "poolcrash")
	r.fillPool(t, vm1, ls, 2)
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), ls)
	if err != nil {
		t.Fatal(err)
	}
	before := r.leftovers(t, vm1, "demo")
	// The ready entries' parked veths: an entry a CLI run used comes back
	// without one.
	beforeParked := parkedLinks(t, vm1, nw.ID)
	check := func(t *testing.T) {
		t.Helper()
		out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "gc", "--grace=0")
		t.Logf("gc:\n%s", out)
		st := r.poolStatus(t, vm1, ls)
		if st.InUse != 0 || st.Pending != 0 || st.Ready > 2 {
			t.Errorf("after gc: %+v", st)
		}
		if ps := r.neutronPorts(t, vm1, ls); len(ps) != st.Ready {
			t.Errorf("%d Neutron ports for %d ready pool ports: %v", len(ps), st.Ready, ps)
		}
		r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "pool", "fill", "--size", "2")
		after := r.leftovers(t, vm1, "demo")
		if len(after.NeutronPort) != len(before.NeutronPort) || len(after.LSPs) != len(before.LSPs) || len(after.OVSPorts) != len(before.OVSPorts) {
			t.Errorf("after gc and fill (-before +after):\n%s", cmp.Diff(before, after))
		}
		if d := cmp.Diff(linksBesides(before.Links, beforeParked, parkedLinks(t, vm1, nw.ID)), after.Links); d != "" {
			t.Errorf("links left (-before and the ready entries' parked veths +after):\n%s", d)
		}
		if d := cmp.Diff(before.Containers, after.Containers); d != "" {
			t.Errorf("containers left (-before +after):\n%s", d)
		}
	}
	// kill kills the plugin and the docker commands it started (a crash
	// of the whole process group: a docker CLI left running would create
	// containers after the test looked), then removes user containers
	// that did start: they are the user's to remove.
	kill := func(t *testing.T, delay time.Duration, args ...string) {
		cmd := execPlugin(r, vm1, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			ids := strings.Fields(r.mustDocker(t, vm1, "ps", "-aq", "--no-trunc", "--filter", "label=ovn-docker.holder"))
			var mine []string
			for _, id := range ids {
				if !slices.Contains(before.Containers, id) {
					mine = append(mine, id)
				}
			}
			if len(mine) == 0 {
				return
			}
			// A removal the killed rm started may still be in progress.
			_, _ = r.docker(t.Context(), vm1, append([]string{"rm", "-f"}, mine...)...)
			if time.Now().After(deadline) {
				t.Fatalf("containers %v not removed", mine)
			}
		}
	}
	for _, delay := range []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond, 800 * time.Millisecond} {
		t.Run("run/"+delay.String(), func(t *testing.T) {
			kill(t, delay, "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600")
			check(t)
		})
	}
	for _, delay := range []time.Duration{20 * time.Millisecond, 50 * time.Millisecond, 80 * time.Millisecond, 120 * time.Millisecond} {
		t.Run("rm/"+delay.String(), func(t *testing.T) {
			c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
			kill(t, delay, "rm", c)
			check(t)
		})
	}
}

// execPlugin is the plugin as a process the test may kill.
func execPlugin(r *pluginRig, vm VM, args ...string) *exec.Cmd {
	cmd := vm.Command(context.Background(), append([]string{r.bin, "--cred=" + r.tokens["demo"], "--vif-id=" + r.vif[vm.Name]}, args...)...)
	cmd.Env = r.vmEnv(vm)
	return cmd
}

// A pool port given back and taken again carries traffic at once too
// (its OVS interface is renewed on the way back).
func TestPoolReusedPortPingsAtOnce(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "poolreuse")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)
	r.fillPool(t, vm1, ls, 1)
	pool := r.neutronPorts(t, vm1, ls)
	for i := range 3 {
		if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", peerIP); res.code != 0 {
			t.Errorf("use %d of the one pool port: single ping failed:\n%s", i+1, res)
		}
	}
	if d := cmp.Diff(pool, r.neutronPorts(t, vm1, ls)); d != "" {
		t.Errorf("runs did not reuse the pool port (-before +after):\n%s", d)
	}
	// And vm2 itself, from a pool port on the VMs' own network, even when
	// vm2 holds a stale neighbour entry for the port's address (an earlier
	// port's MAC): the attach announces the address, since OVN answers ARP
	// requests itself and vm2 would not hear of the new MAC otherwise.
	// The first use only warms the port up: OVN reports a child port up
	// when it claims it, possibly before its flows are in, and an
	// announcement sent then is lost (seen under load).
	vmnet := r.vmNetwork(t, "vm1")
	r.fillPool(t, vm1, vmnet, 1)
	ports := r.neutronPorts(t, vm1, vmnet)
	if len(ports) != 1 {
		t.Fatalf("pool ports on the VMs' network: %v", ports)
	}
	p, err := r.clouds["demo"].GetPort(t.Context(), ports[0])
	if err != nil || len(p.FixedIPs) == 0 {
		t.Fatalf("pool port %s: %v %+v", ports[0], err, p)
	}
	for i := range 3 {
		if i > 0 {
			MustInNetns(t, vm2.Netns, "ip", "neigh", "replace", p.FixedIPs[0].IP.String(), "lladdr", "fa:16:3e:00:00:99", "dev", vm2.Bridge, "nud", "reachable")
		}
		if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--network="+vmnet, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", vm2.IP); res.code != 0 {
			t.Errorf("use %d: pool port on the VMs' network cannot ping vm2 (%s):\n%s", i+1, vm2.IP, res)
		}
	}
}
