package neutrond

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// osc runs the openstack CLI as user against the cloud and decodes its
// JSON output (when -f json is among args).
// What it creates on a sandbox's cloud is deleted at the test's end.
func osc(t *testing.T, s *server, user string, args ...string) any {
	t.Helper()
	out := s.cloud.osc(t, user, args...)
	if s.created != nil && len(args) > 1 {
		if m, ok := out.(map[string]any); ok && m["id"] != nil {
			if coll := oscCollection(args); coll != "" {
				s.created.add(coll, fmt.Sprint(m["id"]))
			}
		}
	}
	return out
}

// oscCollection is the API collection an `openstack … create` makes.
func oscCollection(args []string) string {
	cmd := strings.Join(args, " ")
	for prefix, coll := range map[string]string{
		"network create": "networks", "subnet create": "subnets", "port create": "ports",
		"network trunk create": "trunks", "router create": "routers", "security group create": "security-groups",
		"security group rule create": "security-group-rules", "floating ip create": "floatingips",
	} {
		if strings.HasPrefix(cmd, prefix+" ") {
			return coll
		}
	}
	return ""
}

func field(v any, k string) string { return fmt.Sprint(v.(map[string]any)[k]) }

func TestOpenstackCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Skip("openstack CLI not installed (apt-get install python3-openstackclient)")
	}
	srv, nb := underTest(t)
	ls1 := "LS1-" + t.Name()

	tok := osc(t, srv, "demo", "token", "issue", "-f", "json")
	if field(tok, "project_id") != srv.project("demo") || field(tok, "id") == "" {
		t.Fatalf("token issue = %v", tok)
	}
	net := osc(t, srv, "demo", "network", "create", ls1, "-f", "json")
	netID := field(net, "id")
	if got := nbctl(t, nb, "get", "Logical_Switch", lsName(netID), "external_ids:neutron\\:network_name"); strings.Trim(got, `"`) != ls1 {
		t.Fatalf("Logical_Switch %s's network_name = %s", lsName(netID), got)
	}
	list := osc(t, srv, "demo", "network", "list", "--name", ls1, "-f", "json").([]any)
	if len(list) != 1 || field(list[0], "ID") != netID {
		t.Fatalf("network list = %v", list)
	}
	osc(t, srv, "demo", "subnet", "create", "--network", netID, "--subnet-range", "10.0.0.0/24", "sub1", "-f", "json")
	vm := osc(t, srv, "demo", "port", "create", "--network", netID, "vm1", "-f", "json")
	vmID := field(vm, "id")
	// binding:profile: set by the owner on ovn-neutrond, by an admin for
	// the project on real Neutron (see profileAs).
	profiler, forProject := "demo", []string{}
	if srv.neutron() {
		profiler, forProject = "admin", []string{"--project", srv.project("demo")}
	}
	c1 := osc(t, srv, profiler, append([]string{"port", "create", "--network", netID,
		"--binding-profile", fmt.Sprintf(`{"parent_name": %q, "tag": 10}`, vmID), "c1", "-f", "json"}, forProject...)...)
	c1ID := field(c1, "id")

	// The LSP carries parent_name, tag, addresses and port_security.
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, "parent_name"); got != `"`+vmID+`"` {
		t.Fatalf("parent_name = %s", got)
	}
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, tagColumn(srv)); got != "10" {
		t.Fatalf("%s = %s", tagColumn(srv), got)
	}
	show := osc(t, srv, profiler, "port", "show", c1ID, "-f", "json").(map[string]any)
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
	// The network's own ports (ML2/OVN's metadata port) aside.
	var names []string
	for _, p := range osc(t, srv, "demo", "port", "list", "--network", netID, "-f", "json").([]any) {
		if n := field(p, "Name"); n != "" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"c1", "vm1"}, names); diff != "" {
		t.Fatalf("port list names (-want +got):\n%s", diff)
	}
	osc(t, srv, "demo", "port", "delete", c1ID)
	osc(t, srv, "demo", "port", "delete", vmID)
	osc(t, srv, "demo", "network", "delete", netID)
	if got := nbDump(t, nb); strings.Contains(got, netID) {
		t.Fatalf("rows left in NB:\n%s", got)
	}
}
