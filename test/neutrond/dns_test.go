package neutrond

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/dns"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// sandboxDNSDomain is the sandbox clouds' dns_domain
// (sandbox/lib/common.sh); a private ovn-neutrond is started with it.
const sandboxDNSDomain = "cloud.test."

type dnsPort struct {
	ports.Port
	dns.PortDNSExt
}

// dnsRecords reads the DNS row of a network: its records (key=value, as
// ovn-nbctl prints them, unquoted) and whether the switch references it.
func dnsRecords(t *testing.T, nb, netID string) (recs map[string]string, referenced bool) {
	t.Helper()
	out := strings.TrimSpace(nbctl(t, nb, "--bare", "--columns=_uuid,records", "find", "DNS", "external_ids:ls_name="+lsName(netID)))
	if out == "" {
		return nil, false
	}
	lines := strings.Split(out, "\n")
	recs = map[string]string{}
	if len(lines) > 1 {
		// records: space-separated key=value, values with spaces quoted
		rest := lines[1]
		for rest != "" {
			k, after, _ := strings.Cut(rest, "=")
			k = strings.Trim(k, `"`)
			var v string
			if strings.HasPrefix(after, `"`) {
				end := strings.Index(after[1:], `"`) + 1
				v, rest = after[1:end], strings.TrimSpace(after[end+1:])
			} else {
				v, rest, _ = strings.Cut(after, " ")
			}
			recs[k] = v
		}
	}
	refs := nbctl(t, nb, "--bare", "get", "Logical_Switch", lsName(netID), "dns_records")
	return recs, strings.Contains(refs, lines[0])
}

// reverseName is an IPv4 address's in-addr.arpa name, without the dot.
func reverseName(ip string) string {
	p := strings.Split(ip, ".")
	slices.Reverse(p)
	return strings.Join(p, ".") + ".in-addr.arpa"
}

