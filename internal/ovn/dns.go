package ovn

import (
	"fmt"
	"maps"
	"net/netip"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Ports' dns_name (Neutron's dns-integration) in NB, as ML2/OVN writes
// it: one DNS row per network, external_ids ls_name = the switch's name,
// referenced from the switch's dns_records and created with the first
// port that needs records. A port needs records when it has a dns_name,
// a device_id and addresses (ML2/OVN's is_dns_required_for_port); its
// records map the name, the FQDN and each address's PTR name.

// keyDNSName keeps a port's dns_name (Neutron keeps it in its own
// database).
const keyDNSName = "neutron:dns_name"

// keyDNSLSName names the switch a DNS row belongs to (ML2/OVN's key).
const keyDNSLSName = "ls_name"

// DefaultDNSDomain is Neutron's default dns_domain; with it Neutron
// ignores ports' dns_name.
const DefaultDNSDomain = "openstacklocal."

// DNSAssignment is one entry of a port's dns_assignment.
type DNSAssignment struct {
	Hostname  string `json:"hostname"`
	IPAddress string `json:"ip_address"`
	FQDN      string `json:"fqdn"`
}

// NormalizeDNSDomain gives a configured dns_domain its trailing dot, as
// Neutron does ("" stays "": no domain).
func NormalizeDNSDomain(domain string) string {
	if domain == "" || strings.HasSuffix(domain, ".") {
		return domain
	}
	return domain + "."
}

// DNSNamesHonoured reports whether ports' dns_name takes effect under
// domain: Neutron ignores it with no domain or the default one.
func DNSNamesHonoured(domain string) bool {
	domain = NormalizeDNSDomain(domain)
	return domain != "" && domain != DefaultDNSDomain
}

// PortDNSAssignment is Neutron's _get_dns_names_for_port: per fixed IP,
// the dns_name (or host-<address with dashes>) and its FQDN in domain.
func PortDNSAssignment(p *Port, domain string) []DNSAssignment {
	domain = NormalizeDNSDomain(domain)
	name := p.DNSName
	if !DNSNamesHonoured(domain) {
		name = ""
	}
	out := make([]DNSAssignment, 0, len(p.FixedIPs))
	for _, ip := range p.FixedIPs {
		a := DNSAssignment{IPAddress: ip.IPAddress.String()}
		switch {
		case name != "":
			a.Hostname, a.FQDN = name, name
			if !strings.HasSuffix(name, ".") {
				a.FQDN = name + "." + domain
			}
		default:
			a.Hostname = "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(a.IPAddress)
			a.FQDN = a.Hostname
			if domain != "" {
				a.FQDN = a.Hostname + "." + domain
			}
		}
		out = append(out, a)
	}
	return out
}

// portDNSRecords is ML2/OVN's get_port_dns_records for a port that needs
// records (nil otherwise): hostname → its addresses, FQDN (no trailing
// dot) → its addresses, each address's reverse name → the FQDN.
func portDNSRecords(p *Port, domain string) map[string]string {
	if p == nil || p.DNSName == "" || p.DeviceID == "" || len(p.FixedIPs) == 0 || !DNSNamesHonoured(domain) {
		return nil
	}
	recs := map[string]string{}
	add := func(k, ip string) {
		if cur, ok := recs[k]; ok {
			recs[k] = cur + " " + ip
		} else {
			recs[k] = ip
		}
	}
	var fqdns []string
	for _, a := range PortDNSAssignment(p, domain) {
		fqdn := strings.TrimSuffix(a.FQDN, ".")
		add(a.Hostname, a.IPAddress)
		if fqdn != a.Hostname {
			add(fqdn, a.IPAddress)
		}
		fqdns = append(fqdns, fqdn)
	}
	for i, ip := range p.FixedIPs {
		recs[reverseDNS(ip.IPAddress)] = fqdns[i]
	}
	return recs
}

// reverseDNS is netaddr's reverse_dns without the trailing dot.
func reverseDNS(a netip.Addr) string {
	b := a.AsSlice()
	var parts []string
	if a.Is4() {
		for i := len(b) - 1; i >= 0; i-- {
			parts = append(parts, fmt.Sprint(b[i]))
		}
		return strings.Join(parts, ".") + ".in-addr.arpa"
	}
	for i := len(b) - 1; i >= 0; i-- {
		parts = append(parts, fmt.Sprintf("%x", b[i]&0xf), fmt.Sprintf("%x", b[i]>>4))
	}
	return strings.Join(parts, ".") + ".ip6.arpa"
}

