package neutrond

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// raftNB starts a 3-member clustered OVN_Northbound on loopback ports and
// returns the members.
func raftNB(t *testing.T) []*nbServer {
	t.Helper()
	if _, err := exec.LookPath("ovsdb-server"); err != nil {
		t.Skip("ovsdb-server not installed (apt-get install openvswitch-switch)")
	}
	var members []*nbServer
	var raft []string
	for i := 0; i < 3; i++ {
		dir, err := os.MkdirTemp("", "nbraft-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		members = append(members, &nbServer{dir: dir, sock: filepath.Join(dir, "nb.sock")})
		raft = append(raft, "tcp:"+freePort(t))
	}
	for i, m := range members {
		db := filepath.Join(m.dir, "db")
		var cmd *exec.Cmd
		if i == 0 {
			cmd = exec.Command("ovsdb-tool", "create-cluster", db, ovsdbtest.NBSchema, raft[0])
		} else {
			cmd = exec.Command("ovsdb-tool", "join-cluster", db, "OVN_Northbound", raft[i], raft[0])
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", cmd.Args, err, out)
		}
		m.start(t)
		t.Cleanup(m.stop)
	}
	for _, m := range members {
		if err := waitFor(func() bool {
			out, err := exec.Command("ovs-appctl", "-t", filepath.Join(m.dir, "ctl"), "cluster/status", "OVN_Northbound").CombinedOutput()
			return err == nil && strings.Contains(string(out), "Status: cluster member")
		}); err != nil {
			t.Fatalf("member %s did not join the cluster", m.dir)
		}
	}
	return members
}

func leaderOf(t *testing.T, members []*nbServer) *nbServer {
	t.Helper()
	for _, m := range members {
		out, _ := exec.Command("ovs-appctl", "-t", filepath.Join(m.dir, "ctl"), "cluster/status", "OVN_Northbound").CombinedOutput()
		if strings.Contains(string(out), "Role: leader") {
			return m
		}
	}
	t.Fatal("no leader")
	return nil
}

// Against a 3-member RAFT NB, ovn-neutrond keeps working when the leader
// goes away.
func TestRaftClusterLeaderFailover(t *testing.T) {
	members := raftNB(t)
	var eps []string
	for _, m := range members {
		eps = append(eps, "unix:"+m.sock)
	}
	srv := newCloud(t).start(t, strings.Join(eps, ","))
	tok := token(t, srv, "demo")
	code, body := call(t, srv, tok, "POST", "/v2.0/networks", `{"network": {"name": "ha"}}`)
	if code != 201 {
		t.Fatalf("network: %d %v", code, body)
	}
	netID := body["network"].(map[string]any)["id"].(string)
	call(t, srv, tok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.3.0.0/24"}}`, netID))
	if code, body := call(t, srv, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID)); code != 201 {
		t.Fatalf("port: %d %v", code, body)
	}

	leaderOf(t, members).stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := call(t, srv, tok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID))
		if code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no port created within 30s of losing the leader: %d %v", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, body = call(t, srv, tok, "GET", "/v2.0/ports?network_id="+netID, "")
	if n := len(body["ports"].([]any)); code != 200 || n != 2 {
		t.Fatalf("ports after failover: %d, %d ports (want 2)", code, n)
	}
}
