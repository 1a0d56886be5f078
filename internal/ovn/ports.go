package ovn

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/nbdb"
)

// Profile is a validated binding:profile.
type Profile struct {
	// Raw is the object as the client sent it, returned verbatim on GET.
	Raw        json.RawMessage
	ParentName string // "" for a VM port
	Tag        int    // 1–4094 when ParentName is set
}

// IPRequest is one fixed_ips entry of a request: a subnet, an address,
// or both.
type IPRequest struct {
	SubnetID  string
	IPAddress netip.Addr
}

// PortSpec is what a client may set on a port. On update, nil pointers
// leave the attribute as is.
type PortSpec struct {
	Name        *string
	Description *string
	ProjectID   string // create only
	NetworkID   string // create only
	// MAC: on create "" generates one; on update "" leaves it, another
	// value changes it (only while the port is unbound).
	MAC         string
	FixedIPs    *[]IPRequest
	DeviceID    *string
	DeviceOwner *string
	// DNSName is dns_name, already validated and lower-cased.
	DNSName      *string
	HostID       *string
	AdminStateUp *bool
	PortSecurity *bool
	Profile      *Profile
	// AllowedAddressPairs replaces the port's pairs (MACs resolved).
	AllowedAddressPairs *[]AddressPair
	// ExtraDHCPOpts replaces the port's extra DHCP options.
	ExtraDHCPOpts *[]DHCPOpt
	// SecurityGroups replaces the port's groups; on create nil means the
	// project's default group when port security is on.
	SecurityGroups *[]string
	Tags           []string // create only
}

func (v *view) visiblePort(sc Scope, id string) (*Port, error) {
	p := v.ports[id]
	if p == nil || !sc.owns(p.ProjectID) {
		return nil, portNotFound(id)
	}
	return p, nil
}

// ListPorts returns the ports the caller may see. networkID, when set,
// narrows the scan to one network (index lookup).
func (s *Store) ListPorts(ctx context.Context, sc Scope, networkID string) []*Port {
	s.syncPorts(ctx, networkID)
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	src := s.view.ports
	if networkID != "" {
		src = s.view.portsByNet[networkID]
	}
	out := make([]*Port, 0, len(src))
	for _, p := range src {
		if sc.owns(p.ProjectID) {
			out = append(out, s.view.present(p))
		}
	}
	slices.SortFunc(out, func(a, b *Port) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })
	return out
}

// GetPort returns one port the caller may see.
func (s *Store) GetPort(ctx context.Context, sc Scope, id string) (*Port, error) {
	p, err := s.getPort(sc, id)
	if err != nil && s.catchUp(ctx, err) {
		p, err = s.getPort(sc, id)
	}
	return p, err
}

func (s *Store) getPort(sc Scope, id string) (*Port, error) {
	s.view.mu.RLock()
	defer s.view.mu.RUnlock()
	p, err := s.view.visiblePort(sc, id)
	if err != nil {
		return nil, err
	}
	return s.view.present(p), nil
}

// parentFor checks a requested parent and tag. A parent the caller may
// not see is reported exactly like one that does not exist. Caller holds
// the view's read lock.
func (v *view) parentFor(sc Scope, prof *Profile, self string) (*Port, error) {
	if prof == nil || prof.ParentName == "" {
		return nil, nil
	}
	parent, err := v.visiblePort(sc, prof.ParentName)
	if err != nil {
		return nil, err
	}
	if parent.ParentName != "" {
		return nil, newErr(ErrInvalid, "InvalidInput",
			"Invalid input for operation: binding:profile parent_name %s is itself a container port; nest only one level.", prof.ParentName)
	}
	if other, used := v.children[parent.ID][prof.Tag]; used && other != self {
		return nil, newErr(ErrConflict, "VlanTagInUse",
			"VLAN tag %d is already used by port %s on parent port %s.", prof.Tag, other, parent.ID)
	}
	return parent, nil
}

// reservation is an address taken from an allocator for a transaction in
// flight.
type reservation struct {
	subnet *Subnet
	addr   netip.Addr
}

