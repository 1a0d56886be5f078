package ovsdbtest

import (
	"os/exec"
	"strings"
	"testing"
)

func TestStartNBServesTheSchema(t *testing.T) {
	endpoint := StartNB(t)
	out, err := exec.Command("ovsdb-client", "list-dbs", endpoint).CombinedOutput()
	if err != nil {
		t.Fatalf("ovsdb-client list-dbs: %v: %s", err, out)
	}
	if !strings.Contains(string(out), "OVN_Northbound") {
		t.Fatalf("list-dbs = %q, want OVN_Northbound", out)
	}
}

func TestStartVSwitchHasRootRow(t *testing.T) {
	endpoint := StartVSwitch(t)
	out, err := exec.Command("ovs-vsctl", "--db="+endpoint, "--no-wait", "get", "Open_vSwitch", ".", "_uuid").CombinedOutput()
	if err != nil {
		t.Fatalf("ovs-vsctl get: %v: %s", err, out)
	}
	if len(strings.TrimSpace(string(out))) != 36 {
		t.Fatalf("root row uuid = %q", out)
	}
}
