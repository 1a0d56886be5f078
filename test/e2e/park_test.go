package e2e

// The pool's parked veths: a ready entry's veth exists in the VM, its
// OVS end opened (an ofport), so that taking it makes no veth, waits for
// no OVS and sends no probe.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parkedEntries checks every ready pool entry of network (id) on vm that
// records a parked veth: its parked end is in the VM, up, without IPv4
// address, with IPv6 address generation off, and its OVS end has an
// ofport. It returns how many entries are parked.
func parkedEntries(t *testing.T, vm VM, networkID string) int {
	t.Helper()
	n := 0
	for _, name := range readyEntryNames(t, vm, networkID) {
		peer := strings.Trim(vm.VSCtl(t, "--if-exists", "get", "Port", name, `external_ids:"ovn-docker:parked"`), `"`)
		if peer == "" {
			continue
		}
		n++
		if of, err := strconv.Atoi(vm.VSCtl(t, "get", "Interface", name, "ofport")); err != nil || of <= 0 {
			t.Errorf("ready pool entry %s: ofport %d (%v), want one OVS opened", name, of, err)
		}
		link := mustRun(t, "ip", "netns", "exec", vm.Netns, "ip", "-o", "link", "show", peer)
		if !strings.Contains(link, "@"+name) || !strings.Contains(link, ",UP") {
			t.Errorf("parked end %s of %s: %s", peer, name, link)
		}
		if addrs := mustRun(t, "ip", "netns", "exec", vm.Netns, "ip", "-o", "-4", "addr", "show", "dev", peer); strings.TrimSpace(addrs) != "" {
			t.Errorf("parked end %s has IPv4 addresses: %s", peer, addrs)
		}
		if mode := mustRun(t, "ip", "netns", "exec", vm.Netns, "cat", "/proc/sys/net/ipv6/conf/"+peer+"/addr_gen_mode"); strings.TrimSpace(mode) != "1" {
			t.Errorf("parked end %s: IPv6 addr_gen_mode %q, want 1 (none)", peer, mode)
		}
	}
	return n
}

func readyEntryNames(t *testing.T, vm VM, networkID string) []string {
	t.Helper()
	return strings.Fields(vm.VSCtl(t, "--bare", "--columns=name", "find", "Port",
		`external_ids:"ovn-docker:state"=pool`, `external_ids:"ovn-docker:network"=`+networkID))
}

// parkedLinks: the links of vm's ready pool entries of network (id) that
// record a parked veth: the VM end and the parked end of each.
func parkedLinks(t *testing.T, vm VM, networkID string) []string {
	t.Helper()
	var out []string
	for _, name := range readyEntryNames(t, vm, networkID) {
		if peer := strings.Trim(vm.VSCtl(t, "--if-exists", "get", "Port", name, `external_ids:"ovn-docker:parked"`), `"`); peer != "" {
			out = append(out, name, peer)
		}
	}
	return out
}

// linksBesides is links with those of drop taken out and those of add
// put in, sorted.
func linksBesides(links, drop, add []string) []string {
	var out []string
	for _, l := range links {
		if !slices.Contains(drop, l) {
			out = append(out, l)
		}
	}
	out = append(out, add...)
	slices.Sort(out)
	return out
}

func readyEntries(t *testing.T, vm VM, networkID string) int {
	t.Helper()
	return len(readyEntryNames(t, vm, networkID))
}

// TestPoolEntriesParkProvenVeths: after a fill, each ready entry's veth
// is parked; a CLI run takes one and pings at once, its rm gives it back
// without veth (a namespace attach makes its veth in place, cheaper than
// a move); the daemon's Join of a pool address hands the parked end over
// without making a veth, waiting for OVS or probing, and the address goes
// back parked.
func TestPoolEntriesParkProvenVeths(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	r.sandboxDaemon(t, vm1, "start")
	neutron := r.createNetwork(t, "demo", "park")
	peer := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+neutron, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", peer)
	peerIP := rowOf(t, r.ps(t, vm2, "demo"), peer).ip(t)
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), neutron)
	if err != nil {
		t.Fatal(err)
	}

	r.fillPool(t, vm1, neutron, 2)
	if n, ready := parkedEntries(t, vm1, nw.ID), readyEntries(t, vm1, nw.ID); n != 2 || ready != 2 {
		t.Fatalf("%d parked of %d ready pool entries after fill --size 2, want 2 of 2", n, ready)
	}
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+neutron, "run", "--rm", "busybox:local", "ping", "-c", "1", "-W", "2", peerIP); res.code != 0 {
		t.Errorf("single ping from a parked pool port failed:\n%s", res)
	}
	if n, ready := parkedEntries(t, vm1, nw.ID), readyEntries(t, vm1, nw.ID); n != 1 || ready != 2 {
		t.Errorf("%d parked of %d ready pool entries after run --rm, want 1 of 2", n, ready)
	}

	e := r.startVMEngine(t, vm1)
	dnet := neutron + "-d"
	r.createDockerNetwork(t, e, dnet, neutron, "--subnet", nw.Subnets[0].CIDR.String())
	logPath := filepath.Join(vm1.Dir, "ovn-docker-daemon.log")
	st, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.docker(t.Context(), "run", "--rm", "--network", dnet, daemonImage, "ping", "-c", "1", "-W", "2", peerIP); err != nil {
		t.Errorf("single ping from a Docker container on a parked pool port failed: %v\n%s", err, out)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var plugged []map[string]any
	for _, line := range strings.Split(string(b[st.Size():]), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "plugged" {
			plugged = append(plugged, rec)
		}
	}
	if len(plugged) != 1 {
		t.Fatalf("daemon logged %d plugged lines for one run, want 1: %v", len(plugged), plugged)
	}
	if p := plugged[0]; p["parked"] != true || p["veth_ms"] != nil || p["ovs_up_ms"] != nil || p["probe_ms"] != nil {
		t.Errorf("Join of a pool address made, waited or probed: %v", p)
	}
	// Docker releases the address after the container is gone; the
	// return parks a new veth first.
	for deadline := time.Now().Add(15 * time.Second); readyEntries(t, vm1, nw.ID) != 2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if n, ready := parkedEntries(t, vm1, nw.ID), readyEntries(t, vm1, nw.ID); n != 1 || ready != 2 {
		t.Errorf("%d parked of %d ready pool entries after the Docker run, want the address back, parked: 1 of 2", n, ready)
	}
}
