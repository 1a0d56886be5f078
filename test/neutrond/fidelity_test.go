package neutrond

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/attributestags"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// TestFidelity runs scenarios whose every assertion holds on real Neutron
// (ML2/OVN) as on ovn-neutrond; see target_test.go for how to point it at
// a real cloud.
func TestFidelity(t *testing.T) {
	tg := newTarget(t)
	for _, sc := range []struct {
		name string
		run  func(*testing.T, *target)
	}{
		{"MACChangeOnlyWhileUnbound", testMACChange},
		{"FixedIPsUpdate", testFixedIPsUpdate},
		{"SubnetHostRoutes", testHostRoutes},
		{"SubnetAllocationPoolsUpdate", testPoolsUpdate},
		{"BindingAttributes", testBindingAttributes},
		{"AllowedAddressPairs", testAllowedAddressPairs},
		{"ExtraDHCPOpts", testExtraDHCPOpts},
		{"SubnetGateway", testSubnetGateway},
		{"SubnetServiceTypes", testServiceTypes},
		{"RevisionIfMatch", testRevisionIfMatch},
		{"Tags", testTags},
		{"NetworkWithoutPortSecurity", testNetworkPortSecurity},
		{"BindingProfileOwnership", testBindingProfileOwnership},
		{"SubnetPoolsAndAddressScopes", testSubnetPools},
		{"ExtensionsInREADME", testExtensionsInREADME},
	} {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, tg) })
	}
}

// quoted are the elements of an ovn-nbctl set value (["a b", c]):
// quoted strings, or bare ones like unknown, sorted.
func quoted(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`"((?:[^"\\]|\\.)*)"|([^\s\[\],"]+)`).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+m[2])
	}
	slices.Sort(out)
	return out
}

// network creates a network (extra attributes as JSON members) with one
// subnet of cidr (extra subnet attributes likewise) as user, deleted
// with its ports when the test ends.
func (tg *target) network(t *testing.T, user, netExtra, cidr, subnetExtra string) (netID, subnetID string) {
	t.Helper()
	netID = tg.bareNetwork(t, user, netExtra)
	sn := tg.mustCall(t, 201, user, "POST", "/v2.0/subnets",
		fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": %q%s}}`, netID, cidr, subnetExtra), "subnet")
	return netID, sn["id"].(string)
}

// bareNetwork is a network without subnets, deleted (its ports first) when
// the test ends.
func (tg *target) bareNetwork(t *testing.T, user, netExtra string) (netID string) {
	t.Helper()
	n := tg.mustCall(t, 201, user, "POST", "/v2.0/networks", `{"network": {"name": "fidelity-`+t.Name()+`"`+netExtra+`}}`, "network")
	netID = n["id"].(string)
	t.Cleanup(func() {
		// Parents go only after their children: a few rounds.
		for round := 0; round < 3; round++ {
			_, body := tg.call(t, "admin", "GET", "/v2.0/ports?network_id="+netID, "")
			ports, _ := body["ports"].([]any)
			for _, p := range ports {
				tg.call(t, "admin", "DELETE", "/v2.0/ports/"+p.(map[string]any)["id"].(string), "")
			}
		}
		if code, body := tg.call(t, "admin", "DELETE", "/v2.0/networks/"+netID, ""); code != 204 {
			t.Errorf("cleanup: delete network %s on %s: %d %v", netID, tg.name(), code, body)
		}
	})
	return netID
}

func (tg *target) port(t *testing.T, user, netID, extra string) map[string]any {
	t.Helper()
	return tg.mustCall(t, 201, user, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q%s}}`, netID, extra), "port")
}

func firstIP(p map[string]any) string {
	return p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)
}

// subnetDHCP is the _uuid of a subnet's own DHCP_Options row.
func (tg *target) subnetDHCP(t *testing.T, subnetID string) string {
	t.Helper()
	return subnetDHCPRow(t, tg.nb, subnetID)
}

func testMACChange(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", "", "10.71.0.0/24", "")
	p := tg.port(t, "demo", netID, "")
	id, ip := p["id"].(string), firstIP(p)
	// Real Neutron shows binding:* to admins only; ovn-neutrond shows them
	// to the port's owner too (the plugin reads binding:profile there).
	if vt := tg.mustCall(t, 200, "admin", "GET", "/v2.0/ports/"+id, "", "port")["binding:vif_type"]; vt != "unbound" {
		t.Fatalf("new port's binding:vif_type = %v, want unbound", vt)
	}
	const mac = "fa:16:3e:71:00:01"
	// Changing a MAC is for admins (Neutron's default policy).
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"mac_address": "`+mac+`"}}`); code != 403 {
		t.Fatalf("member changes a MAC: %d %v, want 403", code, body)
	}
	got := tg.mustCall(t, 200, "admin", "PUT", "/v2.0/ports/"+id, `{"port": {"mac_address": "`+mac+`"}}`, "port")
	if got["mac_address"] != mac {
		t.Fatalf("mac_address after update = %v", got["mac_address"])
	}
	if diff := cmp.Diff([]string{mac + " " + ip}, quoted(tg.nbGet(t, "Logical_Switch_Port", id, "addresses"))); diff != "" {
		t.Fatalf("LSP addresses after the MAC change (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{mac + " " + ip}, quoted(tg.nbGet(t, "Logical_Switch_Port", id, "port_security"))); diff != "" {
		t.Fatalf("LSP port_security after the MAC change (-want +got):\n%s", diff)
	}
	// Another port cannot take that MAC.
	if code, body := tg.call(t, "demo", "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "mac_address": %q}}`, netID, mac)); code != 409 || errType(body) != "MacAddressInUse" {
		t.Fatalf("second port with the MAC: %d %v", code, body)
	}
	// Bound to a host (as Nova binds, with admin rights): no more change.
	tg.mustCall(t, 200, "admin", "PUT", "/v2.0/ports/"+id, `{"port": {"binding:host_id": "hv1"}}`, "port")
	code, body := tg.call(t, "admin", "PUT", "/v2.0/ports/"+id, `{"port": {"mac_address": "fa:16:3e:71:00:02"}}`)
	if code != 409 || errType(body) != "PortBound" {
		t.Fatalf("MAC change of a bound port: %d %v, want 409 PortBound", code, body)
	}
}

