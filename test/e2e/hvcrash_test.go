package e2e

// A hypervisor's switch that crashes comes back (the sandbox runs it under
// --monitor, as a packaged deployment's service manager would), and the
// containers it carries keep their network: their ports, VLANs and bindings
// live in the VM's OVS, NB and the hypervisor's OVS database, none of which
// the crash touches. Debian 12's OVS 3.1.0 userspace conntrack has been
// seen to abort this way under stateful ACL traffic.

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// switchPid is the live pid in a hypervisor's ovs-vswitchd pid file, or 0.
func switchPid(hv Hypervisor) int {
	pid, err := readPidFile(hv.Dir + "/ovs-vswitchd.pid")
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

func TestHypervisorSwitchCrashKeepsContainersNetwork(t *testing.T) {
	r := newPluginRig(t)
	vm1, vm2, vm3 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2"), r.s.VM(t, "vm3")
	var hv Hypervisor
	for _, h := range r.s.Hypervisors {
		if h.Name == vm1.Hypervisor {
			hv = h
		}
	}
	ls := r.createNetwork(t, "demo", "hvcrash")
	c1 := r.runContainer(t, vm1, ls, "sleep 3600")
	c2 := r.runContainer(t, vm2, ls, "sleep 3600")
	if err := r.pingFrom(t.Context(), c1, c2.ip); err != nil {
		t.Fatalf("before the crash, %s cannot ping %s: %v", vm1.Name, vm2.Name, err)
	}

	old := switchPid(hv)
	if old == 0 {
		t.Fatalf("no live ovs-vswitchd in %s/ovs-vswitchd.pid", hv.Dir)
	}
	// SIGABRT is what a failed assertion raises.
	if err := syscall.Kill(old, syscall.SIGABRT); err != nil {
		t.Fatalf("abort ovs-vswitchd %d on %s: %v", old, hv.Name, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pid := switchPid(hv); pid != 0 && pid != old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovs-vswitchd on %s did not come back within 30 s of its crash (pid file still %d)", hv.Name, switchPid(hv))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// ovn-controller reinstalls its flows on the new switch on its own
	// schedule; the containers must reach each other again within a bound.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		err := r.pingFrom(ctx, c1, c2.ip)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("60 s after %s's switch came back, the container on %s still cannot ping the one on %s: %v", hv.Name, vm1.Name, vm2.Name, err)
		}
		time.Sleep(time.Second)
	}
	// A container attached after the crash works too, on the same
	// hypervisor and across.
	c3 := r.runContainer(t, vm3, ls, "sleep 3600")
	for _, p := range []struct{ from, to container }{{c3, c1}, {c2, c3}} {
		if err := r.pingFrom(t.Context(), p.from, p.to.ip); err != nil {
			t.Errorf("after the crash, %s cannot ping %s: %v", p.from.vm.Name, p.to.vm.Name, err)
		}
	}
	for _, c := range []container{c1, c2, c3} {
		if row := rowOf(t, r.ps(t, c.vm, "demo"), c.id); row.Status != "ACTIVE" {
			t.Errorf("ps on %s after the crash: %s is %q, want ACTIVE", c.vm.Name, c.id[:12], row.Status)
		}
	}
}
