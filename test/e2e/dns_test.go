package e2e

// End-to-end test of ports' dns_name (Neutron's dns-integration): the
// plugin names each container's port after the container, the cloud
// (ovn-neutrond, or Neutron's ML2/OVN) writes the network's DNS records
// to OVN, and OVN answers containers' DNS queries for them.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// dnsDomain is the sandbox clouds' dns_domain (sandbox/lib/common.sh).
const dnsDomain = "cloud.test"

func TestDNSNamesResolveOnNetwork(t *testing.T) {
	r := newPluginRig(t)
	ctx := t.Context()
	if ok, err := r.clouds["demo"].HasExtension(ctx, cloud.ExtDNSIntegration); err != nil || !ok {
		t.Fatalf("the sandbox's cloud does not list dns-integration (%v): both clouds are set up with it", err)
	}
	vm1, vm2 := r.s.VM(t, "vm1"), r.s.VM(t, "vm2")
	ls := r.createNetwork(t, "demo", "dns")
	suffix := r.s.uniqueName(t, "dns")[len(r.s.Name)+1:]
	nameA, nameB := "dns-a-"+suffix, "dns-b-"+suffix
	// Docker allows _ and . in names, a DNS label does not: the port's
	// dns_name is the name made a label.
	nameC, labelC := "Dns_C."+suffix, "dns-c-"+suffix
	// d takes a port of vm2's pool (filled once b runs): named once
	// taken, unnamed when back.
	nameD := "dns-d-" + suffix

	start := func(vm VM, name string) psRow {
		t.Helper()
		id := strings.TrimSpace(r.mustPlugin(t, vm, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls,
			"run", "-d", "--name", name, "busybox:local", "sleep", "3600"))
		r.rmAtEnd(t, vm, "demo", id)
		return rowOf(t, r.ps(t, vm, "demo"), id)
	}
	rowA := start(vm1, nameA)
	rowB := start(vm2, nameB)
	rowC := start(vm1, nameC)
	ipB, ipC := rowB.ip(t), rowC.ip(t)
	r.fillPool(t, vm2, ls, 1)
	poolPort := slices.DeleteFunc(r.neutronPorts(t, vm2, ls), func(id string) bool { return id == rowB.PortID })
	rowD := start(vm2, nameD)
	ipD := rowD.ip(t)
	if !slices.Contains(poolPort, rowD.PortID) {
		t.Errorf("%s did not take vm2's pool port (%v): %s", nameD, poolPort, rowD.PortID)
	}

	// The network's DNS row holds both names and FQDNs.
	recs := r.s.NBCtl(t, "--bare", "--columns=records", "find", "DNS", "external_ids:ls_name=neutron-"+rowB.NetworkID)
	for k, v := range map[string]string{nameB: ipB, nameB + "." + dnsDomain: ipB, labelC: ipC, nameD: ipD} {
		if !strings.Contains(recs, k+"="+v) && !strings.Contains(recs, fmt.Sprintf("%q=%q", k, v)) {
			t.Errorf("DNS records of network %s lack %s=%s:\n%s", rowB.NetworkID, k, v, recs)
		}
	}

	// From a, OVN answers for b (by name and by FQDN) and for c. The query
	// goes to b's address: OVN answers it at a's port, before it reaches
	// b (which runs no DNS server); a network without a router has no
	// other address a container can send to.
	lookup := func(name, want string) {
		t.Helper()
		var out string
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
			out, err = r.docker(ctx, vm1, "exec", rowA.Containers[0].ID, "nslookup", name, ipB)
			if err == nil && strings.Contains(afterServer(out), want) {
				return
			}
		}
		t.Errorf("nslookup %s in %s: want %s: %v\n%s", name, nameA, want, err, out)
	}
	lookup(nameB, ipB)
	lookup(nameB+"."+dnsDomain, ipB)
	lookup(labelC, ipC)
	lookup(nameD, ipD)
	if out, err := r.docker(ctx, vm1, "exec", rowA.Containers[0].ID, "ping", "-c", "1", "-W", "3", ipB); err != nil {
		t.Errorf("%s cannot ping %s at the address its name resolved to: %v\n%s", nameA, nameB, err, out)
	}

	// d's port goes back to vm2's pool without d's name.
	r.mustPlugin(t, vm2, "demo", "--cred=$TOKEN", "rm", rowD.Containers[0].ID)
	if recs := r.s.NBCtl(t, "--bare", "--columns=records", "find", "DNS", "external_ids:ls_name=neutron-"+rowB.NetworkID); strings.Contains(recs, nameD) {
		t.Errorf("%s's name outlives it on its pool port:\n%s", nameD, recs)
	}
	if got := slices.DeleteFunc(r.neutronPorts(t, vm2, ls), func(id string) bool { return id == rowB.PortID }); !slices.Equal(got, poolPort) {
		t.Errorf("after rm %s, vm2's pool ports are %v, want %v back", nameD, got, poolPort)
	}
}

// afterServer drops nslookup's "Server:/Address:" lines about the server
// asked (b's own address), leaving the answer.
func afterServer(out string) string {
	if _, rest, ok := strings.Cut(out, "Name:"); ok {
		return rest
	}
	return ""
}
