package neutrond

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// The scenarios of the fidelity tests run against a target cloud: by
// default a private ovn-neutrond on a private NB; with
// NEUTROND_TEST_TARGET=<sandbox.json> against that sandbox's cloud, which
// may be real Keystone + Neutron (ML2/OVN): sandbox.json's "cloud" is
// "openstack" there (or set NEUTROND_TEST_CLOUD=openstack). NB rows are
// checked on both, since ML2/OVN writes the same NB shapes.
const (
	targetEnv = "NEUTROND_TEST_TARGET"
	cloudEnv  = "NEUTROND_TEST_CLOUD"
)

// target is a cloud under test.
type target struct {
	// neutron: real Neutron rather than ovn-neutrond.
	neutron bool
	authURL string
	nb      string
	domain  string
	users   map[string]targetUser // admin, demo, alt
	clients map[string]*gophercloud.ServiceClient
}

type targetUser struct {
	Name      string `json:"name"`
	Project   string `json:"project"`
	ProjectID string `json:"project_id"`
	Password  string `json:"password"`
}

// newTarget returns the cloud the scenarios run against.
func newTarget(t *testing.T) *target {
	t.Helper()
	if tg := sandboxTarget(t); tg != nil {
		return tg
	}
	nb := ovsdbtest.StartNB(t)
	return newCloud(t).start(t, nb).cloud
}

// sandboxTarget is the cloud of the sandbox NEUTROND_TEST_TARGET names,
// or nil when it is unset.
func sandboxTarget(t *testing.T) *target {
	t.Helper()
	tg := &target{users: map[string]targetUser{}, clients: map[string]*gophercloud.ServiceClient{}, domain: "Default"}
	if path := os.Getenv(targetEnv); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", targetEnv, err)
		}
		var sb struct {
			AuthURL string       `json:"auth_url"`
			NBDB    string       `json:"nb_db"`
			Domain  string       `json:"domain"`
			Cloud   string       `json:"cloud"`
			Users   []targetUser `json:"users"`
		}
		if err := json.Unmarshal(data, &sb); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tg.authURL, tg.nb = sb.AuthURL, sb.NBDB
		if sb.Domain != "" {
			tg.domain = sb.Domain
		}
		for _, u := range sb.Users {
			tg.users[u.Name] = u
		}
		cloud := sb.Cloud
		if c := os.Getenv(cloudEnv); c != "" {
			cloud = c
		}
		tg.neutron = cloud == "openstack" || cloud == "neutron"
		return tg
	}
	return nil
}

// underTest is the cloud a scenario runs against and its NB: the
// sandbox's when NEUTROND_TEST_TARGET is set (what the scenario creates
// there is deleted, by id, when it ends), else a private ovn-neutrond on
// a private NB.
// extra are ovn-neutrond's flags for a private one (a sandbox's has its
// own configuration).
func underTest(t *testing.T, extra ...string) (*server, string) {
	t.Helper()
	if tg := sandboxTarget(t); tg != nil {
		s := &server{cloud: tg, created: &sweeper{}}
		t.Cleanup(func() { s.created.sweep(t, s) })
		return s, tg.nb
	}
	nb := ovsdbtest.StartNB(t)
	return newCloud(t).start(t, nb, extra...), nb
}

// ownOnly skips a test about ovn-neutrond itself (its processes, its
// private NB, its internals) when the suite runs against a sandbox's
// cloud; why says what it is about. Such tests run in `make unit`.
func ownOnly(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(targetEnv) != "" {
		t.Skipf("about ovn-neutrond's own %s: runs against a private ovn-neutrond only", why)
	}
}

// ownTarget is the target of an ovn-neutrond a test started on nb, with
// the generated identity's users.
func ownTarget(authURL, nb string) *target {
	tg := &target{users: map[string]targetUser{}, clients: map[string]*gophercloud.ServiceClient{}, domain: "Default", authURL: authURL, nb: nb}
	for name, id := range map[string]string{"admin": projAdmin, "demo": projDemo, "alt": projAlt} {
		tg.users[name] = targetUser{Name: name, Project: name, ProjectID: id, Password: password}
	}
	return tg
}

// name says which cloud a failure happened on.
func (tg *target) name() string {
	if tg.neutron {
		return "Neutron"
	}
	return "ovn-neutrond"
}

// client is user's gophercloud network client (logged in once).
func (tg *target) client(t *testing.T, user string) *gophercloud.ServiceClient {
	t.Helper()
	if c := tg.clients[user]; c != nil {
		return c
	}
	u, ok := tg.users[user]
	if !ok {
		t.Fatalf("target has no user %q", user)
	}
	provider, err := openstack.AuthenticatedClient(context.Background(), gophercloud.AuthOptions{
		IdentityEndpoint: tg.authURL, Username: u.Name, Password: u.Password,
		DomainName: tg.domain, TenantName: u.Project,
	})
	if err != nil {
		t.Fatalf("login %s at %s: %v", user, tg.authURL, err)
	}
	nc, err := openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	tg.clients[user] = nc
	return nc
}

func (tg *target) projectID(user string) string { return tg.users[user].ProjectID }

// call makes a raw API request as user (path from "/v2.0/…"); headers
// are "Name: value" strings.
func (tg *target) call(t *testing.T, user, method, path, body string, headers ...string) (int, map[string]any) {
	t.Helper()
	nc := tg.client(t, user)
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(nc.Endpoint, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", nc.TokenID)
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s on %s: body %q is not JSON", method, path, tg.name(), data)
		}
	}
	return resp.StatusCode, out
}

// mustCall is call that fails the test unless the status is want; it
// returns the body's resource object (or the whole body when resource
// is "").
func (tg *target) mustCall(t *testing.T, want int, user, method, path, body, resource string, headers ...string) map[string]any {
	t.Helper()
	code, out := tg.call(t, user, method, path, body, headers...)
	if code != want {
		t.Fatalf("%s %s %s on %s: %d %v, want %d", method, path, body, tg.name(), code, out, want)
	}
	if resource == "" {
		return out
	}
	o, _ := out[resource].(map[string]any)
	return o
}

// errType is the NeutronError type of an error body.
func errType(body map[string]any) string {
	e, _ := body["NeutronError"].(map[string]any)
	s, _ := e["type"].(string)
	return s
}

// osc runs the openstack CLI as user against the target.
func (tg *target) osc(t *testing.T, user string, args ...string) any {
	t.Helper()
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Skip("openstack CLI not installed (apt-get install python3-openstackclient)")
	}
	u := tg.users[user]
	cmd := exec.Command("openstack", args...)
	cmd.Env = append(os.Environ(),
		"OS_AUTH_URL="+tg.authURL, "OS_USERNAME="+u.Name, "OS_PASSWORD="+u.Password,
		"OS_PROJECT_NAME="+u.Project, "OS_USER_DOMAIN_NAME="+tg.domain, "OS_PROJECT_DOMAIN_NAME="+tg.domain,
		"OS_IDENTITY_API_VERSION=3", "OS_INTERFACE=public")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("openstack %s on %s: %v\n%s%s", strings.Join(args, " "), tg.name(), err, out, stderr)
	}
	var v any
	if len(out) > 0 && (out[0] == '{' || out[0] == '[') {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("openstack %s: output not JSON: %s", strings.Join(args, " "), out)
		}
	}
	return v
}

// nbGet reads one column (or key) of an NB row.
func (tg *target) nbGet(t *testing.T, table, record, column string) string {
	t.Helper()
	return nbctl(t, tg.nb, "get", table, record, column)
}
