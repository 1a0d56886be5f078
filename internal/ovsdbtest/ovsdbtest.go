// Package ovsdbtest starts private, throw-away ovsdb-server processes for
// tests that need a real OVSDB (OVN Northbound or Open_vSwitch) but not the
// whole sandbox. Each server lives in the test's temp dir and is stopped by
// pid when the test ends.
package ovsdbtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Schemas of the Debian 12 packages the models were generated from.
const (
	NBSchema      = "/usr/share/ovn/ovn-nb.ovsschema"
	VSwitchSchema = "/usr/share/openvswitch/vswitch.ovsschema"
)

// StartNB starts an OVN Northbound ovsdb-server and returns its endpoint
// ("unix:/…/db.sock").
func StartNB(t testing.TB) string { return Start(t, NBSchema) }

// StartVSwitch starts an Open_vSwitch ovsdb-server (no ovs-vswitchd) with
// the root Open_vSwitch row created, and returns its endpoint.
func StartVSwitch(t testing.TB) string {
	endpoint := Start(t, VSwitchSchema)
	out, err := exec.Command("ovs-vsctl", "--db="+endpoint, "--no-wait", "init").CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-vsctl init: %v: %s", err, out)
	}
	return endpoint
}

// Start starts an ovsdb-server for the given schema. The test is skipped
// when ovsdb-server or the schema is not installed.
func Start(t testing.TB, schema string) string {
	t.Helper()
	if _, err := exec.LookPath("ovsdb-server"); err != nil {
		t.Skip("ovsdb-server not installed (apt-get install openvswitch-switch)")
	}
	if _, err := os.Stat(schema); err != nil {
		t.Skipf("schema %s not installed", schema)
	}
	// Unix socket paths are limited to 108 bytes; t.TempDir() can be longer.
	dir, err := os.MkdirTemp("", "ovsdbtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	if out, err := exec.Command("ovsdb-tool", "create", db, schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "db.sock")
	pidfile := filepath.Join(dir, "ovsdb-server.pid")
	cmd := exec.Command("ovsdb-server", db,
		"--remote=punix:"+sock,
		"--pidfile="+pidfile,
		"--unixctl="+filepath.Join(dir, "ovsdb-server.ctl"),
		"--log-file="+filepath.Join(dir, "ovsdb-server.log"),
		"--detach", "--no-chdir")
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+dir, "OVS_DBDIR="+dir, "OVS_LOGDIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-server: %v: %s", err, out)
	}
	t.Cleanup(func() { StopPidfile(pidfile) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovsdb-server socket %s did not appear", sock)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "unix:" + sock
}

// StopPidfile terminates the daemon whose pid is in pidfile (SIGTERM, then
// SIGKILL after 2 s) and waits for it to exit; a zombie counts as gone, since
// this machine's init reaps late.
func StopPidfile(pidfile string) {
	data, err := os.ReadFile(pidfile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if !alive(pid) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state field follows the command name in parentheses; Z is a zombie.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