func testAllowedAddressPairs(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", "", "10.72.0.0/24", "")
	const vmac = "fa:16:3e:72:00:99"
	p := tg.port(t, "demo", netID, `, "allowed_address_pairs": [{"ip_address": "10.72.0.200"}, {"ip_address": "10.72.0.208/29", "mac_address": "`+vmac+`"}]`)
	id, mac, ip := p["id"].(string), p["mac_address"].(string), firstIP(p)
	want := []any{
		map[string]any{"ip_address": "10.72.0.200", "mac_address": mac},
		map[string]any{"ip_address": "10.72.0.208/29", "mac_address": vmac},
	}
	// Neutron keeps the pairs in no particular order.
	byIP := cmpopts.SortSlices(func(a, b any) bool {
		return fmt.Sprint(a.(map[string]any)["ip_address"]) < fmt.Sprint(b.(map[string]any)["ip_address"])
	})
	if diff := cmp.Diff(want, p["allowed_address_pairs"], byIP); diff != "" {
		t.Fatalf("allowed_address_pairs (-want +got):\n%s", diff)
	}
	// ML2/OVN: the pair with the port's MAC extends its port security
	// entry; the other gets its own, and its MAC joins addresses.
	if diff := cmp.Diff(quoted(fmt.Sprintf(`[%q, %q]`, mac+" "+ip+" 10.72.0.200", vmac+" 10.72.0.208/29")),
		quoted(tg.nbGet(t, "Logical_Switch_Port", id, "port_security"))); diff != "" {
		t.Fatalf("port_security (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(quoted(fmt.Sprintf(`[%q, %q]`, mac+" "+ip, vmac)), quoted(tg.nbGet(t, "Logical_Switch_Port", id, "addresses"))); diff != "" {
		t.Fatalf("addresses (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ body, typ string }{
		{`{"port": {"port_security_enabled": false}}`, "AddressPairAndPortSecurityRequired"},
		{`{"port": {"allowed_address_pairs": [{"mac_address": "` + vmac + `"}]}}`, "AllowedAddressPairsMissingIP"},
		{`{"port": {"allowed_address_pairs": [{"ip_address": "10.72.0.5"}, {"ip_address": "10.72.0.5"}]}}`, "DuplicateAddressPairInRequest"},
	} {
		code, body := tg.call(t, "demo", "PUT", "/v2.0/ports/"+id, tc.body)
		if code/100 != 4 || errType(body) != tc.typ {
			t.Errorf("PUT %s: %d %v, want %s", tc.body, code, body, tc.typ)
		}
	}
	// Dropping the pairs, then port security: the port may use any address.
	tg.mustCall(t, 200, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"allowed_address_pairs": []}}`, "port")
	// Without security groups too: Neutron refuses to turn port security
	// off on a port that has some (ovn-neutrond has none).
	tg.mustCall(t, 200, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"port_security_enabled": false, "security_groups": []}}`, "port")
	if got := tg.nbGet(t, "Logical_Switch_Port", id, "port_security"); got != "[]" {
		t.Fatalf("port_security without port security = %s", got)
	}
	if got := quoted(tg.nbGet(t, "Logical_Switch_Port", id, "addresses")); !slices.Contains(got, "unknown") {
		t.Fatalf("addresses without port security = %v, want \"unknown\" among them", got)
	}
}

