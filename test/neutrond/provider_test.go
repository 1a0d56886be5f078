package neutrond

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/provider"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// providerNetwork is a network as gophercloud reads it with the provider
// and external-net extensions.
type providerNetwork struct {
	networks.Network
	provider.NetworkProviderExt
	external.NetworkExternalExt
	MTU int `json:"mtu"`
}

func getProviderNetwork(t *testing.T, s *server, user, id string) providerNetwork {
	t.Helper()
	var n providerNetwork
	if err := networks.Get(context.Background(), login(t, s, user), id).ExtractInto(&n); err != nil {
		t.Fatalf("get network %s as %s: %v", id, user, err)
	}
	return n
}

// localnetOf returns the localnet port of a network's switch as
// "name type tag network_name".
func localnetOf(t *testing.T, nb, netID string) string {
	t.Helper()
	ports := nbctl(t, nb, "--bare", "--columns=ports", "list", "Logical_Switch", "neutron-"+netID)
	var out []string
	for _, u := range strings.Fields(ports) {
		row := nbctl(t, nb, "--bare", "--columns=name,type,tag,options", "list", "Logical_Switch_Port", u)
		if strings.Contains(row, "localnet") {
			out = append(out, strings.Join(strings.Fields(row), " "))
		}
	}
	return strings.Join(out, "; ")
}