// allocate picks addresses for a new port on n. Caller holds the view's
// write lock; on error nothing stays reserved.
func (v *view) allocate(n *Network, reqs *[]IPRequest, deviceOwner string) (res []reservation, err error) {
	defer func() {
		if err != nil {
			for _, r := range res {
				v.ipam[r.subnet.ID].alloc.Release(r.addr)
			}
			res = nil
		}
	}()
	var subnets []*Subnet
	for _, sn := range v.subnetsByNet[n.ID] {
		subnets = append(subnets, sn)
	}
	slices.SortFunc(subnets, func(a, b *Subnet) int { return cmpCreated(a.CreatedAt, b.CreatedAt, a.ID, b.ID) })

	if reqs == nil {
		if subnets, err = serviceSubnets(n.ID, subnets, deviceOwner); err != nil {
			return nil, err
		}
		// Neutron's default: one address of each IP version, from the
		// first subnet of that version that still has one.
		for _, version := range []int{4, 6} {
			var tried []string
			for _, sn := range subnets {
				if sn.IPVersion != version {
					continue
				}
				st := v.ipam[sn.ID]
				if st == nil || st.alloc == nil {
					continue
				}
				addr, err := st.alloc.Next()
				if err != nil {
					tried = append(tried, sn.ID)
					continue
				}
				res = append(res, reservation{sn, addr})
				tried = nil
				break
			}
			if len(tried) > 0 {
				return res, newErr(ErrConflict, "IpAddressGenerationFailure",
					"No more IP addresses available on network %s.", n.ID)
			}
		}
		return res, nil
	}

	for _, rq := range *reqs {
		var sn *Subnet
		switch {
		case rq.SubnetID != "":
			sn = v.subnets[rq.SubnetID]
			if sn == nil {
				return res, subnetNotFound(rq.SubnetID)
			}
			if sn.NetworkID != n.ID {
				return res, newErr(ErrInvalid, "InvalidInput",
					"Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", n.ID, rq.SubnetID)
			}
		default:
			for _, c := range subnets {
				if c.CIDR.Contains(rq.IPAddress) {
					sn = c
				}
			}
			if sn == nil {
				return res, newErr(ErrInvalid, "InvalidIpForNetwork",
					"IP address %s is not a valid IP for any of the subnets on the specified network.", rq.IPAddress)
			}
		}
		st := v.ipam[sn.ID]
		if st == nil || st.alloc == nil {
			return res, newErr(ErrConflict, "IpAddressGenerationFailure", "Subnet %s has no usable allocation state.", sn.ID)
		}
		if !rq.IPAddress.IsValid() {
			addr, err := st.alloc.Next()
			if err != nil {
				return res, newErr(ErrConflict, "IpAddressGenerationFailure",
					"No more IP addresses available for subnet %s.", sn.ID)
			}
			res = append(res, reservation{sn, addr})
			continue
		}
		addr := rq.IPAddress
		if !sn.CIDR.Contains(addr) {
			return res, newErr(ErrInvalid, "InvalidIpForSubnet",
				"IP address %s is not a valid IP for the specified subnet %s (%s).", addr, sn.ID, sn.CIDR)
		}
		// The gateway address is for the router interface of the subnet.
		if owner, used := st.owners[addr]; used || (addr == sn.Gateway && deviceOwner != OwnerRouterInterface) {
			if !used {
				owner = "the gateway"
			}
			return res, newErr(ErrConflict, "IpAddressAlreadyAllocated",
				"IP address %s already allocated in subnet %s (by %s).", addr, sn.ID, owner)
		}
		if err := st.alloc.Reserve(addr); err != nil {
			if errors.Is(err, ipam.ErrInUse) {
				return res, newErr(ErrConflict, "IpAddressAlreadyAllocated",
					"IP address %s already allocated in subnet %s.", addr, sn.ID)
			}
			if rq.SubnetID == "" { // as Neutron: no subnet of the network has it usable
				return res, newErr(ErrInvalid, "InvalidIpForNetwork",
					"IP address %s is not a valid IP for any of the subnets on the specified network (it is subnet %s's network or broadcast address).", addr, sn.ID)
			}
			return res, newErr(ErrInvalid, "InvalidIpForSubnet",
				"IP address %s is not a valid IP for the specified subnet %s (%s): it is the network or broadcast address.", addr, sn.ID, sn.CIDR)
		}
		res = append(res, reservation{sn, addr})
	}
	return res, nil
}

