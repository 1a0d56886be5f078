package neutrond

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
)

func TestFloatingIPs(t *testing.T) {
	srv, nb := underTest(t, "--gateway-chassis=hv1")
	ctx := context.Background()
	demo := login(t, srv, "demo")
	admin, demoTok, altTok := token(t, srv, "admin"), token(t, srv, "demo"), token(t, srv, "alt")

	code, body := call(t, srv, admin, "POST", "/v2.0/networks", `{"network": {"name": "public", "router:external": true, "provider:network_type": "flat", "provider:physical_network": "physnet1"}}`)
	if code != 201 {
		t.Fatalf("external network: %d %v", code, body)
	}
	pub := body["network"].(map[string]any)["id"].(string)
	mkSubnet(t, srv, admin, pub, "172.24.4.0/24")
	net1 := createNet(t, srv, demoTok, `{"network": {"name": "ls1"}}`)
	sub1 := mkSubnet(t, srv, demoTok, net1, "10.1.0.0/24")
	r, err := routers.Create(ctx, demo, routers.CreateOpts{Name: "r", GatewayInfo: &routers.GatewayInfo{NetworkID: pub}}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := routers.AddInterface(ctx, demo, r.ID, routers.AddInterfaceOpts{SubnetID: sub1}).Extract(); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, srv, demoTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "name": "c1"}}`, net1))
	if code != 201 {
		t.Fatalf("port: %d %v", code, body)
	}
	port := body["port"].(map[string]any)["id"].(string)
	fixed := body["port"].(map[string]any)["fixed_ips"].([]any)[0].(map[string]any)["ip_address"].(string)

	// Create unassociated, then associate: a dnat_and_snat row on r.
	fip, err := floatingips.Create(ctx, demo, floatingips.CreateOpts{FloatingNetworkID: pub}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if fip.PortID != "" || fip.Status != "DOWN" || !strings.HasPrefix(fip.FloatingIP, "172.24.4.") {
		t.Fatalf("new floating IP = %+v", fip)
	}
	if got := nbctl(t, nb, "--bare", "--columns=_uuid", "find", "NAT", "type=dnat_and_snat"); got != "" {
		t.Fatalf("NAT row for an unassociated floating IP: %q", got)
	}
	fip, err = floatingips.Update(ctx, demo, fip.ID, floatingips.UpdateOpts{PortID: &port}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if fip.PortID != port || fip.FixedIP != fixed || fip.RouterID != r.ID {
		t.Fatalf("associated floating IP = %+v", fip)
	}
	// Real Neutron answers the update with the status it had (DOWN) and
	// makes it ACTIVE once OVN has the NAT row; ovn-neutrond answers
	// ACTIVE at once. Either way a client soon reads ACTIVE.
	for deadline := time.Now().Add(20 * time.Second); fip.Status != "ACTIVE"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("associated floating IP still %s after 20 s: %+v", fip.Status, fip)
		}
		if fip, err = floatingips.Get(ctx, demo, fip.ID).Extract(); err != nil {
			t.Fatal(err)
		}
	}
	nat := nbctl(t, nb, "--bare", "--columns=external_ip,logical_ip,logical_port,external_ids", "find", "NAT", "type=dnat_and_snat")
	for _, want := range []string{fip.FloatingIP, fixed, port, "neutron:fip_id=" + fip.ID, "neutron:router_name=neutron-" + r.ID} {
		if !strings.Contains(nat, want) {
			t.Fatalf("floating IP NAT row %q lacks %q", nat, want)
		}
	}
	if !strings.Contains(lrRow(t, nb, r.ID, "nat"), nbctl(t, nb, "--bare", "--columns=_uuid", "find", "NAT", "type=dnat_and_snat")) {
		t.Fatalf("the NAT row is not the router's")
	}

	// Refusals.
	code, body = call(t, srv, demoTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q, "fixed_ips": []}}`, net1))
	if code != 201 {
		t.Fatalf("port without fixed IP: %d %v", code, body)
	}
	noIP := body["port"].(map[string]any)["id"].(string)
	net2 := createNet(t, srv, demoTok, `{"network": {"name": "unrouted"}}`)
	mkSubnet(t, srv, demoTok, net2, "10.7.0.0/24")
	code, body = call(t, srv, demoTok, "POST", "/v2.0/ports", fmt.Sprintf(`{"port": {"network_id": %q}}`, net2))
	if code != 201 {
		t.Fatalf("unrouted port: %d %v", code, body)
	}
	unrouted := body["port"].(map[string]any)["id"].(string)
	before := srv.nbState(t, nb, "NAT")
	for _, tt := range []struct {
		name, tok, method, path, body string
		status                        int
		typ, msg                      string
	}{
		{"port without fixed IP", demoTok, "POST", "/v2.0/floatingips", fmt.Sprintf(`{"floatingip": {"floating_network_id": %q, "port_id": %q}}`, pub, noIP), 400, "BadRequest", "has no fixed IPv4 addresses"},
		{"port no router reaches", demoTok, "POST", "/v2.0/floatingips", fmt.Sprintf(`{"floatingip": {"floating_network_id": %q, "port_id": %q}}`, pub, unrouted), 404, "ExternalGatewayForFloatingIPNotFound", "is not reachable from subnet"},
		{"fixed IP already has one", demoTok, "POST", "/v2.0/floatingips", fmt.Sprintf(`{"floatingip": {"floating_network_id": %q, "port_id": %q}}`, pub, port), 409, "FloatingIPPortAlreadyAssociated", fixed},
		{"network not external", demoTok, "POST", "/v2.0/floatingips", fmt.Sprintf(`{"floatingip": {"floating_network_id": %q}}`, net1), 400, "BadRequest", "is not a valid external network"},
		{"member picks the address", demoTok, "POST", "/v2.0/floatingips", fmt.Sprintf(`{"floatingip": {"floating_network_id": %q, "floating_ip_address": "172.24.4.99"}}`, pub), 403, "PolicyNotAuthorized", "floating_ip_address"},
		{"another project's floating IP", altTok, "PUT", "/v2.0/floatingips/" + fip.ID, `{"floatingip": {"port_id": null}}`, 404, "FloatingIPNotFound", fip.ID},
		{"interface a floating IP needs", demoTok, "PUT", "/v2.0/routers/" + r.ID + "/remove_router_interface", fmt.Sprintf(`{"subnet_id": %q}`, sub1), 409, "RouterInterfaceInUseByFloatingIP", "required by one or more floating IPs"},
		{"delete the floating IP's port", demoTok, "DELETE", "/v2.0/ports/" + fip.ID, "", 404, "PortNotFound", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, srv, tt.tok, tt.method, tt.path, tt.body)
			ne, _ := body["NeutronError"].(map[string]any)
			if code != tt.status || ne["type"] != tt.typ || !strings.Contains(fmt.Sprint(ne["message"]), tt.msg) {
				t.Fatalf("%d %v, want %d %s %q", code, body, tt.status, tt.typ, tt.msg)
			}
		})
	}
	if after := srv.nbState(t, nb, "NAT"); after != before {
		t.Fatalf("refused requests changed NB:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Disassociate; deleting the associated port also drops the row.
	if _, err := floatingips.Update(ctx, demo, fip.ID, floatingips.UpdateOpts{PortID: new(string)}).Extract(); err != nil {
		t.Fatal(err)
	}
	if got := nbctl(t, nb, "--bare", "--columns=_uuid", "find", "NAT", "type=dnat_and_snat"); got != "" {
		t.Fatalf("NAT row left after disassociation: %q", got)
	}
	if _, err := floatingips.Update(ctx, demo, fip.ID, floatingips.UpdateOpts{PortID: &port}).Extract(); err != nil {
		t.Fatal(err)
	}
	if code, body := call(t, srv, demoTok, "DELETE", "/v2.0/ports/"+port, ""); code != 204 {
		t.Fatalf("delete associated port: %d %v", code, body)
	}
	if got := nbctl(t, nb, "--bare", "--columns=_uuid", "find", "NAT", "type=dnat_and_snat"); got != "" {
		t.Fatalf("NAT row left after its port was deleted: %q", got)
	}
	if err := floatingips.Delete(ctx, demo, fip.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	code, body = call(t, srv, admin, "GET", "/v2.0/ports?device_owner=network:floatingip", "")
	if code != 200 || len(body["ports"].([]any)) != 0 {
		t.Fatalf("floating IP port left: %v", body)
	}
}