func TestProviderNetworks(t *testing.T) {
	srv, nb := underTest(t, "--vlan-networks=physnet1", "--flat-networks=physnet1,physnet2")
	admin, demo := token(t, srv, "admin"), token(t, srv, "demo")

	// An admin's VLAN network: the provider attributes, a localnet port
	// as ML2/OVN writes it.
	code, body := call(t, srv, admin, "POST", "/v2.0/networks",
		`{"network": {"name": "public", "provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 140, "router:external": true}}`)
	if code != 201 {
		t.Fatalf("create VLAN network: %d %v", code, body)
	}
	vlanID := body["network"].(map[string]any)["id"].(string)
	n := getProviderNetwork(t, srv, "admin", vlanID)
	if n.NetworkType != "vlan" || n.PhysicalNetwork != "physnet1" || n.SegmentationID != "140" || !n.External || n.MTU != 1500 {
		t.Fatalf("VLAN network as admin sees it: %+v", n)
	}
	lsp := localnetOf(t, nb, vlanID)
	if !strings.HasPrefix(lsp, "provnet-") || !strings.Contains(lsp, " localnet 140 ") || !strings.Contains(lsp, "network_name=physnet1") {
		t.Fatalf("localnet port of the VLAN network: %q", lsp)
	}
	if nbctl(t, nb, "--bare", "--columns=external_ids", "find", "Logical_Switch_Port", "type=localnet") != "" {
		t.Fatalf("the localnet port carries Neutron external_ids (it is no Neutron port)")
	}

	// A member sees the external network, without provider attributes,
	// and cannot put a port on it.
	code, body = call(t, srv, demo, "GET", "/v2.0/networks/"+vlanID, "")
	if code != 200 {
		t.Fatalf("member GET external network: %d %v", code, body)
	}
	for _, k := range []string{"provider:network_type", "provider:physical_network", "provider:segmentation_id"} {
		if _, ok := body["network"].(map[string]any)[k]; ok {
			t.Errorf("a member sees %s: %v", k, body["network"])
		}
	}
	if body["network"].(map[string]any)["router:external"] != true {
		t.Errorf("router:external as a member sees it: %v", body["network"])
	}
	code, body = call(t, srv, demo, "GET", "/v2.0/networks?router:external=true", "")
	if code != 200 || len(body["networks"].([]any)) != 1 {
		t.Fatalf("member lists external networks: %d %v", code, body)
	}
	if code, body := call(t, srv, demo, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, vlanID)); code != 403 || body["NeutronError"].(map[string]any)["type"] != "HTTPForbidden" {
		t.Fatalf("member port on another project's external network: %d %v, want 403 HTTPForbidden", code, body)
	}

	// A tenant network is geneve with a VNI, and has no localnet port.
	tenant := getProviderNetwork(t, srv, "admin", createNet(t, srv, demo, `{"network": {"name": "t"}}`))
	if tenant.NetworkType != "geneve" || tenant.PhysicalNetwork != "" || tenant.SegmentationID == "" || tenant.MTU != 1442 {
		t.Fatalf("tenant network as admin sees it: %+v", tenant)
	}
	if got := localnetOf(t, nb, tenant.ID); got != "" {
		t.Fatalf("tenant network has a localnet port: %q", got)
	}

	// Filters on provider attributes (admin).
	code, body = call(t, srv, admin, "GET", "/v2.0/networks?provider:network_type=vlan&provider:segmentation_id=140", "")
	if code != 200 || len(body["networks"].([]any)) != 1 {
		t.Fatalf("filter on provider attributes: %d %v", code, body)
	}

	// Refusals: Neutron's policy (403) and type drivers (400, 409); none
	// leaves anything in NB.
	before := srv.nbState(t, nb)
	for _, tt := range []struct {
		name   string
		tok    string
		body   string
		status int
		typ    string
		msg    string
	}{
		{"member sets network_type", demo, `{"provider:network_type": "geneve"}`, 403, "PolicyNotAuthorized", "create_network:provider:network_type"},
		{"member sets segmentation_id", demo, `{"provider:segmentation_id": 7}`, 403, "PolicyNotAuthorized", "create_network:provider:segmentation_id"},
		{"member sets router:external", demo, `{"router:external": true}`, 403, "PolicyNotAuthorized", "create_network:router:external"},
		{"member sets shared", demo, `{"shared": true}`, 403, "PolicyNotAuthorized", "create_network:shared"},
		{"VLAN used twice", admin, `{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 140}`, 409, "VlanIdInUse", "The VLAN 140 on physical network physnet1 is in use."},
		{"VLAN without physical network", admin, `{"provider:network_type": "vlan", "provider:segmentation_id": 5}`, 400, "InvalidInput", "segmentation_id requires physical_network for VLAN provider network"},
		{"VLAN 0", admin, `{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 0}`, 400, "InvalidInput", "segmentation_id out of range (1 through 4094)"},
		{"VLAN 4095", admin, `{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 4095}`, 400, "InvalidInput", "segmentation_id out of range (1 through 4094)"},
		{"VLAN id not a number", admin, `{"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": "ten"}`, 400, "InvalidInput", "'ten' is not an integer"},
		{"VLAN on an unknown physical network", admin, `{"provider:network_type": "vlan", "provider:physical_network": "physnet2", "provider:segmentation_id": 5}`, 400, "InvalidInput", "physical_network 'physnet2' unknown for VLAN provider network"},
		{"flat without physical network", admin, `{"provider:network_type": "flat"}`, 400, "InvalidInput", "physical_network required for flat provider network"},
		{"flat with an id", admin, `{"provider:network_type": "flat", "provider:physical_network": "physnet1", "provider:segmentation_id": 3}`, 400, "InvalidInput", "segmentation_id prohibited for flat provider network"},
		{"geneve on a physical network", admin, `{"provider:network_type": "geneve", "provider:physical_network": "physnet1"}`, 400, "InvalidInput", "provider:physical_network specified for geneve network"},
		{"geneve VNI in use", admin, `{"provider:network_type": "geneve", "provider:segmentation_id": ` + tenant.SegmentationID + `}`, 409, "TunnelIdInUse", "The tunnel ID " + tenant.SegmentationID + " is in use."},
		{"unknown type", admin, `{"provider:network_type": "vxlan"}`, 400, "InvalidInput", "network_type value 'vxlan' not supported"},
		{"no type", admin, `{"provider:physical_network": "physnet1"}`, 400, "InvalidInput", "network_type required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.tok, "POST", "/v2.0/networks", `{"network": `+tt.body+`}`)
			ne, _ := body["NeutronError"].(map[string]any)
			if code != tt.status || ne["type"] != tt.typ || !strings.Contains(fmt.Sprint(ne["message"]), tt.msg) {
				t.Fatalf("%d %v, want %d %s %q", code, body, tt.status, tt.typ, tt.msg)
			}
		})
	}
	// Updates: a member may not touch provider attributes; an admin may
	// not change them.
	if code, body := call(t, srv, demo, "PUT", "/v2.0/networks/"+tenant.ID, `{"network": {"provider:segmentation_id": 9}}`); code != 403 {
		t.Fatalf("member updates segmentation_id: %d %v", code, body)
	}
	if code, body := call(t, srv, admin, "PUT", "/v2.0/networks/"+vlanID, `{"network": {"provider:physical_network": "physnet2"}}`); code != 400 {
		t.Fatalf("admin moves a VLAN network to another physical network: %d %v", code, body)
	}
	if after := srv.nbState(t, nb); after != before {
		t.Fatalf("refused requests changed NB:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// A flat network (the physical network a sandbox's clouds both
	// have); deleting it frees the physical network.
	code, body = call(t, srv, admin, "POST", "/v2.0/networks", `{"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}}`)
	if code != 201 {
		t.Fatalf("flat network: %d %v", code, body)
	}
	flatID := body["network"].(map[string]any)["id"].(string)
	flatLocalnet := localnetOf(t, nb, flatID)
	if !strings.Contains(flatLocalnet, " localnet mcast_flood") || !strings.Contains(flatLocalnet, "network_name=physnet1") {
		t.Fatalf("localnet port of the flat network (no tag): %q", flatLocalnet)
	}
	if code, body := call(t, srv, admin, "DELETE", "/v2.0/networks/"+flatID, ""); code != 204 {
		t.Fatalf("delete flat network: %d %v", code, body)
	}
	if got := nbctl(t, nb, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+strings.Fields(flatLocalnet)[0]); got != "" {
		t.Fatalf("localnet port left after its network was deleted: %q", got)
	}
	if code, body := call(t, srv, admin, "POST", "/v2.0/networks", `{"network": {"provider:network_type": "flat", "provider:physical_network": "physnet1"}}`); code != 201 {
		t.Fatalf("flat network again on the freed physical network: %d %v", code, body)
	}
}

func createNet(t *testing.T, s *server, tok, body string) string {
	t.Helper()
	code, out := call(t, s, tok, "POST", "/v2.0/networks", body)
	if code != 201 {
		t.Fatalf("create network %s: %d %v", body, code, out)
	}
	return out["network"].(map[string]any)["id"].(string)
}

// The openstack CLI's --provider-* and --external options.
func TestProviderNetworkCLI(t *testing.T) {
	if _, err := exec.LookPath("openstack"); err != nil {
		t.Skip("openstack CLI not installed (apt-get install python3-openstackclient)")
	}
	srv, nb := underTest(t)
	net := osc(t, srv, "admin", "network", "create", "physnet-vlan", "--provider-network-type", "vlan",
		"--provider-physical-network", "physnet1", "--provider-segment", "200", "--external", "-f", "json")
	for k, want := range map[string]string{"provider:network_type": "vlan", "provider:physical_network": "physnet1",
		"provider:segmentation_id": "200", "router:external": "true"} {
		if got := strings.ToLower(field(net, k)); got != want {
			t.Errorf("openstack network create: %s = %s, want %s (%v)", k, got, want, net)
		}
	}
	if got := localnetOf(t, nb, field(net, "id")); !strings.Contains(got, " localnet 200 ") || !strings.Contains(got, "network_name=physnet1") {
		t.Fatalf("localnet port: %q", got)
	}
	shown := osc(t, srv, "demo", "network", "show", field(net, "id"), "-f", "json")
	if got := field(shown, "provider:network_type"); got != "<nil>" && got != "" {
		t.Errorf("a member sees provider:network_type = %s", got)
	}
}
