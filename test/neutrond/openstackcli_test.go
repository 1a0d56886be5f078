package neutrond

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// osc runs the openstack CLI as user and decodes its JSON output (when
// -f json is among args).
func osc(t *testing.T, s *server, user string, args ...string) any {
	t.Helper()
	cmd := exec.Command("openstack", args...)
	cmd.Env = append(os.Environ(),
		"OS_AUTH_URL="+s.URL+"/v3", "OS_USERNAME="+user, "OS_PASSWORD="+password,
		"OS_PROJECT_NAME="+user, "OS_USER_DOMAIN_NAME=Default", "OS_PROJECT_DOMAIN_NAME=Default",
		"OS_IDENTITY_API_VERSION=3", "OS_INTERFACE=public")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	var v any
	if len(out) > 0 && (out[0] == '{' || out[0] == '[') {
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("openstack %s: output not JSON: %s", strings.Join(args, " "), out)
		}
	}
	return v
}

func field(v any, k string) string { return fmt.Sprint(v.(map[string]any)[k]) }

func TestOpenstackCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Skip("openstack CLI not installed (apt-get install python3-openstackclient)")
	}
	nb := ovsdbtest.StartNB(t)
	srv := newCloud(t).start(t, nb)

	tok := osc(t, srv, "demo", "token", "issue", "-f", "json")
	if field(tok, "project_id") != projDemo || field(tok, "id") == "" {
		t.Fatalf("token issue = %v", tok)
	}
	net := osc(t, srv, "demo", "network", "create", "LS1", "-f", "json")
	netID := field(net, "id")
	if got := nbctl(t, nb, "--bare", "--columns=name", "find", "Logical_Switch", "external_ids:neutron\\:network_name=LS1"); got != "neutron-"+netID {
		t.Fatalf("Logical_Switch for LS1 = %q", got)
	}
	list := osc(t, srv, "demo", "network", "list", "-f", "json").([]any)
	if len(list) != 1 || field(list[0], "ID") != netID {
		t.Fatalf("network list = %v", list)
	}
	osc(t, srv, "demo", "subnet", "create", "--network", "LS1", "--subnet-range", "10.0.0.0/24", "sub1", "-f", "json")
	vm := osc(t, srv, "demo", "port", "create", "--network", "LS1", "vm1", "-f", "json")
	vmID := field(vm, "id")
	c1 := osc(t, srv, "demo", "port", "create", "--network", "LS1",
		"--binding-profile", fmt.Sprintf(`{"parent_name": %q, "tag": 10}`, vmID), "c1", "-f", "json")
	c1ID := field(c1, "id")

	// The LSP carries parent_name, tag, addresses and port_security.
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, "parent_name"); got != `"`+vmID+`"` {
		t.Fatalf("parent_name = %s", got)
	}
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, "tag_request"); got != "10" {
		t.Fatalf("tag_request = %s", got)
	}
	show := osc(t, srv, "demo", "port", "show", "c1", "-f", "json").(map[string]any)
	mac := show["mac_address"].(string)
	ip := show["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	want := fmt.Sprintf(`["%s %s"]`, mac, ip)
	for _, col := range []string{"addresses", "port_security"} {
		if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, col); got != want {
			t.Fatalf("%s = %s, want %s", col, got, want)
		}
	}
	if prof := show["binding_profile"].(map[string]any); prof["parent_name"] != vmID || prof["tag"] != float64(10) {
		t.Fatalf("port show binding_profile = %v", prof)
	}
	if ports := osc(t, srv, "demo", "port", "list", "-f", "json").([]any); len(ports) != 2 {
		t.Fatalf("port list = %v", ports)
	}
	osc(t, srv, "demo", "port", "delete", c1ID)
	osc(t, srv, "demo", "port", "delete", vmID)
	osc(t, srv, "demo", "network", "delete", "LS1")
	if got := nbDump(t, nb); strings.Contains(got, "neutron") {
		t.Fatalf("rows left in NB:\n%s", got)
	}
}