// dnsRow is a network's DNS row as the view holds it.
type dnsRow struct {
	uuid    string
	records map[string]string
}

// dnsFromRow recognises a network's DNS row.
func dnsFromRow(d *nbdb.DNS) (networkID string, row *dnsRow, ok bool) {
	id, ok := strings.CutPrefix(d.ExternalIDs[keyDNSLSName], lsPrefix)
	if !ok || id == "" {
		return "", nil, false
	}
	return id, &dnsRow{uuid: d.UUID, records: d.Records}, true
}

// onDNSEvent applies a monitor event of a DNS row. Caller holds v.mu.
func (v *view) onDNSEvent(old, cur *nbdb.DNS) {
	if cur != nil {
		if id, row, ok := dnsFromRow(cur); ok {
			v.dns[id] = row
			v.notify()
		}
		return
	}
	if id, row, ok := dnsFromRow(old); ok {
		if r := v.dns[id]; r != nil && r.uuid == row.uuid {
			delete(v.dns, id)
		}
		v.notify()
	}
}

// dnsChange is what one transaction does to a network's DNS records.
type dnsChange struct {
	set map[string]string
	del map[string]bool
}

// change records that old's records go and cur's come (either may be
// nil), as ML2/OVN's add_txns_to_sync_port_dns_records and
// add_txns_to_remove_port_dns_records: an old key whose value changes or
// disappears is removed, the new keys are set.
func (c *dnsChange) change(old, cur map[string]string) {
	if c.set == nil {
		c.set, c.del = map[string]string{}, map[string]bool{}
	}
	for k, v := range old {
		if nv, ok := cur[k]; !ok || nv != v {
			c.del[k] = true
		}
	}
	for k, v := range cur {
		if old[k] != v {
			c.set[k] = v
			delete(c.del, k)
		}
	}
}

func (c *dnsChange) empty() bool { return len(c.set) == 0 && len(c.del) == 0 }

// dnsOps returns the operations that apply c to network n's DNS row:
// mutations of the existing row (key deletes and inserts are atomic, so
// concurrent writers of other names do not conflict), or, for a network
// without one, a new row referenced from the switch, guarded by the
// switch still having no dns_records (another process may be creating
// it). have is the row the view holds (nil: none). It reports whether it
// creates the row.
func (s *Store) dnsOps(n *Network, have *dnsRow, c dnsChange, name string) ([]ovsdb.Operation, bool, error) {
	if c.empty() {
		return nil, false, nil
	}
	if have == nil {
		if len(c.set) == 0 {
			return nil, false, nil
		}
		ls := &nbdb.LogicalSwitch{UUID: n.uuid, DNSRecords: []string{}}
		ops, err := s.nb.Where(ls).Wait(ovsdb.WaitConditionEqual, &timeout0, ls, &ls.DNSRecords)
		if err != nil {
			return nil, false, err
		}
		row := &nbdb.DNS{UUID: name, ExternalIDs: map[string]string{keyDNSLSName: lsPrefix + n.ID}, Records: maps.Clone(c.set)}
		create, err := s.nb.Create(row)
		if err != nil {
			return nil, false, err
		}
		ref, err := s.nb.Where(ls).Mutate(ls, mutation(&ls.DNSRecords, ovsdb.MutateOperationInsert, []string{name}))
		if err != nil {
			return nil, false, err
		}
		return append(append(ops, create...), ref...), true, nil
	}
	row := &nbdb.DNS{UUID: have.uuid}
	var muts []model.Mutation
	var keys []string
	for k := range c.del {
		keys = append(keys, k)
	}
	for k := range c.set {
		keys = append(keys, k)
	}
	muts = append(muts, mutation(&row.Records, ovsdb.MutateOperationDelete, keys))
	if len(c.set) > 0 {
		muts = append(muts, mutation(&row.Records, ovsdb.MutateOperationInsert, maps.Clone(c.set)))
	}
	ops, err := s.nb.Where(row).Mutate(row, muts...)
	return ops, false, err
}

// dnsHas reports whether the view has network id's DNS row when c
// creates one (other writers may change the same keys meanwhile, so the
// values are not compared). Caller holds v.mu.
func (v *view) dnsHas(id string, created bool) bool {
	return !created || v.dns[id] != nil
}
