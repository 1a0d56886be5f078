package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NBMember is one NB ovsdb-server of the sandbox.
type NBMember struct {
	DB      string `json:"db"`
	PIDFile string `json:"pidfile"`
	Ctl     string `json:"ctl"`
}

// nbClusterEnv, when "1", makes a sandbox whose NB is not a cluster a
// failure of the cluster tests instead of a skip (make test's cluster
// stage sets it).
const nbClusterEnv = "OVN_DOCKER_E2E_NB_CLUSTER"

// nbLeader is the member that says it leads the cluster.
func nbLeader(t *testing.T, s *Sandbox) NBMember {
	t.Helper()
	for _, m := range s.NBMembers {
		out, err := exec.Command("ovs-appctl", "-t", m.Ctl, "cluster/status", "OVN_Northbound").CombinedOutput()
		if err == nil && strings.Contains(string(out), "Role: leader") {
			return m
		}
	}
	t.Fatal("no NB member says it is the leader")
	return NBMember{}
}

// With NB a RAFT cluster (sandbox/sandbox up --nb-cluster 3) the whole
// system goes on when the NB leader dies: the cloud API creates ports
// through the new leader, ovn-northd follows it, and a container attached
// after the kill reaches one attached before it.
func TestNBClusterLeaderKill(t *testing.T) {
	r := newPluginRig(t)
	if len(r.s.NBMembers) < 3 {
		if os.Getenv(nbClusterEnv) == "1" {
			t.Fatalf("NB has %d member(s); this test needs a cluster (sandbox/sandbox up --nb-cluster 3)", len(r.s.NBMembers))
		}
		t.Skip("NB is not a RAFT cluster here (sandbox/sandbox up --nb-cluster 3)")
	}
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "HA")
	c1 := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c1)

	leader := nbLeader(t, r.s)
	data, err := os.ReadFile(leader.PIDFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file %s: %q", leader.PIDFile, data)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()

	c2 := strings.TrimSpace(r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm2, "demo", c2)
	t.Logf("container attached %v after the NB leader (%s) was killed", time.Since(killed).Round(time.Millisecond), leader.DB)
	ip1 := rowOf(t, r.ps(t, vm1, "demo"), c1).ip(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := r.docker(t.Context(), vm2, "exec", c2, "ping", "-c", "1", "-W", "1", ip1)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container attached after the kill cannot reach the one attached before it: %v\n%s", err, out)
		}
	}
	if other := nbLeader(t, r.s); other.DB == leader.DB {
		t.Errorf("the killed member %s still says it leads", leader.DB)
	}
}