func testExtraDHCPOpts(t *testing.T, tg *target) {
	netID, subnetID := tg.network(t, "demo", "", "10.73.0.0/24", "")
	p := tg.port(t, "demo", netID, `, "extra_dhcp_opts": [{"opt_name": "domain-name", "opt_value": "example.org"}, {"opt_name": "ntp-server", "opt_value": "10.73.0.123"}]`)
	id := p["id"].(string)
	opts := p["extra_dhcp_opts"].([]any)
	if len(opts) != 2 || opts[0].(map[string]any)["ip_version"] != float64(4) {
		t.Fatalf("extra_dhcp_opts = %v", opts)
	}
	// The port's DHCP options are a row of its own: the subnet's options
	// updated with the port's.
	row := tg.nbGet(t, "Logical_Switch_Port", id, "dhcpv4_options")
	subnetRow := tg.subnetDHCP(t, subnetID)
	if row == subnetRow || row == "[]" {
		t.Fatalf("dhcpv4_options = %s, want a row of the port's own (the subnet's is %s)", row, subnetRow)
	}
	if got := tg.nbGet(t, "DHCP_Options", row, "external_ids:port_id"); got != `"`+id+`"` {
		t.Fatalf("port DHCP row's external_ids:port_id = %s", got)
	}
	for k, want := range map[string]string{"domain_name": `"\"example.org\""`, "ntp_server": `"10.73.0.123"`, "router": `"10.73.0.1"`} {
		if got := tg.nbGet(t, "DHCP_Options", row, "options:"+k); got != want {
			t.Errorf("port DHCP option %s = %s, want %s", k, got, want)
		}
	}
	// Updating: a null value removes an option.
	got := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"extra_dhcp_opts": [{"opt_name": "domain-name", "opt_value": null}]}}`, "port")
	if opts := got["extra_dhcp_opts"].([]any); len(opts) != 1 || opts[0].(map[string]any)["opt_name"] != "ntp-server" {
		t.Fatalf("extra_dhcp_opts after removing domain-name = %v", opts)
	}
	row = tg.nbGet(t, "Logical_Switch_Port", id, "dhcpv4_options")
	// The port's domain-name goes; a cloud-wide dns_domain (Neutron's
	// dns extension) may still give the row a domain_name of its own.
	if o := tg.nbGet(t, "DHCP_Options", row, "options"); strings.Contains(o, "example.org") || !strings.Contains(o, "ntp_server") {
		t.Fatalf("port DHCP options after removing domain-name = %s", o)
	}
	tg.mustCall(t, 204, "demo", "DELETE", "/v2.0/ports/"+id, "", "")
	if out := nbctl(t, tg.nb, "--bare", "--columns=_uuid", "find", "DHCP_Options", "external_ids:port_id="+id); out != "" {
		t.Fatalf("port DHCP row left after deleting the port: %s", out)
	}
}

func testSubnetGateway(t *testing.T, tg *target) {
	_, subnetID := tg.network(t, "demo", "", "10.74.0.0/24", `, "allocation_pools": [{"start": "10.74.0.10", "end": "10.74.0.100"}]`)
	row := tg.subnetDHCP(t, subnetID)
	got := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"gateway_ip": "10.74.0.254"}}`, "subnet")
	if got["gateway_ip"] != "10.74.0.254" {
		t.Fatalf("gateway_ip after update = %v", got["gateway_ip"])
	}
	if o := tg.nbGet(t, "DHCP_Options", row, "options:router"); o != `"10.74.0.254"` {
		t.Fatalf("DHCP router option = %s", o)
	}
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"gateway_ip": "10.74.0.50"}}`); code != 409 || errType(body) != "GatewayConflictWithAllocationPools" {
		t.Fatalf("gateway inside a pool: %d %v", code, body)
	}
	// Neutron allows a gateway outside the subnet (an upstream router).
	got = tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"gateway_ip": "10.75.0.1"}}`, "subnet")
	if got["gateway_ip"] != "10.75.0.1" {
		t.Fatalf("gateway_ip outside the subnet after update = %v", got["gateway_ip"])
	}
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"gateway_ip": "fd00::1"}}`); code != 400 {
		t.Fatalf("gateway of the other IP version: %d %v", code, body)
	}
	got = tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"gateway_ip": null}}`, "subnet")
	if got["gateway_ip"] != nil {
		t.Fatalf("gateway_ip after removal = %v", got["gateway_ip"])
	}
	if o := tg.nbGet(t, "DHCP_Options", row, "options"); strings.Contains(o, "router=") {
		t.Fatalf("DHCP options still have a router without a gateway: %s", o)
	}
}

func testServiceTypes(t *testing.T, tg *target) {
	netID, plain := tg.network(t, "demo", "", "10.76.0.0/24", "")
	typed := tg.mustCall(t, 201, "demo", "POST", "/v2.0/subnets",
		fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.77.0.0/24", "service_types": ["compute:nova"]}}`, netID), "subnet")
	if diff := cmp.Diff([]any{"compute:nova"}, typed["service_types"]); diff != "" {
		t.Fatalf("service_types (-want +got):\n%s", diff)
	}
	vm := tg.port(t, "demo", netID, `, "device_owner": "compute:nova"`)
	if sn := vm["fixed_ips"].([]any)[0].(map[string]any)["subnet_id"]; sn != typed["id"] || len(vm["fixed_ips"].([]any)) != 1 {
		t.Fatalf("compute port got %v, want an address of the compute:nova subnet only", vm["fixed_ips"])
	}
	other := tg.port(t, "demo", netID, "")
	if sn := other["fixed_ips"].([]any)[0].(map[string]any)["subnet_id"]; sn != plain || len(other["fixed_ips"].([]any)) != 1 {
		t.Fatalf("plain port got %v, want an address of the untyped subnet only", other["fixed_ips"])
	}
	got := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+typed["id"].(string), `{"subnet": {"service_types": []}}`, "subnet")
	if diff := cmp.Diff([]any{}, got["service_types"]); diff != "" {
		t.Fatalf("service_types after clearing (-want +got):\n%s", diff)
	}
	code, body := tg.call(t, "demo", "POST", "/v2.0/subnets",
		fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.78.0.0/24", "service_types": ["foo"]}}`, netID))
	if code != 400 {
		t.Fatalf("invalid service type: %d %v", code, body)
	}
}

func testRevisionIfMatch(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", "", "10.79.0.0/24", "")
	rev := tg.mustCall(t, 200, "demo", "GET", "/v2.0/networks/"+netID, "", "network")["revision_number"].(float64)
	match := fmt.Sprintf("If-Match: revision_number=%d", int(rev))
	got := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/networks/"+netID, `{"network": {"name": "rev1"}}`, "network", match)
	if got["revision_number"].(float64) <= rev {
		t.Fatalf("revision_number after update = %v, was %v", got["revision_number"], rev)
	}
	code, body := tg.call(t, "demo", "PUT", "/v2.0/networks/"+netID, `{"network": {"name": "rev2"}}`, match)
	if code != 412 || errType(body) != "RevisionNumberConstraintFailed" {
		t.Fatalf("update with a stale revision: %d %v, want 412 RevisionNumberConstraintFailed", code, body)
	}
	if name := tg.mustCall(t, 200, "demo", "GET", "/v2.0/networks/"+netID, "", "network")["name"]; name != "rev1" {
		t.Fatalf("name after the refused update = %v", name)
	}
	p := tg.port(t, "demo", netID, "")
	stale := fmt.Sprintf("If-Match: revision_number=%d", int(p["revision_number"].(float64))+5)
	if code, body := tg.call(t, "demo", "DELETE", "/v2.0/ports/"+p["id"].(string), "", stale); code != 412 {
		t.Fatalf("delete with a stale revision: %d %v", code, body)
	}
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/ports/"+p["id"].(string), `{"port": {"name": "x"}}`, "If-Match: revision_number=abc"); code != 400 {
		t.Fatalf("malformed revision etag: %d %v", code, body)
	}
}

