package attach

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// PortAddresser changes a Neutron port's fixed IPs.
type PortAddresser interface {
	SetPortFixedIPs(ctx context.Context, portID string, ips []cloud.FixedIP) (cloud.Port, error)
}

// ErrNoReaddress: the cloud client cannot change a port's addresses.
var ErrNoReaddress = errors.New("changing a port's addresses is not possible with this cloud client")

// SetAddresses gives the Neutron port of the reserved engine entry ref
// the fixed IPs ips (an entry without IP: any free address of its subnet)
// and records the port's new addresses on the entry. The engine asks for
// its addresses one IP version at a time while the port holds all of
// them: this is how a later request (Docker's --ip6) changes the port the
// first one reserved. When Neutron refuses (an address outside the subnet
// or in use) the port and the entry are as they were.
func (a *Attacher) SetAddresses(ctx context.Context, ref string, ips []cloud.FixedIP) (Entry, error) {
	pa, ok := a.Cloud.(PortAddresser)
	if !ok {
		return Entry{}, ErrNoReaddress
	}
	ap, err := a.engineEntry(ctx, func(ids map[string]string) bool { return ids[KeyEngineRef] == ref })
	if err != nil {
		return Entry{}, fmt.Errorf("%s: %w", ref, err)
	}
	if s := ap.ExternalIDs[KeyState]; s != stateReserved || ap.ExternalIDs[KeyEndpoint] != "" {
		return Entry{}, fmt.Errorf("OVS port %s is %s (endpoint %q): its addresses are fixed", ap.Name, s, ap.ExternalIDs[KeyEndpoint])
	}
	nw, err := a.Cloud.GetNetwork(ctx, ap.ExternalIDs[KeyNetwork])
	if err != nil {
		return Entry{}, err
	}
	mtu, err := a.networkMTU(nw)
	if err != nil {
		return Entry{}, err
	}
	port, err := pa.SetPortFixedIPs(ctx, ap.ExternalIDs[KeyPort], ips)
	if err != nil {
		return Entry{}, err
	}
	d, err := a.entryPortData(nw, port, mtu)
	if err != nil {
		return Entry{}, err
	}
	ids := d.ids()
	if err := a.setIDs(context.WithoutCancel(ctx), &ap, ids); err != nil {
		return Entry{}, err
	}
	a.log().InfoContext(ctx, "addresses changed", "ovs_port", ap.Name, "port", port.ID, "addresses", port.FixedIPs, "ref", ref)
	return entryOf(ap), nil
}
