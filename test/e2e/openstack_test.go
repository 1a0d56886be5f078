package e2e

// The sandbox's OpenStack cloud itself (sandbox/sandbox up --cloud
// openstack): Debian's Keystone and Neutron with ML2/OVN, driving the
// sandbox's own OVN. These tests prove that cloud is real and wired to the
// sandbox's OVN, and document the stock policy that the plugin has to live
// with.

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// neutronAs is Neutron as user, found through the Keystone catalog as any
// client would.
func neutronAs(t *testing.T, s *Sandbox, user string) *gophercloud.ServiceClient {
	t.Helper()
	u := s.User(t, user)
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: s.AuthURL, Username: u.Name, Password: u.Password, DomainName: s.Domain,
		Scope: &gophercloud.AuthScope{ProjectName: u.Project, DomainName: s.Domain},
	})
	if err != nil {
		t.Fatalf("token of %s from %s: %v", user, s.AuthURL, err)
	}
	p.HTTPClient.Timeout = cmdTimeout
	c, err := openstack.NewNetworkV2(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("network endpoint in the catalog of %s: %v", user, err)
	}
	return c
}

// eventually polls f every 100 ms until it returns "" or d passes, and fails
// the test with f's last message.
func eventually(t *testing.T, d time.Duration, f func() string) {
	t.Helper()
	var msg string
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if msg = f(); msg == "" {
			return
		}
	}
	t.Fatalf("after %s: %s", d, msg)
}

// A tenant's network, subnet and port made through Neutron appear in the
// sandbox's NB as ML2/OVN writes them.
func TestOpenStackNeutronWritesNB(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudOpenStack, "checks Debian's Neutron (ML2/OVN) against the sandbox's OVN")
	ctx := t.Context()
	c := neutronAs(t, s, "demo")

	net, err := networks.Create(ctx, c, networks.CreateOpts{Name: s.uniqueName(t, "net")}).Extract()
	if err != nil {
		t.Fatalf("creating a network as demo: %v", err)
	}
	t.Cleanup(func() {
		if err := networks.Delete(context.Background(), c, net.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: deleting network %s: %v", net.ID, err)
		}
	})
	if _, err := subnets.Create(ctx, c, subnets.CreateOpts{NetworkID: net.ID, CIDR: "10.77.0.0/24", IPVersion: gophercloud.IPv4}).Extract(); err != nil {
		t.Fatalf("creating a subnet as demo: %v", err)
	}
	port, err := ports.Create(ctx, c, ports.CreateOpts{NetworkID: net.ID, Name: s.uniqueName(t, "port")}).Extract()
	if err != nil {
		t.Fatalf("creating a port as demo: %v", err)
	}
	t.Cleanup(func() { // the test deletes it itself unless it failed before
		if err := ports.Delete(context.Background(), c, port.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("cleanup: deleting port %s: %v", port.ID, err)
		}
	})
	if len(port.FixedIPs) != 1 {
		t.Fatalf("port %s has fixed IPs %v, want one", port.ID, port.FixedIPs)
	}

	ls := "neutron-" + net.ID
	eventually(t, 10*time.Second, func() string {
		out, err := run(ctx, nil, "ovn-nbctl", "--db="+s.NBDB, "--timeout=10", "--bare", "--columns=name", "find", "Logical_Switch", "name="+ls)
		if err != nil || strings.TrimSpace(out) != ls {
			return "no Logical_Switch " + ls + " in NB: " + strings.TrimSpace(out)
		}
		return ""
	})
	if got := s.NBCtl(t, "get", "Logical_Switch", ls, "external_ids:neutron\\:network_name"); strings.Trim(got, `"`) != net.Name {
		t.Errorf("Logical_Switch %s has neutron:network_name %s, want %s", ls, got, net.Name)
	}
	if got := s.NBCtl(t, "lsp-get-ls", port.ID); !strings.Contains(got, ls) {
		t.Errorf("Logical_Switch_Port %s is on %q, want %s", port.ID, got, ls)
	}
	want := []string{port.MACAddress + " " + port.FixedIPs[0].IPAddress}
	if diff := cmp.Diff(want, strings.Split(s.NBCtl(t, "--bare", "--columns=addresses", "list", "Logical_Switch_Port", port.ID), "\n")); diff != "" {
		t.Errorf("addresses of Logical_Switch_Port %s (-want +got):\n%s", port.ID, diff)
	}
	if got := s.NBCtl(t, "get", "Logical_Switch_Port", port.ID, "external_ids:neutron\\:project_id"); strings.Trim(got, `"`) != s.User(t, "demo").ProjectID {
		t.Errorf("Logical_Switch_Port %s has neutron:project_id %s, want demo's %s", port.ID, got, s.User(t, "demo").ProjectID)
	}

	if err := ports.Delete(ctx, c, port.ID).ExtractErr(); err != nil {
		t.Fatalf("deleting port %s: %v", port.ID, err)
	}
	eventually(t, 10*time.Second, func() string {
		out, _ := run(ctx, nil, "ovn-nbctl", "--db="+s.NBDB, "--timeout=10", "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+port.ID)
		if strings.TrimSpace(out) != "" {
			return "Logical_Switch_Port " + port.ID + " still in NB after the port was deleted"
		}
		return ""
	})
}

