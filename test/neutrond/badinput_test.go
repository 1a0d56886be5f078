package neutrond

import (
	"fmt"
	"strings"
	"testing"
)

// fixture is the state the refusal tests run against.
type fixture struct {
	nb                    string
	srv                   *server
	demo, alt, admin      string // tokens
	net, subnet, vm, vmIP string // demo's
	altNet                string
	small                 string // demo's /30 subnet on its own network
	smallNet              string
}

func mustCreate(t *testing.T, f *fixture, tok, path, body, resource string) map[string]any {
	t.Helper()
	code, out := call(t, f.srv, tok, "POST", path, body)
	if code != 201 {
		t.Fatalf("POST %s %s: %d %v", path, body, code, out)
	}
	return out[resource].(map[string]any)
}

func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.srv, f.nb = underTest(t)
	f.demo, f.alt, f.admin = token(t, f.srv, "demo"), token(t, f.srv, "alt"), token(t, f.srv, "admin")
	f.net = mustCreate(t, f, f.demo, "/v2.0/networks", `{"network": {"name": "n1"}}`, "network")["id"].(string)
	f.subnet = mustCreate(t, f, f.demo, "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.20.0.0/24"}}`, f.net), "subnet")["id"].(string)
	vm := mustCreate(t, f, f.demo, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "vm"}}`, f.net), "port")
	f.vm = vm["id"].(string)
	f.vmIP = vm["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
	ptok, owner := f.srv.profileAs(t, "demo")
	mustCreate(t, f, ptok, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "binding:profile": {"parent_name": %q, "tag": 5}%s}}`, f.net, f.vm, owner), "port")
	f.altNet = mustCreate(t, f, f.alt, "/v2.0/networks", `{"network": {"name": "alt"}}`, "network")["id"].(string)
	mustCreate(t, f, f.alt, "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.30.0.0/24"}}`, f.altNet), "subnet")
	f.smallNet = mustCreate(t, f, f.demo, "/v2.0/networks", `{"network": {"name": "small"}}`, "network")["id"].(string)
	f.small = mustCreate(t, f, f.demo, "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.40.0.0/30"}}`, f.smallNet), "subnet")["id"].(string)
	mustCreate(t, f, f.demo, "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, f.smallNet), "port")
	return f
}

const missing = "0b5e9c1e-0000-4000-8000-000000000000"

func TestRefusedRequestsChangeNothing(t *testing.T) {
	f := setup(t)
	port := func(extra string) string {
		return fmt.Sprintf(`{"port": {"network_id": %q%s}}`, f.net, extra)
	}
	profile := func(p string) string { return port(`, "binding:profile": ` + p) }
	subnet := func(extra string) string {
		return fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4%s}}`, f.net, extra)
	}
	tests := []struct {
		name         string
		tok          string
		method, path string
		body         string
		status       int
		typ          string // NeutronError type; "" for a non-Neutron body (401)
	}{
		{"malformed JSON", f.demo, "POST", "/v2.0/networks", `{"network": {"name": `, 400, "HTTPBadRequest"},
		{"body not an object", f.demo, "POST", "/v2.0/networks", `[1,2]`, 400, "HTTPBadRequest"},
		{"unknown attribute", f.demo, "POST", "/v2.0/networks", `{"network": {"colour": "red"}}`, 400, "HTTPBadRequest"},
		{"subnet without cidr", f.demo, "POST", "/v2.0/subnets", subnet(``), 400, "BadRequest"},
		{"port without network_id", f.demo, "POST", "/v2.0/ports", `{"port": {"name": "x"}}`, 400, "HTTPBadRequest"},
		{"invalid CIDR", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.0.0.300/24"`), 400, "InvalidInput"},
		{"CIDR of the other IP version", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "fd00::/64"`), 400, "InvalidInput"},
		{"gateway of the other IP version", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.50.0.0/24", "gateway_ip": "fd00::1"`), 400, "InvalidInput"},
		{"pool outside subnet", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.50.0.0/24", "allocation_pools": [{"start": "10.50.0.10", "end": "10.50.1.20"}]`), 400, "OutOfBoundsAllocationPool"},
		{"overlapping pools", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.50.0.0/24", "allocation_pools": [{"start": "10.50.0.10", "end": "10.50.0.20"}, {"start": "10.50.0.15", "end": "10.50.0.30"}]`), 409, "OverlappingAllocationPools"},
		{"subnet overlapping another on the network", f.demo, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.20.0.128/25"`), 400, "InvalidInput"},
		{"subnet on nonexistent network", f.demo, "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.60.0.0/24"}}`, missing), 404, "NetworkNotFound"},
		{"ip_address outside subnet", f.demo, "POST", "/v2.0/ports", port(fmt.Sprintf(`, "fixed_ips": [{"subnet_id": %q, "ip_address": "10.99.0.5"}]`, f.subnet)), 400, "InvalidIpForSubnet"},
		{"ip_address on no subnet of the network", f.demo, "POST", "/v2.0/ports", port(`, "fixed_ips": [{"ip_address": "10.99.0.5"}]`), 400, "InvalidIpForNetwork"},
		{"ip_address already used", f.demo, "POST", "/v2.0/ports", port(fmt.Sprintf(`, "fixed_ips": [{"subnet_id": %q, "ip_address": %q}]`, f.subnet, f.vmIP)), 409, "IpAddressAlreadyAllocated"},
		{"ip_address is the gateway", f.demo, "POST", "/v2.0/ports", port(`, "fixed_ips": [{"ip_address": "10.20.0.1"}]`), 409, "IpAddressAlreadyAllocated"},
		{"ip_address is the network address", f.demo, "POST", "/v2.0/ports", port(`, "fixed_ips": [{"ip_address": "10.20.0.0"}]`), 400, "InvalidIpForNetwork"},
		{"ip_address is the broadcast address", f.demo, "POST", "/v2.0/ports", port(`, "fixed_ips": [{"ip_address": "10.20.0.255"}]`), 400, "InvalidIpForNetwork"},
		{"invalid ip_address", f.demo, "POST", "/v2.0/ports", port(`, "fixed_ips": [{"ip_address": "10.20.0.x"}]`), 400, "HTTPBadRequest"},
		{"subnet exhausted", f.demo, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, f.smallNet), 409, "IpAddressGenerationFailure"},
		{"tag 0", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": 0}`, f.vm)), 400, "InvalidInput"},
		{"tag 4095", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": 4095}`, f.vm)), 400, "InvalidInput"},
		{"tag -1", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": -1}`, f.vm)), 400, "InvalidInput"},
		{`tag "x"`, f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": "x"}`, f.vm)), 400, "InvalidInput"},
		{"tag 1.5", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": 1.5}`, f.vm)), 400, "InvalidInput"},
		{"parent_name without tag", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q}`, f.vm)), 400, "InvalidInput"},
		{"tag without parent_name", f.demo, "POST", "/v2.0/ports", profile(`{"tag": 9}`), 400, "InvalidInput"},
		{"binding:profile not an object", f.demo, "POST", "/v2.0/ports", profile(`"x"`), 400, "HTTPBadRequest"},
		{"duplicate tag on one parent", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": 5}`, f.vm)), 409, "VlanTagInUse"},
		{"nonexistent parent", f.demo, "POST", "/v2.0/ports", profile(fmt.Sprintf(`{"parent_name": %q, "tag": 6}`, missing)), 404, "PortNotFound"},
		{"parent of another project", f.alt, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "binding:profile": {"parent_name": %q, "tag": 6}}}`, f.altNet, f.vm), 404, "PortNotFound"},
		{"nonexistent network", f.demo, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, missing), 404, "NetworkNotFound"},
		{"nonexistent subnet", f.demo, "POST", "/v2.0/ports", port(fmt.Sprintf(`, "fixed_ips": [{"subnet_id": %q}]`, missing)), 404, "SubnetNotFound"},
		{"invalid MAC", f.demo, "POST", "/v2.0/ports", port(`, "mac_address": "fa:16:3e:zz:00:01"`), 400, "HTTPBadRequest"},
		{"MAC in use", f.demo, "POST", "/v2.0/ports", port(`, "mac_address": "MAC"`), 409, "MacAddressInUse"},
		{"member shares a network", f.demo, "POST", "/v2.0/networks", `{"network": {"name": "s", "shared": true}}`, 403, "PolicyNotAuthorized"},
		{"member names another project", f.demo, "POST", "/v2.0/networks", fmt.Sprintf(`{"network": {"name": "s", "project_id": %q}}`, f.srv.project("alt")), 400, "HTTPBadRequest"},
		{"mtu not an integer", f.demo, "POST", "/v2.0/networks", `{"network": {"mtu": "big"}}`, 400, "InvalidInput"},
		{"admin_state_up not a boolean", f.demo, "POST", "/v2.0/networks", `{"network": {"admin_state_up": "maybe"}}`, 400, "InvalidInput"},
		{"delete parent with child", f.demo, "DELETE", "/v2.0/ports/" + f.vm, "", 409, "PortInUse"},
		{"delete network with ports", f.demo, "DELETE", "/v2.0/networks/" + f.net, "", 409, "NetworkInUse"},
		{"delete subnet with ports", f.demo, "DELETE", "/v2.0/subnets/" + f.subnet, "", 409, "SubnetInUse"},
		{"project B reads A's network", f.alt, "GET", "/v2.0/networks/" + f.net, "", 404, "NetworkNotFound"},
		{"project B reads A's port", f.alt, "GET", "/v2.0/ports/" + f.vm, "", 404, "PortNotFound"},
		{"project B reads A's subnet", f.alt, "GET", "/v2.0/subnets/" + f.subnet, "", 404, "SubnetNotFound"},
		{"project B renames A's network", f.alt, "PUT", "/v2.0/networks/" + f.net, `{"network": {"name": "mine"}}`, 404, "NetworkNotFound"},
		{"project B deletes A's port", f.alt, "DELETE", "/v2.0/ports/" + f.vm, "", 404, "PortNotFound"},
		{"project B deletes A's network", f.alt, "DELETE", "/v2.0/networks/" + f.net, "", 404, "NetworkNotFound"},
		{"project B adds a subnet to A's network", f.alt, "POST", "/v2.0/subnets", subnet(`, "cidr": "10.70.0.0/24"`), 404, "NetworkNotFound"},
		{"project B creates a port on A's network", f.alt, "POST", "/v2.0/ports", port(``), 404, "NetworkNotFound"},
		{"project B updates A's port", f.alt, "PUT", "/v2.0/ports/" + f.vm, `{"port": {"name": "x"}}`, 404, "PortNotFound"},
		{"no token", "", "GET", "/v2.0/networks", "", 401, ""},
		{"no token on create", "", "POST", "/v2.0/networks", `{"network": {"name": "x"}}`, 401, ""},
		{"bad token", "not-a-token", "GET", "/v2.0/ports", "", 401, ""},
		{"tampered token", f.demo[:len(f.demo)-2] + "xx", "DELETE", "/v2.0/ports/" + f.vm, "", 401, ""},
		{"unknown resource", f.demo, "GET", "/v2.0/qos/policies", "", 404, "HTTPNotFound"},
	}
	// The MAC of the VM's port, for "MAC in use".
	_, vm := call(t, f.srv, f.demo, "GET", "/v2.0/ports/"+f.vm, "")
	mac := vm["port"].(map[string]any)["mac_address"].(string)
	// NB as the last case left it: one case's after is the next one's
	// before (each settled snapshot costs seconds on real Neutron).
	var state string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if f.srv.neutron() {
				switch {
				case tc.name == "delete parent with child":
					// Deliberate difference: real Neutron knows nothing of
					// the parent in binding:profile and deletes the parent.
					t.Skip("ovn-neutrond only: real Neutron deletes a parent port with container ports")
				case strings.Contains(tc.body, `"binding:profile": {`) && tc.tok != f.admin:
					// Real Neutron's policy makes binding:profile admin-only
					// (ovn-neutrond lets the owner set it, checking the parent);
					// a profile that is not an object fails validation first.
					tc.status, tc.typ = 403, "PolicyNotAuthorized"
				case tc.name == "ip_address is the gateway":
					// Deliberate difference: Neutron lets a port take the
					// subnet's gateway address (adding a router interface
					// later then fails); ovn-neutrond keeps it for the router.
					code, body := call(t, f.srv, tc.tok, tc.method, tc.path, tc.body)
					if code != 201 {
						t.Fatalf("real Neutron: a port on the gateway address: %d %v, want 201", code, body)
					}
					id := body["port"].(map[string]any)["id"].(string)
					if code, body := call(t, f.srv, f.demo, "DELETE", "/v2.0/ports/"+id, ""); code != 204 {
						t.Fatalf("deleting port %s: %d %v", id, code, body)
					}
					state = ""
					return
				}
			}
			if state == "" {
				state = f.srv.nbState(t, f.nb)
			}
			before := state
			code, body := call(t, f.srv, tc.tok, tc.method, tc.path, strings.ReplaceAll(tc.body, `"MAC"`, `"`+mac+`"`))
			if code != tc.status {
				t.Errorf("status = %d, want %d (body %v)", code, tc.status, body)
			}
			if tc.typ != "" {
				ne, _ := body["NeutronError"].(map[string]any)
				if ne == nil || ne["type"] != tc.typ || ne["message"] == "" {
					t.Errorf("body = %v, want NeutronError of type %s with a message", body, tc.typ)
				}
			}
			state = f.srv.nbState(t, f.nb)
			if state != before {
				t.Errorf("NB changed by a refused request:\nbefore:\n%s\nafter:\n%s", before, state)
				state = ""
			}
		})
	}
}

// A parent of another project must be indistinguishable from one that
// does not exist (beyond the id in the message).
func TestForeignParentLooksMissing(t *testing.T) {
	f := setup(t)
	req := func(parent string) (int, string) {
		code, body := call(t, f.srv, f.alt, "POST", "/v2.0/ports",
			fmt.Sprintf(`{"port": {"network_id": %q, "binding:profile": {"parent_name": %q, "tag": 6}}}`, f.altNet, parent))
		ne := body["NeutronError"].(map[string]any)
		return code, fmt.Sprint(ne["type"], strings.ReplaceAll(ne["message"].(string), parent, "ID"))
	}
	if f.srv.neutron() {
		// Real Neutron refuses binding:profile to members outright (403),
		// whatever the parent: the check below is ovn-neutrond's own.
		if code, _ := req(f.vm); code != 403 {
			t.Fatalf("member sets binding:profile on real Neutron: %d, want 403", code)
		}
		return
	}
	c1, m1 := req(f.vm)
	c2, m2 := req(missing)
	if c1 != c2 || m1 != m2 {
		t.Fatalf("foreign parent: %d %q; missing parent: %d %q", c1, m1, c2, m2)
	}
	// Admin may cross projects.
	code, body := call(t, f.srv, f.admin, "POST", "/v2.0/ports",
		fmt.Sprintf(`{"port": {"network_id": %q, "project_id": %q, "binding:profile": {"parent_name": %q, "tag": 6}}}`, f.altNet, f.srv.project("alt"), f.vm))
	if code != 201 {
		t.Fatalf("admin across projects: %d %v", code, body)
	}
}
