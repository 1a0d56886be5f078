package attach

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// VM is what attach knows about the VM it runs in.
type VM struct {
	VIFID string // the VM's Neutron port
	MAC   string // its MAC, equal to the VM NIC's (DiscoverVM checks)
	// MACChecked: DiscoverVM asked Neutron for the MAC; record it on the
	// bridge (KeyVIFMACPrefix) so the next commands need not.
	MACChecked   bool
	Bridge       string // the VM's OVS bridge
	DatapathType string // "netdev": userspace datapath, needs tx checksum off
	Uplink       string // the VM NIC (the bridge's trunk port)
	UplinkMTU    int    // 0: unknown, not checked
}

// ErrNoVIF: the VM's own port could not be found in Neutron.
var ErrNoVIF = errors.New("cannot find the VM's port")

// ErrVIFMismatch: the vif-id given is a port of the caller's project, but
// not this VM's (its MAC is not the VM NIC's).
var ErrVIFMismatch = errors.New("the vif-id is not this VM's port")

// DiscoverVM fills in the VM's bridge, uplink and MTU from its OVS and, if
// vifID is empty, finds the VM's port in Neutron by the MACs of the bridge
// and its uplink (a VM NIC in a bridge often lends its MAC to the bridge).
// accessPrefix is the name prefix of access ports, which are not uplinks.
func DiscoverVM(ctx context.Context, sw Switch, links Links, cl Cloud, bridge, vifID, accessPrefix string) (VM, error) {
	vm, br, uplinks, err := localVM(ctx, sw, links, bridge, accessPrefix)
	if err != nil {
		return VM{}, err
	}
	vm.VIFID = vifID
	// The MACs the VM's port may have: the bridge's (a VM NIC in a
	// bridge often lends it its MAC) and the uplinks'.
	type nic struct {
		dev string
		mac net.HardwareAddr
	}
	var nics []nic
	var tried []string
	for _, dev := range append([]string{br.Name}, uplinks...) {
		mac, err := links.LinkMAC(ctx, dev)
		if err != nil || len(mac) == 0 {
			continue
		}
		nics = append(nics, nic{dev, mac})
		tried = append(tried, fmt.Sprintf("%s (%s)", dev, mac))
	}
	localMAC := func(mac string) bool {
		return slices.ContainsFunc(nics, func(n nic) bool { return n.mac.String() == mac })
	}
	if vm.VIFID != "" {
		mac, ok := knownParent(ctx, sw, vm.VIFID, cl.ProjectID())
		if !ok {
			mac = br.ExternalIDs[KeyVIFMACPrefix+vm.VIFID]
			ok = mac != ""
		}
		if ok && localMAC(mac) {
			// Neutron accepted it as the parent of a port of this project
			// already, and its MAC was found to be this VM's: no need to
			// ask again (an attach from the pool then makes no Neutron
			// call at all).
			vm.MAC = mac
			return vm, nil
		}
		// Check it up front: Neutron's answer to a bad parent comes late
		// (after a VLAN was claimed) and is less clear.
		p, err := cl.GetPort(ctx, vm.VIFID)
		if errors.Is(err, cloud.ErrNotFound) {
			return VM{}, fmt.Errorf("%w: --vif-id %s is not a port of your project: pass the id of this VM's port (--vif-id or OS_VIF_ID; see `openstack port list`)", ErrNoVIF, vm.VIFID)
		}
		if err != nil {
			return VM{}, err
		}
		if p.ParentName != "" {
			return VM{}, fmt.Errorf("%w: --vif-id %s is a container's port (child of %s), not the VM's", ErrNoVIF, vm.VIFID, p.ParentName)
		}
		// Another VM's port would be accepted by Neutron, and the
		// containers' traffic would arrive at that VM, not this one.
		if len(nics) > 0 && !localMAC(p.MAC.String()) {
			return VM{}, fmt.Errorf("%w: --vif-id %s has MAC %s, but this VM's NIC is %s: it is another VM's port, whose containers' traffic would never reach this VM. "+
				"Pass this VM's own port (`openstack port list --mac-address %s`), or leave --vif-id and OS_VIF_ID unset to find it by MAC",
				ErrVIFMismatch, vm.VIFID, p.MAC, orNone(tried), nics[0].mac)
		}
		vm.MAC, vm.MACChecked = p.MAC.String(), true
		return vm, nil
	}
	for _, n := range nics {
		ps, err := cl.ListPorts(ctx, cloud.PortFilter{MAC: n.mac.String()})
		if err != nil {
			return VM{}, fmt.Errorf("finding the VM's port by MAC: %w", err)
		}
		for _, p := range ps {
			if p.ParentName == "" && !strings.HasPrefix(p.DeviceOwner, "network:") && p.DeviceOwner != "trunk:subport" {
				vm.VIFID, vm.MAC, vm.MACChecked = p.ID, p.MAC.String(), true
				return vm, nil
			}
		}
	}
	return VM{}, fmt.Errorf("%w: no port of your project has the MAC of %s: pass --vif-id (or OS_VIF_ID) with the id of the VM's port", ErrNoVIF, orNone(tried))
}