// The VMs' ports were bound to their hypervisor by an admin, as Nova does:
// Neutron reports them ACTIVE once ovn-controller claimed them, and the VMs
// reach each other.
func TestOpenStackVMPortsActiveAndReachable(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudOpenStack, "only real Neutron binds ports to a chassis")
	admin := neutronAs(t, s, "admin")
	for _, vm := range s.VMs {
		var p struct {
			ports.Port
			portsbinding.PortsBindingExt
		}
		if err := ports.Get(t.Context(), admin, vm.VIFID).ExtractInto(&p); err != nil {
			t.Fatalf("port of %s: %v", vm.Name, err)
		}
		got := []string{p.Status, p.HostID, p.DeviceOwner}
		if diff := cmp.Diff([]string{"ACTIVE", vm.Hypervisor, "compute:nova"}, got); diff != "" {
			t.Errorf("port %s of %s: status, binding:host_id, device_owner (-want +got):\n%s", vm.VIFID, vm.Name, diff)
		}
	}
	vm1, vm2 := s.VM(t, "vm1"), s.VM(t, "vm2")
	PingEventually(t, vm1.Netns, vm2.IP)
	PingEventually(t, vm2.Netns, vm1.IP)
}

// Stock Neutron's default policy lets only admins set binding:profile, on a
// new port or an existing one: a member cannot make a binding:profile child
// of its VM's port. That is why the plugin makes container ports trunk
// subports on such a cloud.
func TestOpenStackDefaultPolicyForbidsMemberBindingProfile(t *testing.T) {
	s := needSandbox(t)
	requireCloud(t, s, cloudOpenStack, "ovn-neutrond lets a tenant set binding:profile on children of its own VM ports")
	ctx := t.Context()
	demo := neutronAs(t, s, "demo")
	vm1 := s.VM(t, "vm1")
	profile := map[string]any{"parent_name": vm1.VIFID, "tag": 4000}

	p, err := ports.Create(ctx, demo, portsbinding.CreateOptsExt{
		CreateOptsBuilder: ports.CreateOpts{NetworkID: s.Network.ID, Name: s.uniqueName(t, "child")},
		Profile:           profile,
	}).Extract()
	if err == nil {
		t.Cleanup(func() { _ = ports.Delete(context.Background(), demo, p.ID).ExtractErr() })
	}
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Errorf("demo creating a port with binding:profile %v: got %v, want 403 Forbidden", profile, err)
	}

	_, err = ports.Update(ctx, demo, vm1.VIFID, portsbinding.UpdateOptsExt{
		UpdateOptsBuilder: ports.UpdateOpts{},
		Profile:           profile,
	}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		t.Errorf("demo setting binding:profile on its VM's port %s: got %v, want 403 Forbidden", vm1.VIFID, err)
	}
}
