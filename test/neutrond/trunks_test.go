package neutrond

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/trunk_details"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/trunks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// trunkCloud is a server with one network of demo's and helpers to make
// ports on it.
type trunkCloud struct {
	t    *testing.T
	nb   string
	srv  *server
	demo *gophercloud.ServiceClient
	net  string
}

func newTrunkCloud(t *testing.T) *trunkCloud {
	srv, nb := underTest(t)
	tc := &trunkCloud{t: t, nb: nb, srv: srv, demo: login(t, srv, "demo")}
	tc.net = tc.network(tc.demo, "10.20.0.0/24")
	return tc
}

func (tc *trunkCloud) network(nc *gophercloud.ServiceClient, cidr string) string {
	tc.t.Helper()
	ctx := context.Background()
	n, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "net-" + cidr}).Extract()
	if err != nil {
		tc.t.Fatal(err)
	}
	if _, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: n.ID, CIDR: cidr, IPVersion: gophercloud.IPv4}).Extract(); err != nil {
		tc.t.Fatal(err)
	}
	return n.ID
}

func (tc *trunkCloud) port(nc *gophercloud.ServiceClient, netID, name string) string {
	tc.t.Helper()
	p, err := ports.Create(context.Background(), nc, ports.CreateOpts{NetworkID: netID, Name: name}).Extract()
	if err != nil {
		tc.t.Fatal(err)
	}
	return p.ID
}

// lsp returns a column of a Logical_Switch_Port as ovn-nbctl prints it.
func (tc *trunkCloud) lsp(id, column string) string {
	tc.t.Helper()
	return nbctl(tc.t, tc.nb, "get", "Logical_Switch_Port", id, column)
}

type portWithTrunk struct {
	ports.Port
	trunk_details.TrunkDetailsExt
}