// LocalVM is what the VM's OVS and kernel alone say about the VM: its
// bridge, datapath, uplink and MTU (the VM's port needs the cloud, or
// vifID given).
func LocalVM(ctx context.Context, sw Switch, links Links, bridge, vifID, accessPrefix string) (VM, error) {
	vm, _, _, err := localVM(ctx, sw, links, bridge, accessPrefix)
	vm.VIFID = vifID
	return vm, err
}

func localVM(ctx context.Context, sw Switch, links Links, bridge, accessPrefix string) (VM, *Bridge, []string, error) {
	bs, err := sw.Bridges(ctx)
	if err != nil {
		return VM{}, nil, nil, err
	}
	var br *Bridge
	switch {
	case bridge != "":
		for i := range bs {
			if bs[i].Name == bridge {
				br = &bs[i]
			}
		}
		if br == nil {
			return VM{}, nil, nil, fmt.Errorf("bridge %q does not exist in the VM's Open vSwitch (bridges: %s): pass --bridge", bridge, names(bs))
		}
	case len(bs) == 1:
		br = &bs[0]
	case len(bs) == 0:
		return VM{}, nil, nil, errors.New("the VM's Open vSwitch has no bridge: create one with the VM NIC as its port, or pass --ovsdb for the right database")
	default:
		return VM{}, nil, nil, fmt.Errorf("the VM's Open vSwitch has %d bridges (%s): choose one with --bridge or OVN_DOCKER_BRIDGE", len(bs), names(bs))
	}
	vm := VM{Bridge: br.Name, DatapathType: br.DatapathType}
	var uplinks []string
	for _, p := range br.Ports {
		if p != br.Name && !strings.HasPrefix(p, accessPrefix) {
			uplinks = append(uplinks, p)
		}
	}
	slices.Sort(uplinks)
	if len(uplinks) > 0 {
		vm.Uplink = uplinks[0]
		if mtu, err := links.LinkMTU(ctx, vm.Uplink); err == nil {
			vm.UplinkMTU = mtu
		}
	}
	return vm, br, uplinks, nil
}

// knownParent: an access port of this VM records a Neutron port of
// project made as a child of vifID, and vifID's MAC checked then.
func knownParent(ctx context.Context, sw Switch, vifID, project string) (mac string, ok bool) {
	if project == "" {
		return "", false
	}
	aps, err := sw.AccessPorts(ctx)
	if err != nil {
		return "", false
	}
	for _, ap := range aps {
		if ids := ap.ExternalIDs; ids[KeyVIF] == vifID && ids[KeyPort] != "" && ids[KeyProject] == project && ids[KeyVIFMAC] != "" {
			return ids[KeyVIFMAC], true
		}
	}
	return "", false
}

func names(bs []Bridge) string {
	var n []string
	for _, b := range bs {
		n = append(n, b.Name)
	}
	return orNone(n)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
