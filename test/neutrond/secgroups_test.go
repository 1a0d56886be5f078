package neutrond

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/rules"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

func pgOf(id string) string { return "pg_" + strings.ReplaceAll(id, "-", "_") }

// pgMembers returns the names of the ports of a Port_Group.
func pgMembers(t *testing.T, nb, pg string) []string {
	t.Helper()
	var out []string
	for _, u := range strings.Fields(nbctl(t, nb, "--bare", "--columns=ports", "list", "Port_Group", pg)) {
		out = append(out, nbctl(t, nb, "--bare", "--columns=name", "list", "Logical_Switch_Port", u))
	}
	slices.Sort(out)
	return out
}

// pgMatches returns the ACL matches of a Port_Group, sorted.
func pgMatches(t *testing.T, nb, pg string) []string {
	t.Helper()
	var out []string
	for _, u := range strings.Fields(nbctl(t, nb, "--bare", "--columns=acls", "list", "Port_Group", pg)) {
		row := nbctl(t, nb, "--bare", "--columns=direction,priority,action,match", "list", "ACL", u)
		out = append(out, strings.Join(strings.Fields(row), " "))
	}
	slices.Sort(out)
	return out
}

func TestSecurityGroups(t *testing.T) {
	srv, nb := underTest(t)
	ctx := context.Background()
	demo := login(t, srv, "demo")
	demoTok, altTok := token(t, srv, "demo"), token(t, srv, "alt")

	// neutron_pg_drop exists with ML2/OVN's two drop ACLs.
	if got, want := pgMatches(t, nb, "neutron_pg_drop"), []string{
		"from-lport 1001 drop inport == @neutron_pg_drop && ip",
		"to-lport 1001 drop outport == @neutron_pg_drop && ip",
	}; !slices.Equal(got, want) {
		t.Fatalf("neutron_pg_drop ACLs = %q, want %q", got, want)
	}

	// The default group appears on first use, with Neutron's rules.
	all, err := groups.List(demo, groups.ListOpts{}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := groups.ExtractGroups(all)
	if err != nil {
		t.Fatal(err)
	}
	// (A sandbox's cloud has used it already, and let its physical
	// host in: a rule more there.)
	if gs = slices.DeleteFunc(gs, func(g groups.SecGroup) bool { return g.Name != "default" }); len(gs) != 1 || srv.cmd != nil && len(gs[0].Rules) != 4 {
		t.Fatalf("demo's groups on first use = %+v", gs)
	}
	def := gs[0].ID
	if got, want := pgMatches(t, nb, pgOf(def)), []string{
		"from-lport 1002 allow-related inport == @" + pgOf(def) + " && ip4",
		"from-lport 1002 allow-related inport == @" + pgOf(def) + " && ip6",
		"to-lport 1002 allow-related outport == @" + pgOf(def) + " && ip4 && ip4.src == $" + pgOf(def) + "_ip4",
		"to-lport 1002 allow-related outport == @" + pgOf(def) + " && ip6 && ip6.src == $" + pgOf(def) + "_ip6",
	}; !slices.Equal(got, want) && (srv.cmd != nil || !subset(want, got)) {
		t.Fatalf("default group ACLs:\n got %q\nwant %q", got, want)
	}

	// A port gets the default group and joins its Port_Group and
	// neutron_pg_drop; a port without port security joins neither.
	netID := createNet(t, srv, demoTok, `{"network": {"name": "n"}}`)
	if code, body := call(t, srv, demoTok, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.9.0.0/24"}}`, netID)); code != 201 {
		t.Fatalf("subnet: %d %v", code, body)
	}
	// Members among this test's ports (a sandbox's cloud has its own).
	adminTok := token(t, srv, "admin")
	membersOf := func(pg string) []string {
		_, body := call(t, srv, adminTok, "GET", "/v2.0/ports?network_id="+netID, "")
		var out []string
		for _, m := range pgMembers(t, nb, pg) {
			for _, o := range body["ports"].([]any) {
				if o.(map[string]any)["id"] == m {
					out = append(out, m)
				}
			}
		}
		return out
	}
	p, err := ports.Create(ctx, demo, ports.CreateOpts{NetworkID: netID, Name: "vm"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.SecurityGroups, []string{def}) {
		t.Fatalf("port security_groups = %v, want [%s]", p.SecurityGroups, def)
	}
	open, err := ports.Create(ctx, demo, ports.CreateOpts{NetworkID: netID, Name: "open"}).Extract()
	_ = open
	if err != nil {
		t.Fatal(err)
	}
	code, body := call(t, srv, demoTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "port_security_enabled": false}}`, netID))
	if code != 201 || len(body["port"].(map[string]any)["security_groups"].([]any)) != 0 {
		t.Fatalf("port without port security: %d %v", code, body)
	}
	insecure := body["port"].(map[string]any)["id"].(string)
	members := []string{open.ID, p.ID}
	slices.Sort(members)
	if got := membersOf(pgOf(def)); !slices.Equal(got, members) {
		t.Fatalf("default Port_Group members = %v, want %v", got, members)
	}
	if got := membersOf("neutron_pg_drop"); !slices.Equal(got, members) {
		t.Fatalf("neutron_pg_drop members = %v, want %v", got, members)
	}

	// A group of its own with a TCP rule; the port moves to it.
	web, err := groups.Create(ctx, demo, groups.CreateOpts{Name: "web"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(web.Rules) != 2 {
		t.Fatalf("new group rules = %+v, want the two egress rules", web.Rules)
	}
	rule, err := rules.Create(ctx, demo, rules.CreateOpts{SecGroupID: web.ID, Direction: rules.DirIngress, EtherType: rules.EtherType4,
		Protocol: rules.ProtocolTCP, PortRangeMin: 80, PortRangeMax: 80, RemoteIPPrefix: "192.0.2.7/24"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	// Neutron keeps the prefix as given and matches its network
	// (normalized_cidr).
	code, body = call(t, srv, demoTok, "GET", "/v2.0/security-group-rules/"+rule.ID+"?fields=remote_ip_prefix&fields=normalized_cidr", "")
	if diff := cmp.Diff(map[string]any{"remote_ip_prefix": "192.0.2.7/24", "normalized_cidr": "192.0.2.0/24"}, body["security_group_rule"]); code != 200 || diff != "" {
		t.Errorf("rule's prefixes: %d (-want +got):\n%s", code, diff)
	}
	if got := pgMatches(t, nb, pgOf(web.ID)); !slices.Contains(got, "to-lport 1002 allow-related outport == @"+pgOf(web.ID)+" && ip4 && ip4.src == 192.0.2.0/24 && tcp && tcp.dst == 80") {
		t.Fatalf("web ACLs = %q", got)
	}
	groupsOf := []string{web.ID}
	if _, err := ports.Update(ctx, demo, p.ID, ports.UpdateOpts{SecurityGroups: &groupsOf}).Extract(); err != nil {
		t.Fatal(err)
	}
	if got := membersOf(pgOf(web.ID)); !slices.Equal(got, []string{p.ID}) {
		t.Fatalf("web members = %v", got)
	}
	if got := membersOf(pgOf(def)); !slices.Equal(got, []string{open.ID}) {
		t.Fatalf("default members after the move = %v", got)
	}

	// alt's default group, which no port uses.
	var altDef string
	_, body = call(t, srv, altTok, "GET", "/v2.0/security-groups?name=default", "")
	if l, _ := body["security_groups"].([]any); len(l) == 1 {
		altDef, _ = l[0].(map[string]any)["id"].(string)
	}
	if altDef == "" {
		t.Fatalf("alt's default group: %v", body)
	}

	// Refusals, each leaving NB as it was.
	before := nbctl(t, nb, "--columns=_uuid,name,acls,ports,external_ids", "list", "Port_Group") + nbctl(t, nb, "list", "ACL")
	rulePost := func(extra string) string {
		return fmt.Sprintf(`{"security_group_rule": {"security_group_id": %q, "direction": "ingress"%s}}`, web.ID, extra)
	}
	for _, tt := range []struct {
		name, tok, method, path, body string
		status                        int
		typ, msg                      string
	}{
		{"port range min above max", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "tcp", "port_range_min": 90, "port_range_max": 80`), 400, "SecurityGroupInvalidPortRange", "port_range_min must be <= port_range_max"},
		{"port 0", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "udp", "port_range_min": 0, "port_range_max": 10`), 400, "SecurityGroupInvalidPortValue", "Invalid value for port 0"},
		{"port above 65535", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "tcp", "port_range_min": 1, "port_range_max": 70000`), 400, "SecurityGroupInvalidPortValue", "70000"},
		{"ports without protocol", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "port_range_min": 22, "port_range_max": 22`), 400, "SecurityGroupProtocolRequiredWithPorts", "Must also specify protocol"},
		{"ICMP type out of range", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "icmp", "port_range_min": 300`), 400, "SecurityGroupInvalidIcmpValue", "It must be 0 to 255"},
		{"ICMP code without type", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "icmp", "port_range_max": 3`), 400, "SecurityGroupMissingIcmpType", "ICMP type (port-range-min) is missing"},
		{"unknown protocol", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "smtp"`), 400, "SecurityGroupRuleInvalidProtocol", "protocol smtp not supported"},
		{"bad direction", demoTok, "POST", "/v2.0/security-group-rules", fmt.Sprintf(`{"security_group_rule": {"security_group_id": %q, "direction": "inward"}}`, web.ID), 400, "HTTPBadRequest", "Invalid input for direction. Reason: inward is not in valid_values."},
		{"bad ethertype", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "ethertype": "IPv5"`), 400, "SecurityGroupRuleInvalidEtherType", "IPv5"},
		{"prefix of the other IP version", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "remote_ip_prefix": "fd00::/64"`), 400, "SecurityGroupRuleParameterConflict", "Conflicting value ethertype IPv4 for CIDR fd00::/64"},
		{"prefix and group", demoTok, "POST", "/v2.0/security-group-rules", rulePost(fmt.Sprintf(`, "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": %q`, def)), 400, "SecurityGroupMultipleRemoteEntites", "Only one of"},
		{"duplicate rule", demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "192.0.2.7/24"`), 409, "SecurityGroupRuleExists", rule.ID},
		{"rule in another project's group", altTok, "POST", "/v2.0/security-group-rules", rulePost(``), 404, "SecurityGroupNotFound", web.ID},
		{"group named default", altTok, "POST", "/v2.0/security-groups", `{"security_group": {"name": "default"}}`, 409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists."},
		// Neutron asks whether ports use a group before whether it is
		// the default one.
		{"delete own default group in use", demoTok, "DELETE", "/v2.0/security-groups/" + def, "", 409, "SecurityGroupInUse", def},
		{"delete own unused default group", altTok, "DELETE", "/v2.0/security-groups/" + altDef, "", 409, "SecurityGroupCannotRemoveDefault", "Insufficient rights"},
		{"delete group in use", demoTok, "DELETE", "/v2.0/security-groups/" + web.ID, "", 409, "SecurityGroupInUse", web.ID},
		{"port with another project's group", altTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "security_groups": [%q]}}`, netID, web.ID), 404, "", ""},
		{"groups without port security", demoTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "port_security_enabled": false, "security_groups": [%q]}}`, netID, web.ID), 400, "PortSecurityAndIPRequiredForSecurityGroups", "Port security must be enabled"},
		{"port security off with groups", demoTok, "PUT", "/v2.0/ports/" + p.ID, `{"port": {"port_security_enabled": false}}`, 409, "PortSecurityPortHasSecurityGroup", "Cannot disable port security"},
		{"group to a port without port security", demoTok, "PUT", "/v2.0/ports/" + insecure, fmt.Sprintf(`{"port": {"security_groups": [%q]}}`, web.ID), 400, "PortSecurityAndIPRequiredForSecurityGroups", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.tok, tt.method, tt.path, tt.body)
			ne, _ := body["NeutronError"].(map[string]any)
			if code != tt.status || (tt.typ != "" && ne["type"] != tt.typ) || !strings.Contains(fmt.Sprint(ne["message"]), tt.msg) {
				t.Fatalf("%d %v, want %d %s %q", code, body, tt.status, tt.typ, tt.msg)
			}
		})
	}
	if after := nbctl(t, nb, "--columns=_uuid,name,acls,ports,external_ids", "list", "Port_Group") + nbctl(t, nb, "list", "ACL"); after != before {
		t.Fatalf("refused requests changed Port_Group/ACL rows")
	}

	// The prefix of the rule, host bits cleared, is another rule to
	// Neutron (it compares prefixes as given); ACLs are left to the
	// rule's deletion below (ML2/OVN shares one ACL between such rules,
	// ovn-neutrond keeps one per rule, its record of the rule).
	if code, body := call(t, srv, demoTok, "POST", "/v2.0/security-group-rules", rulePost(`, "protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "192.0.2.0/24"`)); code != 201 {
		t.Errorf("the rule's network as prefix: %d %v, want 201", code, body)
	} else if err := rules.Delete(ctx, demo, body["security_group_rule"].(map[string]any)["id"].(string)).ExtractErr(); err != nil {
		t.Fatal(err)
	}

	// Port security off together with no groups leaves the drop group.
	if code, body := call(t, srv, demoTok, "PUT", "/v2.0/ports/"+p.ID, `{"port": {"port_security_enabled": false, "security_groups": []}}`); code != 200 {
		t.Fatalf("port security off: %d %v", code, body)
	}
	if got := membersOf("neutron_pg_drop"); !slices.Equal(got, []string{open.ID}) {
		t.Fatalf("neutron_pg_drop members = %v, want only %s", got, open.ID)
	}
	// Rules and groups go away with their ACLs.
	if err := rules.Delete(ctx, demo, rule.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := nbctl(t, nb, "--bare", "--columns=_uuid", "find", "ACL", "external_ids:neutron\\:security_group_rule_id="+rule.ID); got != "" {
		t.Fatalf("ACL of a deleted rule is left: %s", got)
	}
	if err := groups.Delete(ctx, demo, web.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := nbctl(t, nb, "--bare", "--columns=_uuid", "find", "Port_Group", "name="+pgOf(web.ID)); got != "" {
		t.Fatalf("Port_Group of a deleted group is left: %s", got)
	}
	// Another project has its own default group and sees none of demo's.
	code, body = call(t, srv, altTok, "GET", "/v2.0/security-groups", "")
	if code != 200 || len(body["security_groups"].([]any)) != 1 || body["security_groups"].([]any)[0].(map[string]any)["id"] == def {
		t.Fatalf("alt's groups: %d %v", code, body)
	}
}

// subset: every element of want is in got.
func subset(want, got []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}