func TestTrunkLifecycle(t *testing.T) {
	tc := newTrunkCloud(t)
	ctx := context.Background()
	nc := tc.demo
	parent := tc.port(nc, tc.net, "vm")
	sub1 := tc.port(nc, tc.net, "c1")
	sub2 := tc.port(nc, tc.net, "c2")

	tr, err := trunks.Create(ctx, nc, trunks.CreateOpts{PortID: parent, Name: "t1", Description: "d",
		Subports: []trunks.Subport{{PortID: sub1, SegmentationType: "vlan", SegmentationID: 10}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if tr.Status != "ACTIVE" || !tr.AdminStateUp || tr.ProjectID != tc.srv.project("demo") || tr.TenantID != tc.srv.project("demo") || tr.PortID != parent || tr.Name != "t1" || tr.RevisionNumber != 1 {
		t.Fatalf("created trunk = %+v", tr)
	}
	if diff := cmp.Diff([]trunks.Subport{{PortID: sub1, SegmentationType: "vlan", SegmentationID: 10}}, tr.Subports); diff != "" {
		t.Fatalf("sub_ports (-want +got):\n%s", diff)
	}
	// NB: the subport is a child of the parent with the VLAN as tag.
	if got := tc.lsp(sub1, "parent_name"); got != `"`+parent+`"` {
		t.Fatalf("subport parent_name = %s", got)
	}
	if got := tc.lsp(sub1, tagColumn(tc.srv)); got != "10" {
		t.Fatalf("subport %s = %s", tagColumn(tc.srv), got)
	}
	// ML2/OVN's trunk driver changes the subport's device_owner in its
	// database only: the LSP's external_ids follow when ML2/OVN next
	// writes the port (its periodic maintenance, minutes later).
	// ovn-neutrond writes them with the subport.
	if got := tc.lsp(sub1, "external_ids:neutron\\:device_owner"); !tc.srv.neutron() && got != `"trunk:subport"` {
		t.Fatalf("subport device_owner in NB = %s", got)
	}
	sp, err := ports.Get(ctx, nc, sub1).Extract()
	if err != nil {
		t.Fatal(err)
	}
	// device_id stays empty: only the OVS agent's trunk driver writes the
	// trunk there, not ML2/OVN's.
	if sp.DeviceOwner != "trunk:subport" || sp.DeviceID != "" {
		t.Fatalf("subport device_owner/device_id = %q/%q, want trunk:subport and none", sp.DeviceOwner, sp.DeviceID)
	}

	// add_subports, get_subports, trunk_details.
	tr, err = trunks.AddSubports(ctx, nc, tr.ID, trunks.AddSubportsOpts{Subports: []trunks.Subport{{PortID: sub2, SegmentationType: "vlan", SegmentationID: 4094}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Subports) != 2 || tr.RevisionNumber != 2 {
		t.Fatalf("after add_subports: %+v", tr)
	}
	subs, err := trunks.GetSubports(ctx, nc, tr.ID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	want := []trunks.Subport{{PortID: sub1, SegmentationType: "vlan", SegmentationID: 10}, {PortID: sub2, SegmentationType: "vlan", SegmentationID: 4094}}
	if diff := cmp.Diff(want, subs); diff != "" {
		t.Fatalf("get_subports (-want +got):\n%s", diff)
	}
	var pp portWithTrunk
	if err := ports.Get(ctx, nc, parent).ExtractInto(&pp); err != nil {
		t.Fatal(err)
	}
	if pp.TrunkDetails.TrunkID != tr.ID || len(pp.TrunkDetails.SubPorts) != 2 || pp.TrunkDetails.SubPorts[1].MACAddress == "" {
		t.Fatalf("trunk_details = %+v", pp.TrunkDetails)
	}
	if got := tc.lsp(sub2, tagColumn(tc.srv)); got != "4094" {
		t.Fatalf("sub2 %s = %s", tagColumn(tc.srv), got)
	}

	// List with filters and fields, show, update.
	pages, err := trunks.List(nc, trunks.ListOpts{PortID: parent}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := trunks.ExtractTrunks(pages); err != nil || len(list) != 1 || list[0].ID != tr.ID {
		t.Fatalf("list by port_id = %v, %v", list, err)
	}
	pages, err = trunks.List(nc, trunks.ListOpts{Name: "nope"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := trunks.ExtractTrunks(pages); len(list) != 0 {
		t.Fatalf("list by other name = %v", list)
	}
	code, body := call(t, tc.srv, nc.TokenID, "GET", "/v2.0/trunks/"+tr.ID+"?fields=id&fields=port_id", "")
	if diff := cmp.Diff(map[string]any{"trunk": map[string]any{"id": tr.ID, "port_id": parent}}, body); code != 200 || diff != "" {
		t.Fatalf("show with fields: %d (-want +got):\n%s", code, diff)
	}
	// Neutron's add_subports answers with the trunk DOWN; its driver then
	// sets it ACTIVE, one revision more than the answer showed.
	// ovn-neutrond's trunk is ACTIVE throughout.
	prev := tr.RevisionNumber
	if tc.srv.neutron() {
		prev++
	}
	tr, err = trunks.Update(ctx, nc, tr.ID, trunks.UpdateOpts{Name: ptr("t2"), Description: ptr("")}).Extract()
	if err != nil || tr.Name != "t2" || tr.Description != "" || tr.RevisionNumber != prev+1 {
		t.Fatalf("update: %+v, %v, want revision %d", tr, err, prev+1)
	}

	// Ports in a trunk cannot be deleted.
	for _, id := range []string{parent, sub1} {
		if err := ports.Delete(ctx, nc, id).ExtractErr(); statusOf(err) != http.StatusConflict {
			t.Fatalf("delete port %s of a trunk: %v", id, err)
		}
	}

	// remove_subports clears the child's parent and tag.
	tr, err = trunks.RemoveSubports(ctx, nc, tr.ID, trunks.RemoveSubportsOpts{Subports: []trunks.RemoveSubport{{PortID: sub1}}}).Extract()
	if err != nil || len(tr.Subports) != 1 || tr.Subports[0].PortID != sub2 {
		t.Fatalf("remove_subports: %+v, %v", tr, err)
	}
	if got := tc.lsp(sub1, "parent_name") + tc.lsp(sub1, tagColumn(tc.srv)); got != "[][]" {
		t.Fatalf("removed subport keeps parent_name/%s: %s", tagColumn(tc.srv), got)
	}
	sp, err = ports.Get(ctx, nc, sub1).Extract()
	if err != nil || sp.DeviceOwner != "" || sp.DeviceID != "" {
		t.Fatalf("removed subport = %+v, %v", sp, err)
	}

	// Deleting the trunk releases the remaining subport.
	if err := trunks.Delete(ctx, nc, tr.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := tc.lsp(sub2, "parent_name"); got != "[]" {
		t.Fatalf("subport of a deleted trunk keeps parent_name %s", got)
	}
	if _, err := trunks.Get(ctx, nc, tr.ID).Extract(); statusOf(err) != http.StatusNotFound {
		t.Fatalf("get deleted trunk: %v", err)
	}
	var after portWithTrunk
	if err := ports.Get(ctx, nc, parent).ExtractInto(&after); err != nil || after.TrunkDetails.TrunkID != "" {
		t.Fatalf("trunk_details after delete = %+v, %v", after.TrunkDetails, err)
	}
	for _, id := range []string{sub1, sub2, parent} {
		if err := ports.Delete(ctx, nc, id).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{sub1, sub2, parent} {
		if got := nbctl(t, tc.nb, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+id); got != "" {
			t.Fatalf("port %s left in NB", got)
		}
	}
}

// neutronType returns the NeutronError type of a raw response.
func neutronType(body map[string]any) string {
	e, _ := body["NeutronError"].(map[string]any)
	return fmt.Sprint(e["type"])
}

func TestTrunkRefusals(t *testing.T) {
	tc := newTrunkCloud(t)
	ctx := context.Background()
	nc := tc.demo
	alt := login(t, tc.srv, "alt")
	altNet := tc.network(alt, "10.30.0.0/24")
	parent := tc.port(nc, tc.net, "vm")
	sub := tc.port(nc, tc.net, "c1")
	other := tc.port(nc, tc.net, "c2")
	altPort := tc.port(alt, altNet, "alt-vm")
	altSub := tc.port(alt, altNet, "alt-c")
	tok := nc.TokenID

	tr, err := trunks.Create(ctx, nc, trunks.CreateOpts{PortID: parent,
		Subports: []trunks.Subport{{PortID: sub, SegmentationType: "vlan", SegmentationID: 7}}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	altTrunk, err := trunks.Create(ctx, alt, trunks.CreateOpts{PortID: altPort}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	before := tc.srv.nbState(t, tc.nb)

	sub7 := func(port string, seg any, typ string) string {
		return fmt.Sprintf(`{"sub_ports": [{"port_id": %q, "segmentation_type": %q, "segmentation_id": %v}]}`, port, typ, seg)
	}
	tests := []struct {
		name, method, path, body string
		code                     int
		typ                      string
	}{
		{"trunk on another project's port", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "` + altPort + `"}}`, 404, "PortNotFound"},
		{"second trunk on a parent", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "` + parent + `"}}`, 409, "ParentPortInUse"},
		{"trunk on a subport", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "` + sub + `"}}`, 409, "TrunkPortInUse"},
		{"trunk without port_id", "POST", "/v2.0/trunks", `{"trunk": {"name": "x"}}`, 400, "HTTPBadRequest"},
		{"trunk on a bad uuid", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "nope"}}`, 400, "HTTPBadRequest"},
		{"name too long", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "` + other + `", "name": "` + strings.Repeat("n", 256) + `"}}`, 400, "HTTPBadRequest"},
		{"subport is the parent", "POST", "/v2.0/trunks", `{"trunk": {"port_id": "` + other + `", "sub_ports": [{"port_id": "` + other + `", "segmentation_type": "vlan", "segmentation_id": 3}]}}`, 409, "ParentPortInUse"},
		{"add to another project's trunk", "PUT", "/v2.0/trunks/" + altTrunk.ID + "/add_subports", sub7(other, 8, "vlan"), 404, "TrunkNotFound"},
		{"remove from another project's trunk", "PUT", "/v2.0/trunks/" + altTrunk.ID + "/remove_subports", `{"sub_ports": [{"port_id": "` + altSub + `"}]}`, 404, "TrunkNotFound"},
		{"show another project's trunk", "GET", "/v2.0/trunks/" + altTrunk.ID, "", 404, "TrunkNotFound"},
		{"update another project's trunk", "PUT", "/v2.0/trunks/" + altTrunk.ID, `{"trunk": {"name": "x"}}`, 404, "TrunkNotFound"},
		{"delete another project's trunk", "DELETE", "/v2.0/trunks/" + altTrunk.ID, "", 404, "TrunkNotFound"},
		{"subport of another project", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(altSub, 8, "vlan"), 404, "PortNotFound"},
		{"VLAN used on the trunk", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, 7, "vlan"), 409, "DuplicateSubPort"},
		{"port already a subport", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(sub, 9, "vlan"), 409, "TrunkPortInUse"},
		{"VLAN 0", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, 0, "vlan"), 400, "InvalidInput"},
		{"VLAN 4095", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, 4095, "vlan"), 400, "InvalidInput"},
		{"VLAN not an integer", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, `"x"`, "vlan"), 400, "InvalidInput"},
		{"segmentation type vxlan", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, 8, "vxlan"), 400, "InvalidInput"},
		{"segmentation type inherit", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", sub7(other, 8, "inherit"), 400, "InvalidInput"},
		{"segmentation missing", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports", `{"sub_ports": [{"port_id": "` + other + `"}]}`, 400, "InvalidInput"},
		{"duplicate VLAN in one request", "PUT", "/v2.0/trunks/" + tr.ID + "/add_subports",
			`{"sub_ports": [{"port_id": "` + other + `", "segmentation_type": "vlan", "segmentation_id": 5}, {"port_id": "` + parent + `", "segmentation_type": "vlan", "segmentation_id": 5}]}`, 400, "InvalidInput"},
		{"remove a port that is no subport", "PUT", "/v2.0/trunks/" + tr.ID + "/remove_subports", `{"sub_ports": [{"port_id": "` + other + `"}]}`, 404, "SubPortNotFound"},
		{"update port_id", "PUT", "/v2.0/trunks/" + tr.ID, `{"trunk": {"port_id": "` + other + `"}}`, 400, "HTTPBadRequest"},
		{"unknown trunk", "GET", "/v2.0/trunks/00000000-0000-0000-0000-000000000000", "", 404, "TrunkNotFound"},
		{"no token", "GET", "/v2.0/trunks", "", 401, ""},
	}
	for _, c := range tests {
		t.Run(c.name, func(t *testing.T) {
			token := tok
			if c.code == 401 {
				token = ""
			}
			code, body := call(t, tc.srv, token, c.method, c.path, c.body)
			if code != c.code || (c.typ != "" && neutronType(body) != c.typ) {
				t.Fatalf("%s %s = %d %v; want %d %s", c.method, c.path, code, body, c.code, c.typ)
			}
		})
	}
	if after := tc.srv.nbState(t, tc.nb); after != before {
		t.Fatalf("refused requests changed NB:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// alt sees only its own trunk.
	pages, err := trunks.List(alt, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := trunks.ExtractTrunks(pages); len(list) != 1 || list[0].ID != altTrunk.ID {
		t.Fatalf("alt's trunk list = %+v", list)
	}

	// A disabled trunk refuses changes until enabled again.
	if _, err := trunks.Update(ctx, nc, tr.ID, trunks.UpdateOpts{AdminStateUp: ptr(false)}).Extract(); err != nil {
		t.Fatal(err)
	}
	code, body := call(t, tc.srv, tok, "PUT", "/v2.0/trunks/"+tr.ID+"/add_subports", sub7(other, 8, "vlan"))
	if code != 409 || neutronType(body) != "TrunkDisabled" {
		t.Fatalf("add to disabled trunk = %d %v", code, body)
	}
	if err := trunks.Delete(ctx, nc, tr.ID).ExtractErr(); statusOf(err) != http.StatusConflict {
		t.Fatalf("delete disabled trunk: %v", err)
	}
}

// Two concurrent add_subports with the same VLAN on one trunk, through two
// servers on one NB: exactly one wins.
func TestTrunkConcurrentSameVLAN(t *testing.T) {
	ownOnly(t, "replicas racing on one NB")
	nb := ovsdbtest.StartNB(t)
	cl := newCloud(t)
	srvs := []*server{cl.start(t, nb), cl.start(t, nb)}
	tc := &trunkCloud{t: t, nb: nb, srv: srvs[0], demo: login(t, srvs[0], "demo")}
	tc.net = tc.network(tc.demo, "10.40.0.0/24")
	ctx := context.Background()
	parent := tc.port(tc.demo, tc.net, "vm")
	tr, err := trunks.Create(ctx, tc.demo, trunks.CreateOpts{PortID: parent}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 10; round++ {
		vlan := 100 + round
		var subs [4]string
		for i := range subs {
			subs[i] = tc.port(tc.demo, tc.net, fmt.Sprintf("c%d-%d", round, i))
		}
		codes := make([]int, len(subs))
		var wg sync.WaitGroup
		for i := range subs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = call(t, srvs[i%2], tc.demo.TokenID, "PUT", "/v2.0/trunks/"+tr.ID+"/add_subports",
					fmt.Sprintf(`{"sub_ports": [{"port_id": %q, "segmentation_type": "vlan", "segmentation_id": %d}]}`, subs[i], vlan))
			}()
		}
		wg.Wait()
		won := 0
		for _, c := range codes {
			switch c {
			case 200:
				won++
			case 409:
			default:
				t.Fatalf("round %d: codes %v", round, codes)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d requests got VLAN %d (codes %v)", round, won, vlan, codes)
		}
		out := nbctl(t, nb, "--bare", "--columns=name", "find", "Logical_Switch_Port", fmt.Sprintf("tag_request=%d", vlan))
		if n := len(strings.Fields(out)); n != 1 {
			t.Fatalf("round %d: %d LSPs with tag %d in NB: %s", round, n, vlan, out)
		}
	}
}

// python-openstackclient drives trunks unchanged: create with a subport,
// set --subport, unset --subport, show, delete.
func TestTrunkOpenstackCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Skip("openstack CLI not installed (apt-get install python3-openstackclient)")
	}
	srv, nb := underTest(t)
	trunkName := "trunk1-" + t.Name()
	netID := field(osc(t, srv, "demo", "network", "create", "LS1-"+t.Name(), "-f", "json"), "id")
	osc(t, srv, "demo", "subnet", "create", "--network", netID, "--subnet-range", "10.0.0.0/24", "sub1", "-f", "json")
	vmID := field(osc(t, srv, "demo", "port", "create", "--network", netID, "vm1", "-f", "json"), "id")
	c1ID := field(osc(t, srv, "demo", "port", "create", "--network", netID, "c1", "-f", "json"), "id")
	c2ID := field(osc(t, srv, "demo", "port", "create", "--network", netID, "c2", "-f", "json"), "id")

	tr := osc(t, srv, "demo", "network", "trunk", "create", "--parent-port", vmID,
		"--subport", "port="+c1ID+",segmentation-type=vlan,segmentation-id=10", trunkName, "-f", "json")
	trID := field(tr, "id")
	if field(tr, "status") != "ACTIVE" || field(tr, "port_id") != vmID {
		t.Fatalf("trunk create = %v", tr)
	}
	osc(t, srv, "demo", "network", "trunk", "set", "--subport", "port="+c2ID+",segmentation-type=vlan,segmentation-id=20", trID)
	for id, tag := range map[string]string{c1ID: "10", c2ID: "20"} {
		if got := nbctl(t, nb, "get", "Logical_Switch_Port", id, "parent_name"); got != `"`+vmID+`"` {
			t.Fatalf("parent_name of %s = %s", id, got)
		}
		if got := nbctl(t, nb, "get", "Logical_Switch_Port", id, tagColumn(srv)); got != tag {
			t.Fatalf("%s of %s = %s, want %s", tagColumn(srv), id, got, tag)
		}
	}
	subs := osc(t, srv, "demo", "network", "subport", "list", "--trunk", trID, "-f", "json").([]any)
	if len(subs) != 2 {
		t.Fatalf("subport list = %v", subs)
	}
	osc(t, srv, "demo", "network", "trunk", "unset", "--subport", c1ID, trID)
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c1ID, "parent_name"); got != "[]" {
		t.Fatalf("c1 parent_name after unset = %s", got)
	}
	show := osc(t, srv, "demo", "network", "trunk", "show", trID, "-f", "json").(map[string]any)
	if sp := show["sub_ports"].([]any); len(sp) != 1 || sp[0].(map[string]any)["port_id"] != c2ID {
		t.Fatalf("trunk show sub_ports = %v", show["sub_ports"])
	}
	named := 0
	for _, tr := range osc(t, srv, "demo", "network", "trunk", "list", "-f", "json").([]any) {
		if field(tr, "Name") == trunkName {
			named++
		}
	}
	if named != 1 {
		t.Fatalf("trunk list has %d trunks named %s, want 1", named, trunkName)
	}
	osc(t, srv, "demo", "network", "trunk", "delete", trID)
	if got := nbctl(t, nb, "get", "Logical_Switch_Port", c2ID, "parent_name"); got != "[]" {
		t.Fatalf("c2 parent_name after trunk delete = %s", got)
	}
	for _, id := range []string{c1ID, c2ID, vmID} {
		osc(t, srv, "demo", "port", "delete", id)
	}
}

// Port states as ML2/OVN reports them: a port is ACTIVE only when bound
// (binding:host_id, set by the admin) and its LSP is up; a subport
// follows its parent's binding; a binding:profile child stays DOWN and
// unbound even with its LSP up.
func TestTrunkPortStates(t *testing.T) {
	// It sets LSPs up by hand, which in a sandbox ovn-northd owns (the
	// e2e tests check the states of really bound ports there).
	ownOnly(t, "port states from an NB up column set by hand")
	tc := newTrunkCloud(t)
	ctx := context.Background()
	nc := tc.demo
	parent := tc.port(nc, tc.net, "vm")
	sub := tc.port(nc, tc.net, "c1")
	tok := nc.TokenID
	state := func(id string) string {
		_, body := call(t, tc.srv, tok, "GET", "/v2.0/ports/"+id+"?fields=status&fields=binding:vif_type", "")
		p := body["port"].(map[string]any)
		return fmt.Sprint(p["status"], " ", p["binding:vif_type"])
	}
	waitState := func(id, want string) {
		t.Helper()
		if err := waitFor(func() bool { return state(id) == want }); err != nil {
			t.Fatalf("port %s: state %q, want %q", id, state(id), want)
		}
	}
	child, err := ports.Create(ctx, nc, portsbindingCreate(tc.net, parent, 300)).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trunks.Create(ctx, nc, trunks.CreateOpts{PortID: parent,
		Subports: []trunks.Subport{{PortID: sub, SegmentationType: "vlan", SegmentationID: 10}}}).Extract(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{parent, sub, child.ID} {
		nbctl(t, tc.nb, "set", "Logical_Switch_Port", id, "up=true")
	}
	// Nothing is bound yet: all DOWN, though OVN says up... except the
	// subport, whose parent is up.
	waitState(parent, "DOWN unbound")
	waitState(child.ID, "DOWN unbound")
	waitState(sub, "ACTIVE ovs")
	nbctl(t, tc.nb, "set", "Logical_Switch_Port", parent, "up=false")
	waitState(sub, "DOWN unbound")
	// The admin binds the VM's port, as Nova would.
	code, body := call(t, tc.srv, token(t, tc.srv, "admin"), "PUT", "/v2.0/ports/"+parent, `{"port": {"binding:host_id": "hv1"}}`)
	if code != 200 {
		t.Fatalf("admin binds the parent: %d %v", code, body)
	}
	waitState(parent, "DOWN ovs")
	waitState(sub, "ACTIVE ovs")
	nbctl(t, tc.nb, "set", "Logical_Switch_Port", parent, "up=true")
	waitState(parent, "ACTIVE ovs")
	waitState(child.ID, "DOWN unbound")
}

func portsbindingCreate(netID, parent string, tag int) ports.CreateOptsBuilder {
	return portsbinding.CreateOptsExt{
		CreateOptsBuilder: ports.CreateOpts{NetworkID: netID, Name: "child"},
		Profile:           map[string]any{"parent_name": parent, "tag": tag},
	}
}

// tagColumn is where a child port's VLAN is in NB: ML2/OVN writes the tag
// itself (tag); ovn-neutrond asks northd for it (tag_request), which then
// fills tag on its own schedule.
func tagColumn(srv *server) string {
	if srv.neutron() {
		return "tag"
	}
	return "tag_request"
}