// Ports' dns_name (dns-integration, with dns_domain cloud.test.): values
// lower-cased and validated as Neutron validates them, dns_assignment, and
// ML2/OVN's DNS row in NB following creates, updates and deletes.
func TestPortDNSName(t *testing.T) {
	srv, nb := underTest(t, "--dns-domain="+sandboxDNSDomain)
	nc := login(t, srv, "demo")
	ctx := context.Background()
	if _, err := extensions.Get(ctx, nc, "dns-integration").Extract(); err != nil {
		t.Fatalf("dns-integration on %s: %v", srv.cloud.name(), err)
	}
	net1, err := networks.Create(ctx, nc, networks.CreateOpts{Name: "dns-" + t.Name()}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := subnets.Create(ctx, nc, subnets.CreateOpts{NetworkID: net1.ID, CIDR: "10.11.0.0/24", IPVersion: gophercloud.IPv4}).Extract(); err != nil {
		t.Fatal(err)
	}
	create := func(name, dnsName, deviceID string) dnsPort {
		t.Helper()
		var p dnsPort
		err := ports.Create(ctx, nc, dns.PortCreateOptsExt{CreateOptsBuilder: ports.CreateOpts{NetworkID: net1.ID, Name: name, DeviceID: deviceID},
			DNSName: dnsName}).ExtractInto(&p)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// A name, lower-cased; its FQDN in the domain.
	web := create("web", "Web-1", "c-1")
	ip := web.FixedIPs[0].IPAddress
	if diff := cmp.Diff([]map[string]string{{"hostname": "web-1", "ip_address": ip, "fqdn": "web-1." + sandboxDNSDomain}}, web.DNSAssignment); web.DNSName != "web-1" || diff != "" {
		t.Fatalf("dns_name %q, dns_assignment (-want +got):\n%s", web.DNSName, diff)
	}
	// No name: host-<address>.
	plain := create("plain", "", "c-2")
	pip := plain.FixedIPs[0].IPAddress
	host := "host-" + strings.ReplaceAll(pip, ".", "-")
	if diff := cmp.Diff([]map[string]string{{"hostname": host, "ip_address": pip, "fqdn": host + "." + sandboxDNSDomain}}, plain.DNSAssignment); plain.DNSName != "" || diff != "" {
		t.Fatalf("dns_name %q, dns_assignment (-want +got):\n%s", plain.DNSName, diff)
	}
	// A name without a device_id: no records (ML2/OVN writes them only
	// for ports with both).
	create("idle", "idle", "")

	want := func(what string, recs map[string]string) {
		t.Helper()
		got, referenced := dnsRecords(t, nb, net1.ID)
		if diff := cmp.Diff(recs, got); diff != "" || !referenced {
			t.Fatalf("%s on %s: DNS records (-want +got):\n%s\nreferenced from the switch: %v", what, srv.cloud.name(), diff, referenced)
		}
	}
	want("after the creates", map[string]string{
		"web-1": ip, "web-1.cloud.test": ip, reverseName(ip): "web-1.cloud.test",
	})

	// Renamed: the old records go, the new come; the plain port named.
	var upd dnsPort
	if err := ports.Update(ctx, nc, web.ID, dns.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, DNSName: ptr("web-2")}).ExtractInto(&upd); err != nil || upd.DNSName != "web-2" {
		t.Fatalf("rename: %v %+v", err, upd)
	}
	if err := ports.Update(ctx, nc, plain.ID, dns.PortUpdateOptsExt{UpdateOptsBuilder: ports.UpdateOpts{}, DNSName: ptr("plain")}).Err; err != nil {
		t.Fatal(err)
	}
	want("after the updates", map[string]string{
		"web-2": ip, "web-2.cloud.test": ip, reverseName(ip): "web-2.cloud.test",
		"plain": pip, "plain.cloud.test": pip, reverseName(pip): "plain.cloud.test",
	})

	// Refused as Neutron's API layer refuses them, naming the value.
	for _, tc := range []struct{ value, msg string }{
		{`"my_app"`, "Invalid input for dns_name. Reason: 'my_app' not a valid PQDN or FQDN. Reason: Name 'my_app' must be 1-63 characters long, each of which can only be alphanumeric or a hyphen."},
		{`"-web"`, "Invalid input for dns_name. Reason: '-web' not a valid PQDN or FQDN. Reason: Name '-web' must not start or end with a hyphen."},
		{`"` + strings.Repeat("a", 64) + `"`, "must be 1-63 characters long"},
		{`"web.other.org."`, "The dns_name passed is a FQDN. Its higher level labels must be equal to the dns_domain option in neutron.conf"},
	} {
		code, body := call(t, srv, nc.TokenID, "PUT", "/v2.0/ports/"+web.ID, fmt.Sprintf(`{"port": {"dns_name": %s}}`, tc.value))
		e, _ := body["NeutronError"].(map[string]any)
		if msg, _ := e["message"].(string); code != http.StatusBadRequest || errType(body) != "HTTPBadRequest" || !strings.Contains(msg, tc.msg) {
			t.Errorf("dns_name %s on %s: %d %v, want 400 HTTPBadRequest %q", tc.value, srv.cloud.name(), code, body, tc.msg)
		}
	}

	// Deleted: its records go; the other port's stay.
	if err := ports.Delete(ctx, nc, web.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	want("after the delete", map[string]string{"plain": pip, "plain.cloud.test": pip, reverseName(pip): "plain.cloud.test"})

	// The network's delete deletes its DNS row.
	for _, p := range []string{plain.ID} {
		if err := ports.Delete(ctx, nc, p).ExtractErr(); err != nil {
			t.Fatal(err)
		}
	}
	all, err := ports.List(nc, ports.ListOpts{NetworkID: net1.ID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := ports.ExtractPorts(all)
	for _, p := range left {
		if err := ports.Delete(ctx, nc, p.ID).ExtractErr(); err != nil && !strings.HasPrefix(p.DeviceOwner, "network:") {
			t.Fatal(err)
		}
	}
	if err := networks.Delete(ctx, nc, net1.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if recs, referenced := dnsRecords(t, nb, net1.ID); recs != nil || referenced {
		t.Fatalf("after the network's delete on %s: DNS row %v", srv.cloud.name(), recs)
	}
}
