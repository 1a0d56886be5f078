package ovn

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func fixed(ips ...string) []FixedIP {
	var out []FixedIP
	for _, ip := range ips {
		out = append(out, FixedIP{SubnetID: "s", IPAddress: netip.MustParseAddr(ip)})
	}
	return out
}

func TestPortDNSAssignment(t *testing.T) {
	tests := []struct {
		name   string
		port   Port
		domain string
		want   []DNSAssignment
	}{
		{"default domain ignores dns_name", Port{DNSName: "web", FixedIPs: fixed("10.0.0.5")}, "openstacklocal",
			[]DNSAssignment{{"host-10-0-0-5", "10.0.0.5", "host-10-0-0-5.openstacklocal."}}},
		{"name in a domain", Port{DNSName: "web", FixedIPs: fixed("10.0.0.5", "fd00::5")}, "example.org",
			[]DNSAssignment{{"web", "10.0.0.5", "web.example.org."}, {"web", "fd00::5", "web.example.org."}}},
		{"no name", Port{FixedIPs: fixed("fd00::5")}, "example.org.",
			[]DNSAssignment{{"host-fd00--5", "fd00::5", "host-fd00--5.example.org."}}},
		{"fully qualified name", Port{DNSName: "web.example.org.", FixedIPs: fixed("10.0.0.5")}, "example.org.",
			[]DNSAssignment{{"web.example.org.", "10.0.0.5", "web.example.org."}}},
		{"no addresses", Port{DNSName: "web"}, "example.org.", []DNSAssignment{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, PortDNSAssignment(&tc.port, tc.domain)); diff != "" {
				t.Errorf("dns_assignment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPortDNSRecords(t *testing.T) {
	tests := []struct {
		name string
		port Port
		want map[string]string
	}{
		{"name, FQDN and PTRs", Port{DNSName: "web", DeviceID: "c1", FixedIPs: fixed("10.0.0.5", "fd00::5")}, map[string]string{
			"web": "10.0.0.5 fd00::5", "web.example.org": "10.0.0.5 fd00::5",
			"5.0.0.10.in-addr.arpa": "web.example.org",
			"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa": "web.example.org",
		}},
		{"no device_id: none, as ML2/OVN", Port{DNSName: "web", FixedIPs: fixed("10.0.0.5")}, nil},
		{"no dns_name: none", Port{DeviceID: "c1", FixedIPs: fixed("10.0.0.5")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, portDNSRecords(&tc.port, "example.org.")); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// dnsRows lists NB's DNS rows (from the cache) and which switches
// reference them (from NB: the store does not monitor dns_records).
func dnsRows(t *testing.T, s *Store, ep string) (rows []nbdb.DNS, refs map[string][]string) {
	t.Helper()
	// s's cache may not yet hold another store's last commits: a round
	// trip to NB first brings their updates in (see barrier).
	if err := s.barrier(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.nb.List(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ovn-nbctl", "--db="+ep, "--bare", "--columns=name,dns_records", "list", "Logical_Switch").CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	refs = map[string][]string{}
	for _, rec := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
		lines := strings.Split(rec, "\n")
		if len(lines) == 2 && lines[1] != "" {
			refs[lines[0]] = strings.Fields(lines[1])
		}
	}
	return rows, refs
}

func TestPortDNSRowsFollowPorts(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	s := openWith(t, Config{Endpoints: []string{ep}, DNSDomain: "example.org"})
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	n, _ := mkNet(t, s, "demo", "10.0.0.0/24")

	// A port without a name needs no records: no DNS row yet (ML2/OVN
	// creates it with the first port that has records).
	plain, err := s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo", DeviceID: ptr("c0")})
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := dnsRows(t, s, ep); len(rows) != 0 {
		t.Fatalf("DNS rows after a port without dns_name: %+v", rows)
	}
	a, err := s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo", DeviceID: ptr("c1"), DNSName: ptr("a")})
	if err != nil {
		t.Fatal(err)
	}
	ipA := a.FixedIPs[0].IPAddress.String()
	b, err := s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo", DeviceID: ptr("c2"), DNSName: ptr("b")})
	if err != nil {
		t.Fatal(err)
	}
	ipB := b.FixedIPs[0].IPAddress.String()
	want := func(recs map[string]string) {
		t.Helper()
		rows, refs := dnsRows(t, s, ep)
		if len(rows) != 1 {
			t.Fatalf("want one DNS row, got %+v", rows)
		}
		if diff := cmp.Diff(map[string]string{"ls_name": "neutron-" + n.ID}, rows[0].ExternalIDs); diff != "" {
			t.Errorf("external_ids (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string][]string{"neutron-" + n.ID: {rows[0].UUID}}, refs); diff != "" {
			t.Errorf("dns_records references (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(recs, rows[0].Records); diff != "" {
			t.Errorf("records (-want +got):\n%s", diff)
		}
	}
	ptrOf := func(ip string) string { return reverseDNS(netip.MustParseAddr(ip)) }
	want(map[string]string{
		"a": ipA, "a.example.org": ipA, ptrOf(ipA): "a.example.org",
		"b": ipB, "b.example.org": ipB, ptrOf(ipB): "b.example.org",
	})

	// Renaming replaces the port's records; the other port's stay.
	if _, err := s.UpdatePort(ctx, sc, a.ID, PortSpec{DNSName: ptr("a2")}); err != nil {
		t.Fatal(err)
	}
	want(map[string]string{
		"a2": ipA, "a2.example.org": ipA, ptrOf(ipA): "a2.example.org",
		"b": ipB, "b.example.org": ipB, ptrOf(ipB): "b.example.org",
	})
	// Naming the plain port adds its records in an update.
	if _, err := s.UpdatePort(ctx, sc, plain.ID, PortSpec{DNSName: ptr("p")}); err != nil {
		t.Fatal(err)
	}
	ipP := plain.FixedIPs[0].IPAddress.String()
	want(map[string]string{
		"a2": ipA, "a2.example.org": ipA, ptrOf(ipA): "a2.example.org",
		"b": ipB, "b.example.org": ipB, ptrOf(ipB): "b.example.org",
		"p": ipP, "p.example.org": ipP, ptrOf(ipP): "p.example.org",
	})
	// Clearing a name and deleting a port remove their records.
	if _, err := s.UpdatePort(ctx, sc, plain.ID, PortSpec{DNSName: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePort(ctx, sc, b.ID); err != nil {
		t.Fatal(err)
	}
	want(map[string]string{"a2": ipA, "a2.example.org": ipA, ptrOf(ipA): "a2.example.org"})

	// Deleting the network deletes its DNS row.
	for _, id := range []string{a.ID, plain.ID} {
		if err := s.DeletePort(ctx, sc, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, sn := range s.ListSubnets(context.Background(), sc) {
		if err := s.DeleteSubnet(ctx, sc, sn.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteNetwork(ctx, sc, n.ID); err != nil {
		t.Fatal(err)
	}
	if rows, refs := dnsRows(t, s, ep); len(rows) != 0 || len(refs) != 0 {
		t.Fatalf("after the network's delete: DNS rows %+v, references %v", rows, refs)
	}
}

// Two replicas name ports on one network at once, creates and renames
// mixed, starting with no DNS row: NB ends with one DNS row, referenced
// once, holding every port's records.
func TestPortDNSRowsUnderContention(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	var stores []*Store
	for range 2 {
		stores = append(stores, openWith(t, Config{Endpoints: []string{ep}, DNSDomain: "example.org."}))
	}
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	n, _ := mkNet(t, stores[0], "demo", "10.0.0.0/24")
	if err := stores[1].settle(ctx, func() bool { return len(stores[1].view.subnetsByNet[n.ID]) > 0 }); err != nil {
		t.Fatal(err)
	}
	const perStore = 12
	var mu sync.Mutex
	want := map[string]string{}
	var wg sync.WaitGroup
	for i, s := range stores {
		for j := range perStore {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprintf("c%d-%d", i, j)
				spec := PortSpec{NetworkID: n.ID, ProjectID: "demo", DeviceID: ptr("dev-" + name)}
				if j%2 == 0 { // named at create
					spec.DNSName = ptr(name)
				}
				p, err := s.CreatePort(ctx, sc, spec)
				if err != nil {
					t.Error(err)
					return
				}
				if j%2 == 1 { // named later, as a pool port is
					if _, err := s.UpdatePort(ctx, sc, p.ID, PortSpec{DNSName: ptr(name)}); err != nil {
						t.Error(err)
						return
					}
				}
				ip := p.FixedIPs[0].IPAddress.String()
				mu.Lock()
				want[name], want[name+".example.org"], want[reverseDNS(p.FixedIPs[0].IPAddress)] = ip, ip, name+".example.org"
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	rows, refs := dnsRows(t, stores[0], ep)
	if len(rows) != 1 {
		t.Fatalf("want one DNS row, got %d", len(rows))
	}
	if diff := cmp.Diff(map[string][]string{"neutron-" + n.ID: {rows[0].UUID}}, refs); diff != "" {
		t.Errorf("dns_records references (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, rows[0].Records); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}