func testTags(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", "", "10.80.0.0/24", "")
	otherID, _ := tg.network(t, "demo", "", "10.81.0.0/24", "")
	ctx := context.Background()
	nc := tg.client(t, "demo")
	rev := tg.mustCall(t, 200, "demo", "GET", "/v2.0/networks/"+netID, "", "network")["revision_number"].(float64)
	tags, err := attributestags.ReplaceAll(ctx, nc, "networks", netID, attributestags.ReplaceAllOpts{Tags: []string{"red", "blue"}}).Extract()
	if err != nil || len(tags) != 2 {
		t.Fatalf("replace tags: %v %v", tags, err)
	}
	if err := attributestags.Add(ctx, nc, "networks", netID, "green").ExtractErr(); err != nil {
		t.Fatalf("add tag: %v", err)
	}
	if ok, err := attributestags.Confirm(ctx, nc, "networks", netID, "green").Extract(); err != nil || !ok {
		t.Fatalf("confirm green: %v %v", ok, err)
	}
	if ok, _ := attributestags.Confirm(ctx, nc, "networks", netID, "purple").Extract(); ok {
		t.Fatal("confirm purple: a missing tag is confirmed")
	}
	if err := attributestags.Delete(ctx, nc, "networks", netID, "red").ExtractErr(); err != nil {
		t.Fatalf("delete red: %v", err)
	}
	if code, body := tg.call(t, "demo", "DELETE", "/v2.0/networks/"+netID+"/tags/red", ""); code != 404 || errType(body) != "TagNotFound" {
		t.Fatalf("delete a missing tag: %d %v", code, body)
	}
	tags, err = attributestags.List(ctx, nc, "networks", netID).Extract()
	slices.Sort(tags)
	if diff := cmp.Diff([]string{"blue", "green"}, tags); err != nil || diff != "" {
		t.Fatalf("tags (-want +got):\n%s %v", diff, err)
	}
	if now := tg.mustCall(t, 200, "demo", "GET", "/v2.0/networks/"+netID, "", "network")["revision_number"].(float64); now <= rev {
		t.Fatalf("revision_number %v after tag changes, was %v", now, rev)
	}
	tg.osc(t, "demo", "network", "set", "--tag", "blue", otherID)
	ids := func(query string) []string {
		_, body := tg.call(t, "demo", "GET", "/v2.0/networks?"+query, "")
		var out []string
		for _, n := range body["networks"].([]any) {
			if id := n.(map[string]any)["id"].(string); id == netID || id == otherID {
				out = append(out, map[string]string{netID: "net", otherID: "other"}[id])
			}
		}
		slices.Sort(out)
		return out
	}
	for query, want := range map[string][]string{
		"tags=blue":                   {"net", "other"},
		"tags=blue,green":             {"net"},
		"tags=blue&tags=green":        {"net"},
		"tags-any=green,nothing":      {"net"},
		"not-tags=blue,green":         {"other"},
		"not-tags-any=green":          {"other"},
		"not-tags-any=blue":           nil,
		"tags=blue&not-tags-any=gold": {"net", "other"},
	} {
		if diff := cmp.Diff(want, ids(query)); diff != "" {
			t.Errorf("GET /v2.0/networks?%s (-want +got):\n%s", query, diff)
		}
	}
	list := tg.osc(t, "demo", "network", "list", "--tags", "green", "-f", "json").([]any)
	if len(list) != 1 || field(list[0], "ID") != netID {
		t.Fatalf("openstack network list --tags green = %v", list)
	}
	var n networks.Network
	if err := networks.Get(ctx, nc, otherID).ExtractInto(&n); err != nil || !slices.Equal(n.Tags, []string{"blue"}) {
		t.Fatalf("network tags = %v %v", n.Tags, err)
	}
	if err := attributestags.DeleteAll(ctx, nc, "networks", netID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if tags, _ := attributestags.List(ctx, nc, "networks", netID).Extract(); len(tags) != 0 {
		t.Fatalf("tags after delete all = %v", tags)
	}
	// ovn-neutrond's ports take tags at creation, as newer Neutron's
	// tag-ports-during-bulk-creation; Neutron 21 (without that extension,
	// so not listed by ovn-neutrond either) ignores them.
	p := tg.port(t, "demo", netID, `, "tags": ["pooled"]`)
	if diff := cmp.Diff([]any{"pooled"}, p["tags"]); diff != "" && !tg.neutron {
		t.Fatalf("port tags (-want +got):\n%s", diff)
	}
	if code, _ := tg.call(t, "alt", "PUT", "/v2.0/networks/"+netID+"/tags/mine", ""); code != 404 {
		t.Fatalf("another project tags demo's network: %d, want 404", code)
	}
}

func testNetworkPortSecurity(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", `, "port_security_enabled": false`, "10.82.0.0/24", "")
	if ps := tg.mustCall(t, 200, "demo", "GET", "/v2.0/networks/"+netID, "", "network")["port_security_enabled"]; ps != false {
		t.Fatalf("network port_security_enabled = %v", ps)
	}
	p := tg.port(t, "demo", netID, "")
	if p["port_security_enabled"] != false {
		t.Fatalf("new port's port_security_enabled = %v, want the network's false", p["port_security_enabled"])
	}
	id := p["id"].(string)
	if got := tg.nbGet(t, "Logical_Switch_Port", id, "port_security"); got != "[]" {
		t.Fatalf("port_security = %s", got)
	}
	if got := quoted(tg.nbGet(t, "Logical_Switch_Port", id, "addresses")); !slices.Contains(got, "unknown") {
		t.Fatalf("addresses = %v, want \"unknown\" among them", got)
	}
	if code, body := tg.call(t, "demo", "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "allowed_address_pairs": [{"ip_address": "10.82.0.200"}]}}`, netID)); code != 409 || errType(body) != "AddressPairAndPortSecurityRequired" {
		t.Fatalf("address pairs on a port without port security: %d %v", code, body)
	}
	p = tg.port(t, "demo", netID, `, "port_security_enabled": true`)
	if got := quoted(tg.nbGet(t, "Logical_Switch_Port", p["id"].(string), "port_security")); len(got) != 1 {
		t.Fatalf("port_security of a port that asked for it = %v", got)
	}
}

// testBindingProfileOwnership is where the two clouds deliberately
// differ. ovn-neutrond lets members set binding:profile and checks that
// the parent port is theirs; real Neutron forbids binding:profile to
// members by default (policy) and, for an admin, only checks that the
// parent exists, whoever owns it.
func testBindingProfileOwnership(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "admin", `, "shared": true`, "10.83.0.0/24", "")
	vm := tg.port(t, "demo", netID, "")
	profile := func(tag int) string {
		return fmt.Sprintf(`, "binding:profile": {"parent_name": %q, "tag": %d}`, vm["id"], tag)
	}
	code, body := tg.call(t, "alt", "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q%s}}`, netID, profile(10)))
	if tg.neutron {
		if code != 403 {
			t.Fatalf("Neutron: member sets binding:profile: %d %v, want 403 (policy)", code, body)
		}
		// An admin may hang a port of project alt on demo's port.
		tg.port(t, "admin", netID, profile(11)+fmt.Sprintf(`, "project_id": %q`, tg.projectID("alt")))
		return
	}
	if code != 404 || errType(body) != "PortNotFound" {
		t.Fatalf("ovn-neutrond: member hangs a port on another project's port: %d %v, want 404 PortNotFound", code, body)
	}
	c := tg.port(t, "demo", netID, profile(12))
	if got := tg.nbGet(t, "Logical_Switch_Port", c["id"].(string), "parent_name"); got != `"`+vm["id"].(string)+`"` {
		t.Fatalf("parent_name = %s", got)
	}
}

func testSubnetPools(t *testing.T, tg *target) {
	scope := tg.mustCall(t, 201, "demo", "POST", "/v2.0/address-scopes", `{"address_scope": {"name": "scope4", "ip_version": 4}}`, "address_scope")
	scopeID := scope["id"].(string)
	t.Cleanup(func() { tg.call(t, "admin", "DELETE", "/v2.0/address-scopes/"+scopeID, "") })
	if code, body := tg.call(t, "demo", "POST", "/v2.0/subnetpools", `{"subnetpool": {"name": "p6", "prefixes": ["fd84::/48"], "address_scope_id": "`+scopeID+`"}}`); code != 400 {
		t.Fatalf("IPv6 pool in an IPv4 scope: %d %v", code, body)
	}
	if code, body := tg.call(t, "demo", "POST", "/v2.0/subnetpools", `{"subnetpool": {"name": "mixed", "prefixes": ["10.84.0.0/16", "fd84::/48"]}}`); code != 400 || errType(body) != "PrefixVersionMismatch" {
		t.Fatalf("mixed prefixes: %d %v", code, body)
	}
	pool := tg.mustCall(t, 201, "demo", "POST", "/v2.0/subnetpools",
		`{"subnetpool": {"name": "p4", "prefixes": ["10.84.0.0/22"], "default_prefixlen": 24, "max_prefixlen": 28, "address_scope_id": "`+scopeID+`"}}`, "subnetpool")
	poolID := pool["id"].(string)
	t.Cleanup(func() {
		if code, body := tg.call(t, "admin", "DELETE", "/v2.0/subnetpools/"+poolID, ""); code != 204 {
			t.Errorf("cleanup: delete subnet pool on %s: %d %v", tg.name(), code, body)
		}
	})
	for k, want := range map[string]any{"ip_version": float64(4), "min_prefixlen": float64(8), "max_prefixlen": float64(28), "default_prefixlen": float64(24), "address_scope_id": scopeID} {
		if fmt.Sprint(pool[k]) != fmt.Sprint(want) {
			t.Errorf("subnet pool %s = %v, want %v", k, pool[k], want)
		}
	}
	if diff := cmp.Diff([]any{"10.84.0.0/22"}, pool["prefixes"]); diff != "" {
		t.Fatalf("prefixes (-want +got):\n%s", diff)
	}
	// Networks created after the pool, so deleted (with their subnets)
	// before it. All subnets of one IP version on a network come from one
	// pool, or none.
	mixedID, _ := tg.network(t, "demo", "", "10.85.0.0/24", "")
	if code, body := tg.call(t, "demo", "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "subnetpool_id": %q}}`, mixedID, poolID)); code != 400 || errType(body) != "NetworkSubnetPoolAffinityError" {
		t.Fatalf("pool subnet beside a subnet of no pool: %d %v", code, body)
	}
	netID := tg.bareNetwork(t, "demo", "")
	subnet := func(extra string) (int, map[string]any) {
		return tg.call(t, "demo", "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "subnetpool_id": %q%s}}`, netID, poolID, extra))
	}
	code, body := subnet(`, "prefixlen": 26`)
	if code != 201 {
		t.Fatalf("subnet of /26 from the pool: %d %v", code, body)
	}
	first := body["subnet"].(map[string]any)
	if first["subnetpool_id"] != poolID || first["gateway_ip"] != "10.84.0.1" || first["cidr"] != "10.84.0.0/26" {
		t.Fatalf("subnet from pool = %v", first)
	}
	code, body = subnet("")
	if second := body["subnet"].(map[string]any); code != 201 || !strings.HasSuffix(second["cidr"].(string), "/24") || second["cidr"] == "10.84.0.0/24" {
		t.Fatalf("subnet of the default length: %d %v", code, body)
	}
	if code, body := subnet(`, "prefixlen": 30`); code != 400 || errType(body) != "MaxPrefixSubnetAllocationError" {
		t.Fatalf("prefixlen above max: %d %v", code, body)
	}
	if code, body := subnet(`, "cidr": "10.84.0.0/28"`); code/100 == 2 {
		t.Fatalf("a taken cidr from the pool: %d %v", code, body)
	}
	if code, body := subnet(`, "prefixlen": 22`); code/100 == 2 {
		t.Fatalf("a /22 from a pool with a /26 and a /24 taken: %d %v", code, body)
	}
	if code, body := tg.call(t, "demo", "DELETE", "/v2.0/subnetpools/"+poolID, ""); code != 400 || errType(body) != "SubnetPoolDeleteError" {
		t.Fatalf("delete a pool in use: %d %v", code, body)
	}
	if code, body := tg.call(t, "demo", "DELETE", "/v2.0/address-scopes/"+scopeID, ""); code != 409 {
		t.Fatalf("delete a scope in use: %d %v", code, body)
	}
	// The freed prefix is allocated again.
	tg.mustCall(t, 204, "demo", "DELETE", "/v2.0/subnets/"+first["id"].(string), "", "")
	code, body = subnet(`, "prefixlen": 26`)
	if code != 201 || body["subnet"].(map[string]any)["cidr"] != "10.84.0.0/26" {
		t.Fatalf("subnet after freeing the /26: %d %v", code, body)
	}
	if code, body := tg.call(t, "demo", "POST", "/v2.0/subnets", fmt.Sprintf(`{"subnet": {"network_id": %q, "ip_version": 4, "cidr": "10.86.0.0/24"}}`, netID)); code != 400 || errType(body) != "NetworkSubnetPoolAffinityError" {
		t.Fatalf("subnet of no pool beside pool subnets: %d %v", code, body)
	}
	list := tg.osc(t, "demo", "subnet", "pool", "list", "-f", "json").([]any)
	if !slices.ContainsFunc(list, func(p any) bool { return field(p, "ID") == poolID }) {
		t.Fatalf("openstack subnet pool list = %v", list)
	}
}

// lspAddresses are the addresses of a port's LSP, each "MAC IP…" with
// its IPs sorted (ML2/OVN and ovn-neutrond may list them in other
// orders).
func (tg *target) lspAddresses(t *testing.T, id, column string) []string {
	t.Helper()
	var out []string
	for _, a := range quoted(tg.nbGet(t, "Logical_Switch_Port", id, column)) {
		f := strings.Fields(a)
		if len(f) > 1 {
			slices.Sort(f[1:])
		}
		out = append(out, strings.Join(f, " "))
	}
	return out
}

func testFixedIPsUpdate(t *testing.T, tg *target) {
	netID, subnetID := tg.network(t, "demo", "", "10.73.0.0/24", "")
	p := tg.port(t, "demo", netID, "")
	other := tg.port(t, "demo", netID, "")
	id, mac, old := p["id"].(string), p["mac_address"].(string), firstIP(p)
	set := func(fixed string) (int, map[string]any) {
		return tg.call(t, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"fixed_ips": `+fixed+`}}`)
	}
	ips := func(p map[string]any) []string {
		var out []string
		for _, f := range p["fixed_ips"].([]any) {
			out = append(out, f.(map[string]any)["ip_address"].(string))
		}
		return out
	}
	// A new address: the port has it, in the API and in NB.
	code, body := set(`[{"ip_address": "10.73.0.50"}]`)
	if code != 200 || !slices.Equal(ips(body["port"].(map[string]any)), []string{"10.73.0.50"}) {
		t.Fatalf("new fixed_ips: %d %v", code, body)
	}
	for _, col := range []string{"addresses", "port_security"} {
		if diff := cmp.Diff([]string{mac + " 10.73.0.50"}, tg.lspAddresses(t, id, col)); diff != "" {
			t.Fatalf("LSP %s after the change (-want +got):\n%s", col, diff)
		}
	}
	// The old address is free again: another port may take it.
	tg.port(t, "demo", netID, fmt.Sprintf(`, "fixed_ips": [{"ip_address": %q}]`, old))
	// An address another port holds: IpAddressAlreadyAllocated, and the
	// port keeps what it had.
	code, body = set(fmt.Sprintf(`[{"ip_address": %q}]`, firstIP(other)))
	if code != 409 || errType(body) != "IpAddressAlreadyAllocated" {
		t.Fatalf("fixed_ips taken by another port: %d %v, want 409 IpAddressAlreadyAllocated", code, body)
	}
	if diff := cmp.Diff([]string{mac + " 10.73.0.50"}, tg.lspAddresses(t, id, "addresses")); diff != "" {
		t.Fatalf("LSP addresses after a refused change (-want +got):\n%s", diff)
	}
	// The subnet alone keeps the port's address there; a second address
	// is added beside it.
	code, body = set(fmt.Sprintf(`[{"subnet_id": %q}]`, subnetID))
	if code != 200 || !slices.Equal(ips(body["port"].(map[string]any)), []string{"10.73.0.50"}) {
		t.Fatalf("fixed_ips by subnet only: %d %v, want the address kept", code, body)
	}
	code, body = set(fmt.Sprintf(`[{"subnet_id": %q, "ip_address": "10.73.0.50"}, {"subnet_id": %q, "ip_address": "10.73.0.51"}]`, subnetID, subnetID))
	if got := ips(body["port"].(map[string]any)); code != 200 || !slices.Equal(got, []string{"10.73.0.50", "10.73.0.51"}) {
		t.Fatalf("two fixed_ips: %d %v", code, body)
	}
	if diff := cmp.Diff([]string{mac + " 10.73.0.50 10.73.0.51"}, tg.lspAddresses(t, id, "addresses")); diff != "" {
		t.Fatalf("LSP addresses with two IPs (-want +got):\n%s", diff)
	}
	// Outside the subnet: InvalidIpForSubnet.
	if code, body := set(fmt.Sprintf(`[{"subnet_id": %q, "ip_address": "10.99.0.5"}]`, subnetID)); code != 400 || errType(body) != "InvalidIpForSubnet" {
		t.Fatalf("fixed_ips outside the subnet: %d %v", code, body)
	}
}

func testHostRoutes(t *testing.T, tg *target) {
	_, subnetID := tg.network(t, "demo", "", "10.74.0.0/24", `, "host_routes": [{"destination": "10.80.0.0/16", "nexthop": "10.74.0.254"}]`)
	sn := tg.mustCall(t, 200, "demo", "GET", "/v2.0/subnets/"+subnetID, "", "subnet")
	if diff := cmp.Diff([]any{map[string]any{"destination": "10.80.0.0/16", "nexthop": "10.74.0.254"}}, sn["host_routes"]); diff != "" {
		t.Fatalf("host_routes (-want +got):\n%s", diff)
	}
	// Option 121 as ML2/OVN writes it: the routes (after its metadata
	// route, on real Neutron), then the default route.
	route := func() string {
		return strings.Trim(tg.nbGet(t, "DHCP_Options", tg.subnetDHCP(t, subnetID), "options:classless_static_route"), `"`)
	}
	if got := route(); !strings.Contains(got, "10.80.0.0/16,10.74.0.254, ") || !strings.HasSuffix(got, "0.0.0.0/0,10.74.0.1}") {
		t.Fatalf("classless_static_route = %q", got)
	}
	upd := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID,
		`{"subnet": {"host_routes": [{"destination": "10.81.0.0/16", "nexthop": "10.74.0.253"}, {"destination": "192.168.9.0/24", "nexthop": "10.74.0.252"}]}}`, "subnet")
	if n := len(upd["host_routes"].([]any)); n != 2 {
		t.Fatalf("host_routes after update = %v", upd["host_routes"])
	}
	if got := route(); strings.Contains(got, "10.80.0.0/16") || !strings.Contains(got, "10.81.0.0/16,10.74.0.253, 192.168.9.0/24,10.74.0.252, 0.0.0.0/0,10.74.0.1}") {
		t.Fatalf("classless_static_route after update = %q", got)
	}
	tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"host_routes": []}}`, "subnet")
	if got := tg.nbGet(t, "DHCP_Options", tg.subnetDHCP(t, subnetID), "options"); strings.Contains(got, "10.81.0.0") {
		t.Fatalf("DHCP options after clearing host_routes = %s", got)
	}
	// A route of the other IP version, a bad CIDR: 400 InvalidInput.
	for _, bad := range []string{
		`[{"destination": "fd00::/64", "nexthop": "10.74.0.254"}]`,
		`[{"destination": "10.80.0.0/33", "nexthop": "10.74.0.254"}]`,
	} {
		if code, body := tg.call(t, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"host_routes": `+bad+`}}`); code != 400 {
			t.Errorf("host_routes %s: %d %v, want 400", bad, code, body)
		}
	}
}

