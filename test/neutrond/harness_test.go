// Package neutrond holds end-to-end tests of ovn-neutrond: the built
// binary against a private OVN Northbound ovsdb-server, driven by stock
// clients (gophercloud v2 and python-openstackclient), with the resulting
// NB rows checked through ovn-nbctl.
package neutrond

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/ovn-docker/ovn-docker/internal/keystone"
)

// binary is the ovn-neutrond built once for all tests.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(targetEnv) != "" {
		// Against a sandbox's cloud: the tests that start an ovn-neutrond
		// of their own skip (ownOnly), so none is built.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "neutrond-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "ovn-neutrond")
	out, err := exec.Command("go", "build", "-race", "-o", binary, "github.com/ovn-docker/ovn-docker/cmd/ovn-neutrond").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ovn-neutrond: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Users of the generated identity: admin (admin of project "admin"),
// demo and alt (members of their own projects).
const (
	projAdmin = "1d000000000000000000000000000a01"
	projDemo  = "1d000000000000000000000000000d01"
	projAlt   = "1d000000000000000000000000000b01"
	password  = "secret-pass"
)

// cloud is one identity + signing key shared by the servers of a test.
type cloud struct {
	dir      string
	identity string
	key      string
}

func newCloud(t *testing.T) *cloud {
	t.Helper()
	for _, tool := range []string{"ovsdb-server", "ovsdb-tool", "ovn-nbctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install openvswitch-switch ovn-central)", tool)
		}
	}
	dir := t.TempDir()
	hash, err := keystone.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	doc := fmt.Sprintf(`domains:
  - {id: default, name: Default}
projects:
  - {id: %s, name: admin, domain_id: default}
  - {id: %s, name: demo, domain_id: default}
  - {id: %s, name: alt, domain_id: default}
users:
  - {id: u-admin, name: admin, domain_id: default, password_hash: "%s", roles: [{project: admin, role: admin}]}
  - {id: u-demo, name: demo, domain_id: default, password_hash: "%s", roles: [{project: demo, role: member}]}
  - {id: u-alt, name: alt, domain_id: default, password_hash: "%s", roles: [{project: alt, role: member}]}
`, projAdmin, projDemo, projAlt, hash, hash, hash)
	c := &cloud{dir: dir, identity: filepath.Join(dir, "identity.yaml"), key: filepath.Join(dir, "signing.key")}
	if err := os.WriteFile(c.identity, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.key, []byte(strings.Repeat("k3y", 16)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// server is the cloud a test talks to: an ovn-neutrond it started (URL
// serves both Keystone and Neutron; cmd is set), or the cloud of a
// sandbox (cmd is nil), which may be real Keystone + Neutron.
type server struct {
	URL  string
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
	// cloud is set for a sandbox's cloud: its Keystone, users, and whether
	// it is real Neutron.
	cloud *target
	// created are the resources made through call/login clients on a
	// sandbox's cloud, deleted by id when the test ends.
	created *sweeper
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs ovn-neutrond on nb and waits until it answers.
func (c *cloud) start(t *testing.T, nb string, extra ...string) *server {
	t.Helper()
	addr := freePort(t)
	// Replicas run side by side: each gets its own metrics port.
	args := append([]string{"serve", "--nb=" + nb, "--listen=" + addr, "--metrics-listen=127.0.0.1:0", "--identity=" + c.identity, "--signing-key=" + c.key}, extra...)
	s := &server{URL: "http://" + addr, logs: &bytes.Buffer{}, done: make(chan struct{}), cloud: ownTarget("http://"+addr+"/v3", nb)}
	s.cmd = exec.Command(binary, args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop(t)
		if t.Failed() {
			t.Logf("ovn-neutrond %s log:\n%s", addr, tail(s.logs.String(), 4000))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("ovn-neutrond exited at start: %s", s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ovn-neutrond did not answer on %s: %s", addr, s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM (graceful shutdown) and waits.
func (s *server) stop(t *testing.T) {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("ovn-neutrond did not stop on SIGTERM")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// login returns an authenticated gophercloud network client for user.
func login(t *testing.T, s *server, user string) *gophercloud.ServiceClient {
	t.Helper()
	u, ok := s.cloud.users[user]
	if !ok {
		t.Fatalf("cloud has no user %q", user)
	}
	provider, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: s.cloud.authURL,
		Username:         u.Name,
		Password:         u.Password,
		DomainName:       s.cloud.domain,
		TenantName:       u.Project,
	})
	if err != nil {
		t.Fatalf("login %s on %s: %v", user, s.cloud.name(), err)
	}
	if s.created != nil {
		// Resources made through gophercloud are deleted at the end too.
		provider.HTTPClient.Transport = s.created.recorder(http.DefaultTransport)
	}
	nc, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// api is the base URL of the cloud's Neutron (paths start at /v2.0).
func (s *server) api(t *testing.T) string {
	t.Helper()
	if s.cmd != nil {
		return s.URL
	}
	return strings.TrimSuffix(s.cloud.client(t, "admin").Endpoint, "/")
}

// project is the project id of user's project.
func (s *server) project(user string) string { return s.cloud.projectID(user) }

// neutron: the cloud is real Neutron (ML2/OVN), not ovn-neutrond.
func (s *server) neutron() bool { return s.cloud.neutron }

// token returns a token of user as a raw string.
func token(t *testing.T, s *server, user string) string {
	t.Helper()
	return login(t, s, user).TokenID
}

// call makes a raw API request and returns status and decoded body.
func call(t *testing.T, s *server, tok, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.api(t)+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := http.DefaultClient
	if s.created != nil {
		hc = &http.Client{Transport: s.created.recorder(http.DefaultTransport)}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	// Real Neutron answers some errors (401) in plain text.
	if len(data) > 0 && (s.cmd != nil || data[0] == '{') {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, path, data)
		}
	}
	return resp.StatusCode, out
}

// nbctl runs ovn-nbctl against the test's NB.
func nbctl(t *testing.T, nb string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", append([]string{"--db=" + nb}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// nbDump is a snapshot of every row the server writes, to check that a
// refused request changed nothing.
func nbDump(t *testing.T, nb string) string {
	t.Helper()
	var b strings.Builder
	for _, tc := range [][2]string{
		{"Logical_Switch", "_uuid,name,external_ids,ports"},
		{"Logical_Switch_Port", "_uuid,name,external_ids,addresses,port_security,parent_name,tag_request"},
		{"DHCP_Options", "_uuid,cidr,external_ids,options"},
	} {
		b.WriteString(nbctl(t, nb, "--columns="+tc[1], "list", tc[0]))
	}
	return b.String()
}

// revisionNumber matches the revision an LSP or LS row carries in NB.
var revisionNumber = regexp.MustCompile(`"neutron:revision_number"="[0-9]+"`)

// nbState is nbDump plus the whole of extraTables, as a refused request
// must leave it. ovn-neutrond writes NB before it answers, so one
// snapshot is exact. Real Neutron also writes after it answered (a
// router's gateway, a port's status bumping its revision number, its
// periodic maintenance), so there the snapshot is taken once two reads a
// half a second apart agree, with revision numbers left out: they move with any
// status change of a port the test never touched.
func (s *server) nbState(t *testing.T, nb string, extraTables ...string) string {
	t.Helper()
	read := func() string {
		dump := nbDump(t, nb)
		for _, table := range extraTables {
			dump += nbctl(t, nb, "list", table)
		}
		if s.neutron() {
			dump = revisionNumber.ReplaceAllString(dump, `"neutron:revision_number"=*`)
		}
		return dump
	}
	state := read()
	if !s.neutron() {
		return state
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		next := read()
		if next == state {
			break
		}
		state = next
	}
	return state
}

// profileAs is who creates a port with a binding:profile for member's
// project, and the body members that say whose it is: the member itself
// on ovn-neutrond, which lets a port's owner set binding:profile (its
// ownership check on parent_name is what keeps that safe); an admin on
// behalf of the member on real Neutron, whose default policy makes
// binding:profile admin-only.
func (s *server) profileAs(t *testing.T, member string) (tok, owner string) {
	t.Helper()
	if s.neutron() {
		return token(t, s, "admin"), fmt.Sprintf(`, "project_id": %q`, s.project(member))
	}
	return token(t, s, member), ""
}

// lsName is the NB Logical_Switch of a network (both ovn-neutrond and
// ML2/OVN name it neutron-<id>).
func lsName(netID string) string { return "neutron-" + netID }

// subnetDHCPRow is the _uuid of a subnet's DHCP_Options row (ML2/OVN
// keys it subnet_id, ovn-neutrond neutron:subnet_id).
func subnetDHCPRow(t *testing.T, nb, subnetID string) string {
	t.Helper()
	for _, key := range []string{"subnet_id", "neutron\\:subnet_id"} {
		out := nbctl(t, nb, "--bare", "--columns=_uuid,external_ids", "find", "DHCP_Options", "external_ids:"+key+"="+subnetID)
		for _, rec := range strings.Split(out, "\n\n") {
			f := strings.Fields(rec)
			if len(f) > 0 && !strings.Contains(rec, "port_id=") {
				return f[0]
			}
		}
	}
	t.Fatalf("no DHCP_Options row for subnet %s", subnetID)
	return ""
}
