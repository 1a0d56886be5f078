package neutrond

import (
	"fmt"
	"strings"
	"testing"
)

func TestUpdatesReachNB(t *testing.T) {
	f := setup(t)
	get := func(table, rec, col string) string { return nbctl(t, f.nb, "get", table, rec, col) }

	// Revision 3: created, its subnet created (a subnet revises its
	// network), renamed.
	code, body := call(t, f.srv, f.demo, "PUT", "/v2.0/networks/"+f.net, `{"network": {"name": "renamed", "mtu": 1400}}`)
	if code != 200 || body["network"].(map[string]any)["name"] != "renamed" || body["network"].(map[string]any)["revision_number"] != float64(3) {
		t.Fatalf("update network: %d %v", code, body)
	}
	if got := get("Logical_Switch", "neutron-"+f.net, "external_ids:neutron\\:mtu"); got != `"1400"` {
		t.Fatalf("neutron:mtu = %s", got)
	}

	// DHCP on: the port points at the subnet's DHCP_Options; off: it does not.
	dhcp := subnetDHCPRow(t, f.nb, f.subnet)
	if got := get("Logical_Switch_Port", f.vm, "dhcpv4_options"); got != dhcp {
		t.Fatalf("dhcpv4_options = %s, want %s", got, dhcp)
	}
	if got := get("DHCP_Options", dhcp, "options:mtu"); got != `"1400"` {
		t.Fatalf("DHCP mtu after network MTU change = %s", got)
	}
	if code, body := call(t, f.srv, f.demo, "PUT", "/v2.0/subnets/"+f.subnet, `{"subnet": {"dns_nameservers": ["10.20.0.53"]}}`); code != 200 {
		t.Fatalf("update subnet: %d %v", code, body)
	}
	if got := get("DHCP_Options", dhcp, "options:dns_server"); got != `"{10.20.0.53}"` {
		t.Fatalf("dns_server = %s", got)
	}
	if code, body := call(t, f.srv, f.demo, "PUT", "/v2.0/subnets/"+f.subnet, `{"subnet": {"enable_dhcp": false}}`); code != 200 {
		t.Fatalf("disable DHCP: %d %v", code, body)
	}
	if got := get("Logical_Switch_Port", f.vm, "dhcpv4_options"); got != "[]" {
		t.Fatalf("dhcpv4_options after disabling DHCP = %s", got)
	}
	// ML2/OVN deletes the subnet's DHCP_Options row; ovn-neutrond keeps
	// it, its record of the subnet, which no port points at any more.
	kept := strings.Contains(nbctl(t, f.nb, "--bare", "--columns=_uuid", "list", "DHCP_Options"), dhcp)
	if kept == f.srv.neutron() {
		t.Fatalf("the subnet's DHCP_Options row is kept after disabling DHCP: %v, want %v", kept, !f.srv.neutron())
	}

	// A port: rename, disable, drop port security (with its security
	// groups, as Neutron requires).
	code, body = call(t, f.srv, f.demo, "PUT", "/v2.0/ports/"+f.vm, `{"port": {"name": "vm-renamed", "admin_state_up": false, "port_security_enabled": false, "security_groups": []}}`)
	if code != 200 {
		t.Fatalf("update port: %d %v", code, body)
	}
	if got := get("Logical_Switch_Port", f.vm, "enabled"); got != "false" {
		t.Fatalf("enabled = %s", got)
	}
	if got := get("Logical_Switch_Port", f.vm, "port_security"); got != "[]" {
		t.Fatalf("port_security = %s", got)
	}
	if got := get("Logical_Switch_Port", f.vm, "external_ids:neutron\\:port_name"); strings.Trim(got, `"`) != "vm-renamed" {
		t.Fatalf("port_name = %s", got)
	}

	// Move a container port to another tag; a taken tag is refused; clear it.
	// (binding:profile: by its owner on ovn-neutrond, an admin on real
	// Neutron; see profileAs.)
	ptok, owner := f.srv.profileAs(t, "demo")
	_, body = call(t, f.srv, ptok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "binding:profile": {"parent_name": %q, "tag": 6}%s}}`, f.net, f.vm, owner))
	c := body["port"].(map[string]any)["id"].(string)
	// A taken tag: ovn-neutrond refuses it (409 VlanTagInUse); real
	// Neutron does not check, deliberately not copied (two containers on
	// one VLAN of a VM would share its traffic).
	if code, body := call(t, f.srv, ptok, "PUT", "/v2.0/ports/"+c, fmt.Sprintf(`{"port": {"binding:profile": {"parent_name": %q, "tag": 5}}}`, f.vm)); !f.srv.neutron() && code != 409 {
		t.Fatalf("move to a taken tag: %d %v", code, body)
	}
	if code, body := call(t, f.srv, ptok, "PUT", "/v2.0/ports/"+c, fmt.Sprintf(`{"port": {"binding:profile": {"parent_name": %q, "tag": 7}}}`, f.vm)); code != 200 {
		t.Fatalf("move to tag 7: %d %v", code, body)
	}
	if got := get("Logical_Switch_Port", c, tagColumn(f.srv)); got != "7" {
		t.Fatalf("%s = %s", tagColumn(f.srv), got)
	}
	if code, body := call(t, f.srv, ptok, "PUT", "/v2.0/ports/"+c, `{"port": {"binding:profile": {}}}`); code != 200 {
		t.Fatalf("clear profile: %d %v", code, body)
	}
	if got := get("Logical_Switch_Port", c, "parent_name"); got != "[]" {
		t.Fatalf("parent_name after clearing = %s", got)
	}
	// A new address (TestFidelity/FixedIPsUpdate has the details).
	if code, body := call(t, f.srv, f.demo, "PUT", "/v2.0/ports/"+c, `{"port": {"fixed_ips": [{"ip_address": "10.20.0.99"}]}}`); code != 200 {
		t.Fatalf("changing fixed_ips: %d %v", code, body)
	}
	if got := get("Logical_Switch_Port", c, "addresses"); !strings.Contains(got, " 10.20.0.99\"") {
		t.Fatalf("addresses after changing fixed_ips = %s", got)
	}
}

func TestSharedNetworksAndListScoping(t *testing.T) {
	srv, _ := underTest(t)
	admin, demo, alt := token(t, srv, "admin"), token(t, srv, "demo"), token(t, srv, "alt")
	_, body := call(t, srv, admin, "POST", "/v2.0/networks", `{"network": {"name": "public", "shared": true}}`)
	pub := body["network"].(map[string]any)["id"].(string)
	if code, body := call(t, srv, admin, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "172.16.0.0/24"}}`, pub)); code != 201 {
		t.Fatalf("subnet: %d %v", code, body)
	}
	_, body = call(t, srv, demo, "POST", "/v2.0/networks", `{"network": {"name": "private"}}`)
	priv := body["network"].(map[string]any)["id"].(string)
	code, body := call(t, srv, demo, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, pub))
	if code != 201 {
		t.Fatalf("member port on shared network: %d %v", code, body)
	}
	demoPort := body["port"].(map[string]any)["id"].(string)

	// What each one sees of what this test made (a sandbox's cloud has
	// networks and ports of its own).
	names := func(tok, path, key string) []string {
		_, body := call(t, srv, tok, "GET", path, "")
		var out []string
		for _, o := range body[key].([]any) {
			m := o.(map[string]any)
			id, _ := m["id"].(string)
			netID, _ := m["network_id"].(string)
			if key == "networks" && id != pub && id != priv || key != "networks" && netID != pub && netID != priv && !strings.Contains(path, "fields") {
				continue
			}
			out = append(out, fmt.Sprint(m["name"], m["id"]))
		}
		return out
	}
	if got := names(alt, "/v2.0/networks?fields=name&fields=id", "networks"); len(got) != 1 || got[0] != "public"+pub {
		t.Fatalf("alt sees networks %v, want only the shared one", got)
	}
	if got := names(demo, "/v2.0/networks", "networks"); len(got) != 2 {
		t.Fatalf("demo sees networks %v, want its own and the shared one", got)
	}
	if got := names(admin, "/v2.0/networks", "networks"); len(got) != 2 {
		t.Fatalf("admin sees networks %v", got)
	}
	if got := names(alt, "/v2.0/ports", "ports"); len(got) != 0 {
		t.Fatalf("alt sees ports %v of other projects", got)
	}
	if got := names(admin, "/v2.0/ports?project_id="+srv.project("demo"), "ports"); len(got) != 1 || got[0] != demoPort {
		t.Fatalf("admin's project_id filter = %v", got)
	}
	if got := names(alt, "/v2.0/subnets", "subnets"); len(got) != 1 {
		t.Fatalf("alt sees subnets %v, want the shared network's", got)
	}
	// A member cannot change the shared network it does not own: it sees
	// it, so Neutron's policy refuses (403); another project's network it
	// cannot see is missing (404), for a subnet on it too.
	for _, tt := range []struct {
		name, method, path, body string
		code                     int
		typ, msg                 string
	}{
		{"rename the shared network", "PUT", "/v2.0/networks/" + pub, `{"network": {"name": "mine"}}`, 403, "PolicyNotAuthorized", "rule:update_network is disallowed by policy"},
		{"delete the shared network", "DELETE", "/v2.0/networks/" + pub, "", 403, "PolicyNotAuthorized", "rule:delete_network is disallowed by policy"},
		{"rename another project's network", "PUT", "/v2.0/networks/" + priv, `{"network": {"name": "mine"}}`, 404, "NetworkNotFound", priv},
		{"delete another project's network", "DELETE", "/v2.0/networks/" + priv, "", 404, "NetworkNotFound", priv},
		{"subnet on another project's network", "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "172.16.9.0/24"}}`, priv), 404, "NetworkNotFound", priv},
	} {
		code, body := call(t, srv, alt, tt.method, tt.path, tt.body)
		ne, _ := body["NeutronError"].(map[string]any)
		if code != tt.code || errType(body) != tt.typ || !strings.Contains(fmt.Sprint(ne["message"]), tt.msg) {
			t.Errorf("member: %s: %d %v, want %d %s %q", tt.name, code, body, tt.code, tt.typ, tt.msg)
		}
	}
	// Neutron's policy lets a member add a subnet of its own to a shared
	// network (and remove it again).
	code, body = call(t, srv, alt, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "172.16.9.0/24"}}`, pub))
	if code != 201 || body["subnet"].(map[string]any)["project_id"] != srv.project("alt") {
		t.Fatalf("member's subnet on the shared network: %d %v", code, body)
	}
	if code, body := call(t, srv, alt, "DELETE", "/v2.0/subnets/"+body["subnet"].(map[string]any)["id"].(string), ""); code != 204 {
		t.Fatalf("member deletes its subnet on the shared network: %d %v", code, body)
	}
	_, body = call(t, srv, demo, "GET", "/v2.0/networks/"+pub, "")
	if got := body["network"].(map[string]any)["name"]; got != "public" {
		t.Fatalf("shared network after refused changes is named %v", got)
	}
}