func testPoolsUpdate(t *testing.T, tg *target) {
	netID, subnetID := tg.network(t, "demo", "", "10.75.0.0/24", `, "allocation_pools": [{"start": "10.75.0.10", "end": "10.75.0.20"}]`)
	p := tg.port(t, "demo", netID, "")
	if !inPool(firstIP(p), "10.75.0.10", "10.75.0.20") {
		t.Fatalf("port address %s outside the pool", firstIP(p))
	}
	upd := tg.mustCall(t, 200, "demo", "PUT", "/v2.0/subnets/"+subnetID,
		`{"subnet": {"allocation_pools": [{"start": "10.75.0.100", "end": "10.75.0.101"}]}}`, "subnet")
	if diff := cmp.Diff([]any{map[string]any{"start": "10.75.0.100", "end": "10.75.0.101"}}, upd["allocation_pools"]); diff != "" {
		t.Fatalf("allocation_pools after update (-want +got):\n%s", diff)
	}
	// The port keeps its address; new ports get the new pool's, until
	// it runs out.
	if got := firstIP(tg.mustCall(t, 200, "demo", "GET", "/v2.0/ports/"+p["id"].(string), "", "port")); got != firstIP(p) {
		t.Fatalf("port address after the pools changed = %s, want %s", got, firstIP(p))
	}
	for i := 0; i < 2; i++ {
		if ip := firstIP(tg.port(t, "demo", netID, "")); !inPool(ip, "10.75.0.100", "10.75.0.101") {
			t.Fatalf("new port's address %s outside the new pool", ip)
		}
	}
	if code, body := tg.call(t, "demo", "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, netID)); code != 409 || errType(body) != "IpAddressGenerationFailure" {
		t.Fatalf("port on the exhausted new pool: %d %v", code, body)
	}
	// A pool outside the subnet: 400, the pools unchanged.
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/subnets/"+subnetID, `{"subnet": {"allocation_pools": [{"start": "10.75.1.1", "end": "10.75.1.9"}]}}`); code != 400 {
		t.Fatalf("pool outside the subnet: %d %v", code, body)
	}
	if got := tg.mustCall(t, 200, "demo", "GET", "/v2.0/subnets/"+subnetID, "", "subnet")["allocation_pools"]; len(got.([]any)) != 1 || got.([]any)[0].(map[string]any)["start"] != "10.75.0.100" {
		t.Fatalf("allocation_pools after a refused update = %v", got)
	}
}