// pickMAC validates a requested MAC or generates a free one. Caller holds
// the view's read lock.
func (s *Store) pickMAC(networkID, requested string) (string, error) {
	used := s.view.macs[networkID]
	if requested != "" {
		hw, err := ipam.ParseMAC(requested)
		if err != nil {
			// Neutron's API layer refuses it (its validator), hence webob's type.
			return "", newErr(ErrInvalid, "HTTPBadRequest",
				"Invalid input for mac_address. Reason: '%s' is not a valid MAC address (want six octets like fa:16:3e:12:34:56).", requested)
		}
		mac := hw.String()
		if _, taken := used[mac]; taken {
			return "", newErr(ErrConflict, "MacAddressInUse",
				"Unable to complete operation for network %s. The mac address %s is in use.", networkID, mac)
		}
		return mac, nil
	}
	for {
		mac := s.macs.Next().String()
		if _, taken := used[mac]; !taken {
			return mac, nil
		}
	}
}

// lspRow renders a port as its Logical_Switch_Port. res carries the
// subnets of the fixed IPs (for cidrs and DHCP options).
func (s *Store) lspRow(p *Port, res []reservation, created, updated string) *nbdb.LogicalSwitchPort {
	var ips []string
	var cidrs []string
	var v4, v6 *string
	for _, r := range res {
		ips = append(ips, r.addr.String())
		cidrs = append(cidrs, netip.PrefixFrom(r.addr, r.subnet.CIDR.Bits()).String())
		if r.subnet.EnableDHCP {
			u := r.subnet.uuid
			if r.subnet.IPVersion == 4 && v4 == nil {
				v4 = &u
			} else if r.subnet.IPVersion == 6 && v6 == nil {
				v6 = &u
			}
		}
	}
	fixed, _ := json.Marshal(p.FixedIPs)
	if p.FixedIPs == nil {
		fixed = []byte("[]")
	}
	ext := map[string]string{
		keyPortName:           p.Name,
		keyDescription:        p.Description,
		keyProjectID:          p.ProjectID,
		keyNetworkName:        lsPrefix + p.NetworkID,
		keyDeviceID:           p.DeviceID,
		keyDeviceOwner:        p.DeviceOwner,
		keyCIDRs:              strings.Join(cidrs, " "),
		keyFixedIPs:           string(fixed),
		keyMAC:                p.MAC,
		keyPortSecurity:       strconv.FormatBool(p.PortSecurity),
		keyRevision:           strconv.FormatInt(p.Revision, 10),
		keyCreatedAt:          created,
		keyUpdatedAt:          updated,
		keyChildrenGeneration: "0",
	}
	if len(p.Profile) > 0 {
		ext[keyBindingProfile] = string(p.Profile)
	}
	if p.HostID != "" {
		ext[keyHostID] = p.HostID
	}
	if p.DNSName != "" {
		ext[keyDNSName] = p.DNSName
	}
	putTrunkExt(ext, p.Trunk)
	if p.SubportOf != "" {
		ext[keySubportOf] = p.SubportOf
	}
	if len(p.AllowedAddressPairs) > 0 {
		ext[keyAllowedAddressPairs] = jsonString(p.AllowedAddressPairs)
	}
	if len(p.ExtraDHCPOpts) > 0 {
		ext[keyExtraDHCPOpts] = jsonString(p.ExtraDHCPOpts)
	}
	if len(p.Tags) > 0 {
		ext[keyTags] = jsonString(p.Tags)
	}
	if len(p.SecurityGroups) > 0 {
		ext[keyPortSecurityGroups] = strings.Join(p.SecurityGroups, " ")
	}
	enabled := p.AdminStateUp
	addresses, portSecurity := lspAddresses(p, ips)
	lsp := &nbdb.LogicalSwitchPort{
		Name:          p.ID,
		Addresses:     addresses,
		PortSecurity:  portSecurity,
		Enabled:       &enabled,
		ExternalIDs:   ext,
		Dhcpv4Options: v4,
		Dhcpv6Options: v6,
	}
	// A router's port is the switch side of its Logical_Router_Port, as
	// ML2/OVN writes it.
	if (p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway) && p.DeviceID != "" {
		lsp.Type = "router"
		lsp.Addresses = []string{"router"}
		lsp.PortSecurity = nil
		lsp.Options = map[string]string{"router-port": lrpPrefix + p.ID}
		if p.DeviceOwner == OwnerRouterGateway {
			lsp.Options["nat-addresses"] = "router"
		}
	}
	// A distributed port (the metadata agent's, the VM proxy's) is bound
	// on every chassis at once and reaches only that chassis's ports, as
	// ML2/OVN writes it.
	if p.DeviceOwner == OwnerDistributed {
		lsp.Type = "localport"
	}
	if p.ParentName != "" {
		parent, tag := p.ParentName, p.Tag
		lsp.ParentName = &parent
		// tag_request is what a CMS sets (ovn-northd copies it to tag);
		// tag is set too so the row is complete without northd running.
		lsp.TagRequest = &tag
		tag2 := tag
		lsp.Tag = &tag2
	}
	return lsp
}

