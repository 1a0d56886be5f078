package ovn

import (
	"fmt"
	"maps"
	"net/netip"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// A port with extra DHCP options gets its own DHCP_Options row per IP
// version, as in ML2/OVN: the subnet's options updated with the port's,
// external_ids naming the subnet and the port, referenced by the port's
// dhcpv4_options/dhcpv6_options instead of the subnet's row.

// portDHCPRow is a port's own DHCP_Options row.
type portDHCPRow struct {
	uuid     string
	subnetID string
	options  map[string]string
}

// portDHCPFromRow recognises a port's own DHCP_Options row.
func portDHCPFromRow(d *nbdb.DHCPOptions) (portID string, version int, row *portDHCPRow, ok bool) {
	portID = d.ExternalIDs[keyDHCPPortID]
	cidr, err := netip.ParsePrefix(d.Cidr)
	if portID == "" || err != nil {
		return "", 0, nil, false
	}
	version = 6
	if cidr.Addr().Is4() {
		version = 4
	}
	return portID, version, &portDHCPRow{uuid: d.UUID, subnetID: d.ExternalIDs[keySubnetID], options: d.Options}, true
}

// putPortDHCP and delPortDHCP index port rows. Caller holds v.mu.
func (v *view) putPortDHCP(portID string, version int, row *portDHCPRow) {
	if v.portDHCP[portID] == nil {
		v.portDHCP[portID] = map[int]*portDHCPRow{}
	}
	v.portDHCP[portID][version] = row
	v.notify()
}

func (v *view) delPortDHCP(portID string, version int, uuid string) {
	if r := v.portDHCP[portID][version]; r != nil && r.uuid == uuid {
		delete(v.portDHCP[portID], version)
		if len(v.portDHCP[portID]) == 0 {
			delete(v.portDHCP, portID)
		}
	}
	v.notify()
}

// onDHCPEvent applies a monitor event of a port's own row; it reports
// false for other rows (subnets). Caller holds v.mu.
func (v *view) onPortDHCPEvent(old, cur *nbdb.DHCPOptions) bool {
	if cur != nil {
		id, version, row, ok := portDHCPFromRow(cur)
		if ok {
			v.putPortDHCP(id, version, row)
		}
		return ok
	}
	id, version, row, ok := portDHCPFromRow(old)
	if ok {
		v.delPortDHCP(id, version, row.uuid)
	}
	return ok
}

// portDHCPOps points lsp's DHCP options at the right rows and returns the
// operations that create, update or delete the port's own rows. have is
// what the port has now (nil for a new port); name prefixes the named
// UUIDs of rows to create. It reports which IP versions have a row.
func (s *Store) portDHCPOps(p *Port, lsp *nbdb.LogicalSwitchPort, res []reservation, have map[int]*portDHCPRow, name string) ([]ovsdb.Operation, map[int]bool, error) {
	var ops []ovsdb.Operation
	rows := map[int]bool{}
	for _, version := range []int{4, 6} {
		ref := &lsp.Dhcpv4Options
		if version == 6 {
			ref = &lsp.Dhcpv6Options
		}
		var sn *Subnet
		for _, r := range res {
			if r.subnet.EnableDHCP && r.subnet.IPVersion == version {
				sn = r.subnet
				break
			}
		}
		disabled, opts := portDHCPOpts(p, version)
		if disabled {
			*ref = nil
		}
		old := have[version]
		if disabled || sn == nil || len(opts) == 0 {
			if old != nil {
				del, err := s.nb.Where(&nbdb.DHCPOptions{UUID: old.uuid}).Delete()
				if err != nil {
					return nil, nil, err
				}
				ops = append(ops, del...)
			}
			continue
		}
		options := maps.Clone(sn.options)
		if options == nil {
			options = map[string]string{}
		}
		maps.Copy(options, opts)
		ext := map[string]string{keySubnetID: sn.ID, keyDHCPPortID: p.ID}
		rows[version] = true
		if old != nil && old.subnetID == sn.ID {
			row := &nbdb.DHCPOptions{UUID: old.uuid, Options: options, ExternalIDs: ext}
			upd, err := s.nb.Where(row).Update(row, &row.Options, &row.ExternalIDs)
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, upd...)
			u := old.uuid
			*ref = &u
			continue
		}
		if old != nil {
			del, err := s.nb.Where(&nbdb.DHCPOptions{UUID: old.uuid}).Delete()
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, del...)
		}
		u := fmt.Sprintf("%sv%d", name, version)
		row := &nbdb.DHCPOptions{UUID: u, Cidr: sn.CIDR.String(), Options: options, ExternalIDs: ext}
		create, err := s.nb.Create(row)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, create...)
		*ref = &u
	}
	return ops, rows, nil
}

// portDHCPHas reports whether the view holds exactly the port's own rows
// of the given IP versions. Caller holds v.mu.
func (v *view) portDHCPHas(portID string, rows map[int]bool) bool {
	if len(v.portDHCP[portID]) != len(rows) {
		return false
	}
	for version := range rows {
		if v.portDHCP[portID][version] == nil {
			return false
		}
	}
	return true
}

// subnetPortDHCPOps rewrites the own rows of the subnet's ports after the
// subnet's options changed to options. Caller holds the view's read lock.
func (s *Store) subnetPortDHCPOps(subnetID string, options map[string]string) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	for portID, rows := range s.view.portDHCP {
		p := s.view.ports[portID]
		for version, r := range rows {
			if r.subnetID != subnetID || p == nil {
				continue
			}
			_, opts := portDHCPOpts(p, version)
			merged := maps.Clone(options)
			maps.Copy(merged, opts)
			row := &nbdb.DHCPOptions{UUID: r.uuid, Options: merged}
			upd, err := s.nb.Where(row).Update(row, &row.Options)
			if err != nil {
				return nil, err
			}
			ops = append(ops, upd...)
		}
	}
	return ops, nil
}
