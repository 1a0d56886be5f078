package attach

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotReplugable: Replug was asked for an access port that is not a
// ready attachment with its port's data recorded.
var ErrNotReplugable = errors.New("attachment cannot be re-plugged")

// LinkInspector may be implemented by Links: Check and Replug need it to
// see an attachment's veth.
type LinkInspector interface {
	// LinkExists: a link of that name is in the VM.
	LinkExists(ctx context.Context, name string) (bool, error)
	// LinkInNetns: the namespace at netnsPath has a link of that name.
	LinkInNetns(ctx context.Context, netnsPath, name string) (bool, error)
	// LinkDown: the VM's link of that name is administratively down.
	LinkDown(ctx context.Context, name string) (bool, error)
}

// RaiseVMEnd sets the VM end of the ready attachment's veth up if it is
// down, and reports whether it was: ovs-vswitchd can set it down behind
// attach's back (see netdev's EnsureUp), and a container then has an
// interface, an OVS port and a Neutron port that all look fine but no
// packet goes out.
func (a *Attacher) RaiseVMEnd(ctx context.Context, at Attachment) (bool, error) {
	if at.State != stateReady {
		return false, nil
	}
	return a.Links.EnsureUp(ctx, at.PortName)
}

// Replug gives the ready attachment on OVS port portName its veth again,
// in netnsPath: its owner's new namespace after a restart (the old one
// went, and the veth with it). The Neutron port, VLAN, MAC and addresses
// stay those recorded at attach time; the data path is proven as for an
// attach. On failure no veth is left and the attachment stays as it was
// (a later Replug can try again, or Detach release it).
func (a *Attacher) Replug(ctx context.Context, portName, netnsPath string) (Attachment, error) {
	aps, err := a.ours(ctx)
	if err != nil {
		return Attachment{}, err
	}
	var ap AccessPort
	for _, x := range aps {
		if x.Name == portName {
			ap = x
		}
	}
	ids := ap.ExternalIDs
	if ap.Name == "" || ids[KeyState] != stateReady {
		return Attachment{}, fmt.Errorf("%w: %s is not a ready attachment", ErrNotReplugable, portName)
	}
	d, err := parsePortData(ids)
	if err != nil {
		return Attachment{}, fmt.Errorf("%w: %s: %w", ErrNotReplugable, portName, err)
	}
	req := Request{NetnsPath: netnsPath, IfName: ids[KeyIfName], Network: ids[KeyNetwork], ContainerID: ids[KeyContainer]}
	d.cfg.Name = req.IfName
	d.cfg.DisableTxChecksum = a.VM.DatapathType == "netdev"
	// A VM end left over from a half-done replug goes first.
	if err := a.Links.DeleteLink(ctx, portName); err != nil {
		return Attachment{}, err
	}
	if a.Pool != nil {
		// So that waiting for the new veth to come up means something.
		rctx, cancel := context.WithTimeout(ctx, renewTimeout)
		err := a.Pool.RenewInterface(rctx, portName)
		cancel()
		if err != nil {
			return Attachment{}, fmt.Errorf("re-plugging %s: %w", portName, err)
		}
	}
	if err := a.Switch.SetExternalIDs(ctx, portName, map[string]string{KeyNetns: netnsPath}); err != nil {
		return Attachment{}, fmt.Errorf("re-plugging %s: %w", portName, err)
	}
	cfg, err := a.plug(ctx, req, ap, d.cfg, nil)
	if err == nil {
		if err = a.openAndProve(ctx, req, portName, ids[KeyPort], cfg.MAC, d.probe); err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewTimeout)
			if derr := a.Links.DeleteLink(rctx, portName); derr != nil {
				a.log().Warn("rollback: deleting veth failed", "veth", portName, "err", derr)
			}
			cancel()
		}
	}
	if err != nil {
		return Attachment{}, err
	}
	a.announce(ctx, req, portName, cfg)
	a.log().Info("re-plugged", "ovs_port", portName, "port", ids[KeyPort], "netns", netnsPath)
	return Attachment{
		PortName: portName, Bridge: a.VM.Bridge, VLAN: ap.VLAN,
		ContainerID: req.ContainerID, NetnsPath: netnsPath, IfName: req.IfName,
		NetworkID: ids[KeyNetwork], NetworkName: d.networkName, PortID: ids[KeyPort], MAC: cfg.MAC.String(),
		Addresses: cfg.Addresses, Gateways: cfg.Gateways, MTU: cfg.MTU, State: stateReady,
	}, nil
}

// NeedsReplug reports whether the ready attachment at has lost its veth,
// or its namespace (now netnsPath) has no end of it: its owner restarted
// in a new namespace. Without a LinkInspector it reports false.
func (a *Attacher) NeedsReplug(ctx context.Context, at Attachment, netnsPath string) (bool, error) {
	li, ok := a.Links.(LinkInspector)
	if !ok || at.State != stateReady {
		return false, nil
	}
	vmEnd, err := li.LinkExists(ctx, at.PortName)
	if err != nil || !vmEnd {
		return !vmEnd, err
	}
	inNetns, err := li.LinkInNetns(ctx, netnsPath, at.IfName)
	return !inNetns, err
}