// bumpChildren guards a parent port's external_ids and bumps
// neutron:children_generation, so that two processes cannot give the
// same tag to two children, and a parent cannot be deleted while a
// child is being added.
func (s *Store) bumpChildren(parent *Port) ([]ovsdb.Operation, map[string]string, error) {
	ops, err := s.guard(nbdb.LogicalSwitchPortTable, parent.uuid, parent.ext)
	if err != nil {
		return nil, nil, err
	}
	ext := copyMap(parent.ext)
	gen, _ := strconv.ParseUint(ext[keyChildrenGeneration], 10, 64)
	ext[keyChildrenGeneration] = strconv.FormatUint(gen+1, 10)
	lsp := &nbdb.LogicalSwitchPort{UUID: parent.uuid, ExternalIDs: ext}
	upd, err := s.nb.Where(lsp).Update(lsp, &lsp.ExternalIDs)
	if err != nil {
		return nil, nil, err
	}
	return append(ops, upd...), ext, nil
}

// portHas reports whether the view shows port id with the given
// children generation.
func (v *view) portHas(id string, ext map[string]string) bool {
	p := v.ports[id]
	return p != nil && genAtLeast(p.ext[keyChildrenGeneration], ext[keyChildrenGeneration])
}

// UpdatePort changes the mutable attributes of a port the caller owns
// (fixed_ips cannot change; the HTTP layer refuses that).
func (s *Store) UpdatePort(ctx context.Context, sc Scope, id string, spec PortSpec) (*Port, error) {
	p, err := s.GetPort(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if spec.SecurityGroups != nil {
		if err := s.checkGroups(ctx, sc, *spec.SecurityGroups, deref(spec.PortSecurity, p.PortSecurity)); err != nil {
			return nil, err
		}
	}
	defer s.lockNetwork(p.NetworkID)()
	var out *Port
	err = s.retry(ctx, "update port "+id, func() error {
		v := s.view
		v.mu.RLock()
		p, err := v.visiblePort(sc, id)
		if err != nil {
			v.mu.RUnlock()
			return err
		}
		if err := checkRevision(ctx, p.Revision); err != nil {
			v.mu.RUnlock()
			return err
		}
		var parent *Port
		if spec.Profile != nil && (spec.Profile.ParentName != p.ParentName || spec.Profile.Tag != p.Tag) {
			if err := trunkKeepsProfile(p, spec.Profile); err != nil {
				v.mu.RUnlock()
				return err
			}
			if spec.Profile.ParentName == id {
				v.mu.RUnlock()
				return newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: a port cannot be its own parent_name.")
			}
			if len(v.children[id]) > 0 && spec.Profile.ParentName != "" {
				v.mu.RUnlock()
				return newErr(ErrConflict, "PortInUse", "Port %s has container ports; it cannot become one itself.", id)
			}
			parent, err = v.parentFor(sc, spec.Profile, id)
			if err != nil {
				v.mu.RUnlock()
				return err
			}
		}
		res := v.heldAddrs(p)
		n := v.networks[p.NetworkID]
		var mac string
		if spec.MAC != "" && spec.MAC != p.MAC {
			mac, err = s.newMAC(p, spec.MAC)
		}
		haveDHCP := maps.Clone(v.portDHCP[id])
		haveDNS := v.dns[p.NetworkID]
		v.mu.RUnlock()
		if err != nil {
			return err
		}
		// New fixed_ips: the new addresses are claimed now, and the old
		// ones freed only once NB has the port without them, so the
		// port never holds an address another port may also get.
		var claimed []reservation
		if spec.FixedIPs != nil {
			if n == nil {
				return networkNotFound(p.NetworkID)
			}
			if res, claimed, err = s.reallocate(p, n, *spec.FixedIPs, deref(spec.DeviceOwner, p.DeviceOwner)); err != nil {
				return err
			}
			defer func() {
				// Claims a failed attempt made go back (a retry claims anew).
				if out == nil {
					for _, r := range claimed {
						v.release(r.subnet.ID, r.addr)
					}
				}
			}()
		}

		np := *p
		if spec.Name != nil {
			np.Name = *spec.Name
		}
		if spec.Description != nil {
			np.Description = *spec.Description
		}
		if spec.DeviceID != nil {
			np.DeviceID = *spec.DeviceID
		}
		if spec.DeviceOwner != nil {
			np.DeviceOwner = *spec.DeviceOwner
		}
		if spec.HostID != nil {
			np.HostID = *spec.HostID
		}
		if spec.DNSName != nil {
			np.DNSName = *spec.DNSName
		}
		if spec.AdminStateUp != nil {
			np.AdminStateUp = *spec.AdminStateUp
		}
		if spec.PortSecurity != nil {
			np.PortSecurity = *spec.PortSecurity
		}
		if spec.Profile != nil {
			np.Profile, np.ParentName, np.Tag = spec.Profile.Raw, spec.Profile.ParentName, spec.Profile.Tag
		}
		if mac != "" {
			np.MAC = mac
		}
		if spec.FixedIPs != nil {
			np.FixedIPs = nil
			for _, r := range res {
				np.FixedIPs = append(np.FixedIPs, FixedIP{SubnetID: r.subnet.ID, IPAddress: r.addr})
			}
		}
		if spec.AllowedAddressPairs != nil {
			np.AllowedAddressPairs = resolvePairs(*spec.AllowedAddressPairs, np.MAC)
		}
		if spec.ExtraDHCPOpts != nil {
			np.ExtraDHCPOpts = mergeDHCPOpts(p.ExtraDHCPOpts, *spec.ExtraDHCPOpts)
		}
		if err := checkPairs(&np); err != nil {
			return err
		}
		if spec.SecurityGroups != nil {
			np.SecurityGroups = *spec.SecurityGroups
		}
		if !np.PortSecurity && len(np.SecurityGroups) > 0 {
			return newErr(ErrConflict, "PortSecurityPortHasSecurityGroup",
				"Port has security group associated. Cannot disable port security or ip address until security group is removed")
		}
		np.Revision = p.Revision + 1

		ops, err := s.guard(nbdb.LogicalSwitchPortTable, p.uuid, p.ext)
		if err != nil {
			return err
		}
		var parentExt map[string]string
		if parent != nil {
			more, ext, err := s.bumpChildren(parent)
			if err != nil {
				return err
			}
			ops, parentExt = append(ops, more...), ext
		}
		row := s.replacementRow(p, &np, res, fmtTime(time.Now()))
		// A new MAC is an allocation on the network: the switch's guard
		// and generation keep two processes from giving out one MAC.
		var lsExt map[string]string
		if (mac != "" || len(claimed) > 0) && n != nil {
			more, ext, err := s.bumpIPAM(n)
			if err != nil {
				return err
			}
			ops, lsExt = append(ops, more...), ext
			row.ExternalIDs[keyIPAMGeneration] = ext[keyIPAMGeneration]
			row.ExternalIDs[keyIPAMBatch] = "1"
		}
		dhcpOps, dhcpRows, err := s.portDHCPOps(&np, row, res, haveDHCP, "pdhcp")
		if err != nil {
			return err
		}
		ops = append(ops, dhcpOps...)
		groupOps, err := s.groupChangeOps(p, &np)
		if err != nil {
			return err
		}
		ops = append(ops, groupOps...)
		var dc dnsChange
		dc.change(portDNSRecords(p, s.cfg.DNSDomain), portDNSRecords(&np, s.cfg.DNSDomain))
		var dnsCreated bool
		if n != nil {
			var dnsOps []ovsdb.Operation
			if dnsOps, dnsCreated, err = s.dnsOps(n, haveDNS, dc, "dns"); err != nil {
				return err
			}
			ops = append(ops, dnsOps...)
		}
		upd, err := s.updateRow(row, &row.Dhcpv4Options, &row.Dhcpv6Options)
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, upd...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool {
			q := v.ports[id]
			if q == nil || q.Revision < np.Revision || !v.portDHCPHas(id, dhcpRows) {
				return false
			}
			out = v.present(q)
			return (parent == nil || v.portHas(parent.ID, parentExt)) && (lsExt == nil || v.networkHas(n.ID, lsExt)) &&
				v.dnsHas(p.NetworkID, dnsCreated)
		})
	})
	return out, err
}

