package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/attach/adapters"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// errNoCloud: the command runs without Neutron (no or invalid
// credentials, cloud unreachable); what needs Neutron is not done.
var errNoCloud = errors.New("Neutron not reachable")

// offlineCloud stands for Neutron when it cannot be reached: every call
// fails with errNoCloud and the reason, so that the local steps of a
// command still run and the Neutron ones say why they did not.
type offlineCloud struct{ cause error }

func (o offlineCloud) err() error { return fmt.Errorf("%w: %w", errNoCloud, o.cause) }

func (o offlineCloud) FindNetwork(context.Context, string) (cloud.Network, error) {
	return cloud.Network{}, o.err()
}
func (o offlineCloud) GetNetwork(context.Context, string) (cloud.Network, error) {
	return cloud.Network{}, o.err()
}
func (o offlineCloud) CreateChildPort(context.Context, cloud.ChildPortOpts) (cloud.Port, error) {
	return cloud.Port{}, o.err()
}
func (o offlineCloud) CreatePort(context.Context, cloud.PortOpts) (cloud.Port, error) {
	return cloud.Port{}, o.err()
}
func (o offlineCloud) FindTrunk(context.Context, string) (cloud.Trunk, error) {
	return cloud.Trunk{}, o.err()
}
func (o offlineCloud) EnsureTrunk(context.Context, string, string) (cloud.Trunk, error) {
	return cloud.Trunk{}, o.err()
}
func (o offlineCloud) GetTrunk(context.Context, string) (cloud.Trunk, error) {
	return cloud.Trunk{}, o.err()
}
func (o offlineCloud) AddSubport(context.Context, string, string, int) error { return o.err() }
func (o offlineCloud) RemoveSubport(context.Context, string, string) error   { return o.err() }
func (o offlineCloud) GetPort(context.Context, string) (cloud.Port, error) {
	return cloud.Port{}, o.err()
}
func (o offlineCloud) DeletePort(context.Context, string) error { return o.err() }
func (o offlineCloud) ListPorts(context.Context, cloud.PortFilter) ([]cloud.Port, error) {
	return nil, o.err()
}
func (o offlineCloud) ResolveSecurityGroups(context.Context, []string) ([]string, error) {
	return nil, o.err()
}
func (o offlineCloud) ProjectID() string { return "" }

// localAttacher is the attach core without Neutron: the VM's OVS and links
// only. The VM's port is --vif-id/OS_VIF_ID if given (it cannot be looked
// up by MAC without Neutron).
func (a *app) localAttacher(ctx context.Context, cause error) (*attach.Attacher, error) {
	vs, err := a.vswitch(ctx)
	if err != nil {
		return nil, err
	}
	sw := adapters.Switch{C: vs}
	links := adapters.NewLinks(a.log)
	vm, err := attach.LocalVM(ctx, sw, links, a.bridge, a.vifID, vswitch.AccessPortPrefix)
	if err != nil {
		return nil, err
	}
	return &attach.Attacher{Switch: sw, Links: links, Cloud: offlineCloud{cause}, VM: vm, Log: a.log, Pool: sw, WaitActive: a.wait}, nil
}

// attacherOrLocal is attacher, else (Neutron unreachable, bad
// credentials) the local one, with the reason it is local.
func (a *app) attacherOrLocal(ctx context.Context) (*attach.Attacher, error, error) {
	cl, err := a.cloud(ctx)
	if err == nil {
		at, aerr := a.attacherWith(ctx, cl)
		if aerr == nil {
			return at, nil, nil
		}
		if !cloudFailure(aerr) {
			return nil, nil, aerr
		}
		err = aerr
	}
	at, lerr := a.localAttacher(ctx, err)
	if lerr != nil {
		return nil, nil, lerr
	}
	return at, err, nil
}

// cloudFailure: err came from talking to Keystone/Neutron, not from the
// VM (a vif-id of another VM, say, is not a reason to go on locally).
func cloudFailure(err error) bool {
	return errors.Is(err, cloud.ErrAuth) || errors.Is(err, cloud.ErrUnreachable) || errors.Is(err, cloud.ErrNoCredentials) || errors.Is(err, errNoCloud)
}