func testBindingAttributes(t *testing.T, tg *target) {
	netID, _ := tg.network(t, "demo", "", "10.76.0.0/24", "")
	create := func(extra string) (int, map[string]any) {
		return tg.call(t, "demo", "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q%s}}`, netID, extra))
	}
	// binding:host_id is the admin's (Nova binds); binding:vif_type is
	// the server's alone.
	if code, body := create(`, "binding:host_id": "hv1"`); code != 403 || errType(body) != "PolicyNotAuthorized" {
		t.Fatalf("member sets binding:host_id: %d %v", code, body)
	}
	code, body := create(`, "binding:vif_type": "ovs"`)
	if msg, _ := body["NeutronError"].(map[string]any)["message"].(string); code != 400 || !strings.Contains(msg, "binding:vif_type") {
		t.Fatalf("member sets binding:vif_type: %d %v", code, body)
	}
	if code, body := create(`, "binding:vnic_type": "bogus"`); code != 400 || !strings.Contains(fmt.Sprint(body), "bogus") {
		t.Fatalf("binding:vnic_type bogus: %d %v", code, body)
	}
	p := tg.port(t, "demo", netID, `, "binding:vnic_type": "normal"`)
	id := p["id"].(string)
	if vt := tg.mustCall(t, 200, "admin", "GET", "/v2.0/ports/"+id, "", "port")["binding:vnic_type"]; vt != "normal" {
		t.Fatalf("binding:vnic_type = %v", vt)
	}
	if code, body := tg.call(t, "demo", "PUT", "/v2.0/ports/"+id, `{"port": {"binding:host_id": "hv1"}}`); code != 403 {
		t.Fatalf("member updates binding:host_id: %d %v", code, body)
	}
	if code, body := tg.call(t, "admin", "PUT", "/v2.0/ports/"+id, `{"port": {"binding:vif_type": "ovs"}}`); code != 400 {
		t.Fatalf("admin updates binding:vif_type: %d %v", code, body)
	}
	// SR-IOV: Neutron takes the port (binding it would fail on a host
	// without such NICs); ovn-neutrond, whose ports are all OVS ports,
	// deliberately refuses it up front.
	code, body = create(`, "binding:vnic_type": "direct"`)
	if tg.neutron && code != 201 || !tg.neutron && (code != 400 || errType(body) != "InvalidInput") {
		t.Fatalf("binding:vnic_type direct on %s: %d %v", tg.name(), code, body)
	}
}