// rewritePort returns the operations that replace port p's row with np,
// guarded by p's external_ids (generation keys are kept). res holds np's
// addresses with their subnets.
func (s *Store) rewritePort(p, np *Port, res []reservation, updated string) ([]ovsdb.Operation, error) {
	ops, err := s.guard(nbdb.LogicalSwitchPortTable, p.uuid, p.ext)
	if err != nil {
		return nil, err
	}
	upd, err := s.updateRow(s.replacementRow(p, np, res, updated))
	if err != nil {
		return nil, err
	}
	return append(ops, upd...), nil
}

// replacementRow is np's row in place of p's: same row, created_at and
// generation keys.
func (s *Store) replacementRow(p, np *Port, res []reservation, updated string) *nbdb.LogicalSwitchPort {
	row := s.lspRow(np, res, p.ext[keyCreatedAt], updated)
	row.UUID = p.uuid
	row.ExternalIDs[keyChildrenGeneration] = p.ext[keyChildrenGeneration]
	row.ExternalIDs[keyIPAMGeneration] = p.ext[keyIPAMGeneration]
	if b, ok := p.ext[keyIPAMBatch]; ok {
		row.ExternalIDs[keyIPAMBatch] = b
	}
	return row
}

// updateRow writes the columns a port update may change, and extra ones
// (e.g. its DHCP options when the caller computed them).
func (s *Store) updateRow(row *nbdb.LogicalSwitchPort, extra ...any) ([]ovsdb.Operation, error) {
	fields := append([]any{&row.Addresses, &row.Enabled, &row.ExternalIDs, &row.PortSecurity, &row.ParentName, &row.TagRequest, &row.Tag,
		&row.Type, &row.Options}, extra...)
	return s.nb.Where(row).Update(row, fields...)
}

