package vswitch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// startVSwitchd runs ovs-vswitchd for the database at endpoint inside a
// fresh network namespace (so the devices it opens cannot clash with other
// tests'), with a private rundir, and stops it by pid at test end.
func startVSwitchd(t *testing.T, endpoint, netns string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespace, ovs-vswitchd)")
	}
	if _, err := exec.LookPath("ovs-vswitchd"); err != nil {
		t.Skip("ovs-vswitchd not installed (apt-get install openvswitch-switch)")
	}
	run(t, "ip", "netns", "add", netns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", netns).Run() })
	dir, err := os.MkdirTemp("", "vst-vswitchd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pidfile := filepath.Join(dir, "ovs-vswitchd.pid")
	cmd := exec.Command("ip", "netns", "exec", netns, "ovs-vswitchd", endpoint,
		"--disable-system", // no kernel module here: do not probe the system datapath
		"--pidfile="+pidfile,
		"--unixctl="+filepath.Join(dir, "ovs-vswitchd.ctl"),
		"--log-file="+filepath.Join(dir, "ovs-vswitchd.log"),
		"--detach", "--no-chdir")
	// ovs-vswitchd creates <bridge>.mgmt sockets in OVS_RUNDIR: keep them private.
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir, "OVS_SYSCONFDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ovs-vswitchd: %v: %s", err, out)
	}
	t.Cleanup(func() { ovsdbtest.StopPidfile(pidfile) })
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

// The veth appears after the claim (as in an attach): ovs-vswitchd first
// records the error, then opens the device once it exists.
func TestWaitInterfaceUpWithVSwitchd(t *testing.T) {
	ep := testDB(t)
	addBridge(t, ep, "br-vm")
	const netns = "vst-vsd"
	startVSwitchd(t, ep, netns)
	c := dial(t, ep)
	ctx := testCtx(t)
	a, err := c.ClaimVLAN(ctx, "br-vm", nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	err = c.WaitInterfaceUp(short, a.Name)
	if err == nil {
		t.Fatal("interface came up before its device existed")
	}
	if !strings.Contains(err.Error(), "No such device") {
		t.Errorf("error %q does not carry ovs-vswitchd's reason", err)
	}

	run(t, "ip", "-n", netns, "link", "add", a.Name, "type", "veth", "peer", "name", "vsta1")
	run(t, "ip", "-n", netns, "link", "set", a.Name, "up")
	start := time.Now()
	if err := c.WaitInterfaceUp(ctx, a.Name); err != nil {
		t.Fatal(err)
	}
	t.Logf("interface up %v after the veth appeared", time.Since(start))
	aps, err := c.AccessPorts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(aps) != 1 || aps[0].OFPort <= 0 || aps[0].Error != "" {
		t.Errorf("AccessPorts = %+v, want one port with an ofport and no error", aps)
	}
}
