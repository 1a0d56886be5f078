package attach

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// Selector picks attachments; empty fields match anything, but at least
// one of ContainerID and NetnsPath must be set for Detach.
type Selector struct {
	ContainerID string
	NetnsPath   string
	IfName      string
	NetworkID   string
}

func (s Selector) match(ids map[string]string) bool {
	return (s.ContainerID == "" || ids[KeyContainer] == s.ContainerID) &&
		(s.NetnsPath == "" || ids[KeyNetns] == s.NetnsPath) &&
		(s.IfName == "" || ids[KeyIfName] == s.IfName) &&
		(s.NetworkID == "" || ids[KeyNetwork] == s.NetworkID)
}

// ours: access ports this plugin made for this VM.
func (a *Attacher) ours(ctx context.Context) ([]AccessPort, error) {
	aps, err := a.Switch.AccessPorts(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the VM's access ports: %w", err)
	}
	var out []AccessPort
	for _, ap := range aps {
		if _, ok := ap.ExternalIDs[KeyNetns]; !ok {
			continue
		}
		if v := ap.ExternalIDs[KeyVIF]; v != "" && a.VM.VIFID != "" && v != a.VM.VIFID {
			continue
		}
		out = append(out, ap)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VLAN < out[j].VLAN })
	return out, nil
}

// Detach removes every attachment matching sel: veth, Neutron port, then
// the VLAN last, so a tag is never reused while a port still carries it.
// Nothing matching is not an error (Detach is idempotent); it returns how
// many were removed.
func (a *Attacher) Detach(ctx context.Context, sel Selector) (int, error) {
	if sel.ContainerID == "" && sel.NetnsPath == "" {
		return 0, errors.New("detach needs a container or a netns path")
	}
	aps, err := a.ours(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, ap := range aps {
		if !sel.match(ap.ExternalIDs) {
			continue
		}
		if err := a.detachOne(ctx, ap); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// detachOne deletes ap's veth, then gives its port back to the pool if
// the network's pool is below target, else deletes the Neutron port and
// releases the VLAN.
func (a *Attacher) detachOne(ctx context.Context, ap AccessPort) error {
	if err := a.Links.DeleteLink(ctx, ap.Name); err != nil {
		return fmt.Errorf("deleting veth %s: %w", ap.Name, err)
	}
	if a.shouldReturn(ctx, ap) {
		claimed, err := a.returnToPool(ctx, ap)
		switch {
		case err == nil:
			return nil
		case !claimed && errors.Is(err, ErrPortTaken):
			// Another process (a concurrent detach or gc) got there first
			// and finishes the job.
			a.log().Debug("detach: port handled by another process", "ovs_port", ap.Name)
			return nil
		case !claimed:
			return err
		}
		a.log().Warn("returning to the pool failed; deleting the port", "ovs_port", ap.Name, "err", err)
	}
	if err := a.removeEntryWithoutVeth(ctx, ap); err != nil { // the veth went first
		return err
	}
	a.log().Info("detached", "ovs_port", ap.Name, "vlan", ap.VLAN, "port", ap.ExternalIDs[KeyPort])
	return nil
}

// childPortIDs: the Neutron port recorded on ap, or, if an attach stopped
// before recording it, the child ports of this VM carrying ap's VLAN.
func (a *Attacher) childPortIDs(ctx context.Context, ap AccessPort) ([]string, error) {
	if id := ap.ExternalIDs[KeyPort]; id != "" {
		return []string{id}, nil
	}
	if a.trunkMode() {
		// The port is recorded before it becomes a subport; one made but
		// not recorded is found by GC (by its description).
		return nil, nil
	}
	// By parent and tag (unique per parent): pool ports have no device_id.
	var ps []cloud.Port
	for _, owner := range []string{cloud.DeviceOwner, cloud.LegacyDeviceOwner} {
		some, err := a.Cloud.ListPorts(ctx, cloud.PortFilter{DeviceOwner: owner})
		if err != nil {
			return nil, fmt.Errorf("looking for the Neutron port of %s: %w", ap.Name, err)
		}
		ps = append(ps, some...)
	}
	var ids []string
	for _, p := range ps {
		if p.ParentName == a.VM.VIFID && p.Tag == ap.VLAN {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}

// List returns the attachments of this VM, sorted by VLAN. With withPorts
// it also asks Neutron for each port's addresses and status.
func (a *Attacher) List(ctx context.Context, withPorts bool) ([]Attachment, error) {
	aps, err := a.ours(ctx)
	if err != nil {
		return nil, err
	}
	nets := map[string]cloud.Network{}
	out := make([]Attachment, 0, len(aps))
	for _, ap := range aps {
		ids := ap.ExternalIDs
		at := Attachment{
			PortName: ap.Name, Bridge: ap.Bridge, VLAN: ap.VLAN,
			ContainerID: ids[KeyContainer], NetnsPath: ids[KeyNetns], IfName: ids[KeyIfName],
			NetworkID: ids[KeyNetwork], NetworkName: ids[KeyNetworkName], PortID: ids[KeyPort], State: ids[KeyState],
		}
		if withPorts && at.PortID != "" {
			p, err := a.Cloud.GetPort(ctx, at.PortID)
			switch {
			case errors.Is(err, cloud.ErrNotFound):
				at.Status = "MISSING"
			case err != nil:
				return nil, err
			default:
				at.Status, at.MAC = p.Status, p.MAC.String()
				nw, ok := nets[p.NetworkID]
				if !ok {
					if nw, err = a.Cloud.GetNetwork(ctx, p.NetworkID); err == nil {
						nets[p.NetworkID] = nw
					}
				}
				at.NetworkName = nw.Name
				for _, ip := range p.FixedIPs {
					bits := ip.IP.BitLen()
					if s, ok := nw.SubnetByID(ip.SubnetID); ok {
						bits = s.CIDR.Bits()
					}
					at.Addresses = append(at.Addresses, netip.PrefixFrom(ip.IP, bits))
				}
			}
		}
		out = append(out, at)
	}
	return out, nil
}