// DeletePort removes a port that is no container's parent.
func (s *Store) DeletePort(ctx context.Context, sc Scope, id string) error {
	p, err := s.GetPort(ctx, sc, id)
	if err != nil {
		return err
	}
	defer s.lockNetwork(p.NetworkID)()
	return s.retry(ctx, "delete port "+id, func() error {
		v := s.view
		v.mu.RLock()
		p, err := v.visiblePort(sc, id)
		nchildren := len(v.children[id])
		n := v.networks[p.networkIDOrEmpty()]
		var dhcpRows []string
		for _, r := range v.portDHCP[id] {
			dhcpRows = append(dhcpRows, r.uuid)
		}
		haveDNS := v.dns[p.networkIDOrEmpty()]
		v.mu.RUnlock()
		if err != nil {
			return err
		}
		if err := checkRevision(ctx, p.Revision); err != nil {
			return err
		}
		if p.SubportOf != "" {
			return newErr(ErrConflict, "PortInUseAsSubPort", "Port %s is currently a subport for trunk %s.", id, p.SubportOf)
		}
		if p.Trunk != nil {
			return newErr(ErrConflict, "PortInUseAsTrunkParent", "Port %s is currently a parent port for trunk %s.", id, p.Trunk.ID)
		}
		if nchildren > 0 {
			return newErr(ErrConflict, "PortInUse",
				"Unable to complete operation on port %s: it is the parent_name of %d container port(s); delete those first.", id, nchildren)
		}
		// The guard covers neutron:children_generation: a child added by
		// another process meanwhile aborts this delete.
		ops, err := s.guard(nbdb.LogicalSwitchPortTable, p.uuid, p.ext)
		if err != nil {
			return err
		}
		if n != nil {
			ls := &nbdb.LogicalSwitch{UUID: n.uuid}
			detach, err := s.nb.Where(ls).Mutate(ls, mutation(&ls.Ports, ovsdb.MutateOperationDelete, []string{p.uuid}))
			if err != nil {
				return err
			}
			ops = append(ops, detach...)
		}
		fipOps, err := s.releaseFIPsOps(ctx, id)
		if err != nil {
			return err
		}
		ops = append(ops, fipOps...)
		if n != nil {
			var dc dnsChange
			dc.change(portDNSRecords(p, s.cfg.DNSDomain), nil)
			dnsOps, _, err := s.dnsOps(n, haveDNS, dc, "dns")
			if err != nil {
				return err
			}
			ops = append(ops, dnsOps...)
		}
		for _, u := range dhcpRows {
			del, err := s.nb.Where(&nbdb.DHCPOptions{UUID: u}).Delete()
			if err != nil {
				return err
			}
			ops = append(ops, del...)
		}
		del, err := s.nb.Where(&nbdb.LogicalSwitchPort{UUID: p.uuid}).Delete()
		if err != nil {
			return err
		}
		if err := s.transact(ctx, append(ops, del...)); err != nil {
			return err
		}
		return s.settle(ctx, func() bool { return v.ports[id] == nil })
	})
}

// networkIDOrEmpty tolerates a nil port (lookup failed).
func (p *Port) networkIDOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.NetworkID
}

// reallocate resolves a port update's fixed_ips as Neutron does: a
// requested address the port holds (or a subnet it has an address on,
// without an address) keeps it; anything else is claimed from the
// subnet's allocator. It returns the port's new addresses in request
// order and the new claims, which the caller releases if the update does
// not commit.
func (s *Store) reallocate(p *Port, n *Network, reqs []IPRequest, deviceOwner string) (res, claimed []reservation, err error) {
	v := s.view
	v.mu.Lock()
	defer v.mu.Unlock()
	held := v.heldAddrs(p)
	kept := make([]bool, len(held))
	keep := func(rq IPRequest) int {
		for i, h := range held {
			if kept[i] || (rq.SubnetID != "" && rq.SubnetID != h.subnet.ID) {
				continue
			}
			if rq.IPAddress == h.addr || (!rq.IPAddress.IsValid() && rq.SubnetID != "") {
				kept[i] = true
				return i
			}
		}
		return -1
	}
	slots := make([]*reservation, len(reqs))
	var fresh []IPRequest
	var freshAt []int
	for i, rq := range reqs {
		if k := keep(rq); k >= 0 {
			slots[i] = &held[k]
			continue
		}
		fresh, freshAt = append(fresh, rq), append(freshAt, i)
	}
	// Two requests for one new address: Neutron's duplicate check.
	seen := map[netip.Addr]bool{}
	for _, rq := range reqs {
		if rq.IPAddress.IsValid() {
			if seen[rq.IPAddress] {
				return nil, nil, newErr(ErrInvalid, "InvalidInput", "Invalid input for operation: Duplicate IP address '%s'.", rq.IPAddress)
			}
			seen[rq.IPAddress] = true
		}
	}
	if len(fresh) > 0 {
		if claimed, err = v.allocate(n, &fresh, deviceOwner); err != nil {
			return nil, nil, err
		}
		for j, at := range freshAt {
			slots[at] = &claimed[j]
		}
	}
	for _, r := range slots {
		res = append(res, *r)
	}
	return res, claimed, nil
}
