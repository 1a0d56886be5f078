package daemon

// The CNI endpoint: ovn-cni, run by a container runtime for each call,
// forwards the call here (internal/cniapi). An ADD is an attach of the
// runtime's namespace by the same core as `ovn-docker run`/`attach`
// (pool first, veth straight into the namespace as CNI_IFNAME, addresses,
// routes and MTU, ACTIVE and data-path proof). The CNI attachment
// (container id, interface name, network configuration name) is recorded
// on the access port's external_ids, next to the attach core's own keys:
// DEL, CHECK and GC find it there, and no state file exists.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/cniapi"
)

// Keys of a CNI attachment, on its access port.
const (
	// KeyCNIContainer is the runtime's container id (CNI_CONTAINERID).
	// It is not the attach core's KeyContainer, which names a Docker
	// container: `ovn-docker gc` would find no such container and detach
	// the pod. Without it, gc keeps the attachment while its namespace
	// exists.
	KeyCNIContainer = "ovn-docker:cni-container"
	// KeyCNINetwork is the network configuration's name (GC is per name).
	KeyCNINetwork = "ovn-docker:cni-network"
)

// ErrCNIFailed is the CNI error code of failures of the attach itself
// (CNI's codes 100 and up are the plugin's).
const ErrCNIFailed uint = 100

// CNIAttacher is the attach core as CNI uses it.
type CNIAttacher interface {
	Attach(ctx context.Context, req attach.Request) (attach.Attachment, error)
	Detach(ctx context.Context, sel attach.Selector) (int, error)
}

// CNISwitch is the VM's OVS as CNI uses it.
type CNISwitch interface {
	AccessPorts(ctx context.Context) ([]attach.AccessPort, error)
}

// CNICloud is Neutron as CNI uses it.
type CNICloud interface {
	FindNetwork(ctx context.Context, nameOrID string) (cloud.Network, error)
	GetNetwork(ctx context.Context, id string) (cloud.Network, error)
	GetPort(ctx context.Context, id string) (cloud.Port, error)
}

// Interfaces reads an interface inside a network namespace.
type Interfaces interface {
	// Interface returns the MAC and addresses of ifName in netns.
	Interface(ctx context.Context, netns, ifName string) (net.HardwareAddr, []netip.Prefix, error)
}

// CNI serves the CNI calls of one VM.
type CNI struct {
	Attach CNIAttacher
	Switch CNISwitch
	Cloud  CNICloud
	Netns  Interfaces
	// VIF is the VM's Neutron port: only its children are this VM's.
	VIF string
	Log *slog.Logger
}

func (c *CNI) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Handler serves cniapi requests.
func (c *CNI) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+cniapi.Path, func(w http.ResponseWriter, r *http.Request) {
		var req cniapi.Request
		var resp cniapi.Response
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			resp.Error = types.NewError(types.ErrDecodingFailure, "request is not a CNI call", err.Error())
		} else {
			start := time.Now()
			resp.Result, resp.Error = c.Handle(r.Context(), req)
			log := c.log().With("cni", req.Command, "container", req.ContainerID, "ifname", req.IfName, "ms", time.Since(start).Milliseconds())
			if resp.Error != nil {
				log.Warn("CNI call failed", "code", resp.Error.Code, "err", resp.Error.Msg, "details", resp.Error.Details)
			} else {
				log.Info("CNI call")
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	})
	return mux
}

// Handle runs one CNI call.
func (c *CNI) Handle(ctx context.Context, req cniapi.Request) (json.RawMessage, *types.Error) {
	conf, cerr := cniapi.ParseConf(req.Config)
	if cerr != nil {
		return nil, cerr
	}
	switch req.Command {
	case cniapi.CmdAdd:
		return c.add(ctx, req, conf)
	case cniapi.CmdDel:
		return nil, c.del(ctx, req)
	case cniapi.CmdCheck:
		return nil, c.check(ctx, req, conf)
	case cniapi.CmdGC:
		return nil, c.gc(ctx, conf)
	case cniapi.CmdStatus:
		return nil, c.status(ctx, conf)
	}
	return nil, types.NewError(types.ErrInvalidEnvironmentVariables, fmt.Sprintf("CNI_COMMAND %q is not known", req.Command), "want ADD, DEL, CHECK, GC, STATUS or VERSION")
}

// cniPort is a CNI attachment's access port.
type cniPort struct {
	name string
	ids  map[string]string
}

// attachments: this VM's CNI attachments that match.
func (c *CNI) attachments(ctx context.Context, match func(ids map[string]string) bool) ([]cniPort, error) {
	aps, err := c.Switch.AccessPorts(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the VM's access ports: %w", err)
	}
	var out []cniPort
	for _, ap := range aps {
		ids := ap.ExternalIDs
		if ids[KeyCNIContainer] == "" || (c.VIF != "" && ids[attach.KeyVIF] != c.VIF) {
			continue
		}
		if match(ids) {
			out = append(out, cniPort{name: ap.Name, ids: ids})
		}
	}
	return out, nil
}

func byAttachment(containerID, ifName string) func(map[string]string) bool {
	return func(ids map[string]string) bool {
		return ids[KeyCNIContainer] == containerID && ids[attach.KeyIfName] == ifName
	}
}

func (c *CNI) add(ctx context.Context, req cniapi.Request, conf cniapi.NetConf) (json.RawMessage, *types.Error) {
	if req.ContainerID == "" || req.Netns == "" || req.IfName == "" {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables, "ADD needs CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME", fmt.Sprintf("got %q, %q, %q", req.ContainerID, req.Netns, req.IfName))
	}
	prev, perr := prevResult(conf)
	if perr != nil {
		return nil, perr
	}
	have, err := c.attachments(ctx, byAttachment(req.ContainerID, req.IfName))
	if err != nil {
		return nil, types.NewError(types.ErrTryAgainLater, "reading the VM's OVS", err.Error())
	}
	if len(have) > 0 {
		return nil, types.NewError(ErrCNIFailed, fmt.Sprintf("container %s already has %s on OVS port %s", req.ContainerID, req.IfName, have[0].name), "DEL it first")
	}
	at, err := c.Attach.Attach(ctx, attach.Request{
		NetnsPath: req.Netns, IfName: req.IfName, Network: conf.Network, Name: "cni-" + short(req.ContainerID),
		// With the claim: an attachment DEL and GC cannot find does not
		// exist, and a port that goes back to the pool loses them.
		Tags: map[string]string{KeyCNIContainer: req.ContainerID, KeyCNINetwork: conf.Name},
	})
	if err != nil {
		return nil, attachError(conf, err)
	}
	undo := func(why *types.Error) *types.Error {
		if _, derr := c.Attach.Detach(context.WithoutCancel(ctx), attach.Selector{NetnsPath: req.Netns, IfName: req.IfName}); derr != nil {
			c.log().Warn("rollback: detach failed; `ovn-docker gc` will clean up", "ovs_port", at.PortName, "err", derr)
		}
		return why
	}
	if conf.MTU != 0 && conf.MTU != at.MTU {
		return nil, undo(types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(`"mtu" %d is not the MTU of network %s here (%d)`, conf.MTU, conf.Network, at.MTU), fmt.Sprintf(`set "mtu": %d or omit it`, at.MTU)))
	}
	res := c.result(req, at, prev)
	out, err := res.GetAsVersion(conf.CNIVersion)
	if err != nil {
		return nil, undo(types.NewError(types.ErrIncompatibleCNIVersion, "the result cannot be given in cniVersion "+conf.CNIVersion, err.Error()))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, undo(types.NewError(types.ErrInternal, "encoding the result", err.Error()))
	}
	return b, nil
}

func short(id string) string { return id[:min(12, len(id))] }

// attachError is the CNI error of a failed attach.
func attachError(conf cniapi.NetConf, err error) *types.Error {
	switch {
	case errors.Is(err, cloud.ErrNotFound) || errors.Is(err, cloud.ErrAmbiguous):
		return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf("network %q: %v", conf.Network, err), `"network" names a Neutron network of the daemon's project, by name or id`)
	case errors.Is(err, attach.ErrMTU):
		return types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	case errors.Is(err, attach.ErrNoNetns):
		return types.NewError(types.ErrUnknownContainer, err.Error(), "CNI_NETNS must be the container's network namespace")
	case errors.Is(err, cloud.ErrUnreachable) || errors.Is(err, cloud.ErrAuth):
		return types.NewError(types.ErrTryAgainLater, "Neutron cannot be used now", err.Error())
	}
	return types.NewError(ErrCNIFailed, "attach failed", err.Error())
}

// prevResult: the result of the plugins before this one in a chain.
func prevResult(conf cniapi.NetConf) (*types100.Result, *types.Error) {
	if conf.RawPrevResult == nil {
		return nil, nil
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "prevResult cannot be read", err.Error())
	}
	r, err := types100.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "prevResult cannot be read", err.Error())
	}
	return r, nil
}

// result: the attachment as CNI's result, after prev's interfaces.
func (c *CNI) result(req cniapi.Request, at attach.Attachment, prev *types100.Result) *types100.Result {
	r := &types100.Result{CNIVersion: types100.ImplementedSpecVersion}
	if prev != nil {
		r = prev
		r.CNIVersion = types100.ImplementedSpecVersion
	}
	idx := len(r.Interfaces)
	r.Interfaces = append(r.Interfaces, &types100.Interface{Name: req.IfName, Mac: at.MAC, Mtu: at.MTU, Sandbox: req.Netns})
	for _, p := range at.Addresses {
		ip := &types100.IPConfig{Interface: &idx, Address: net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		for _, gw := range at.Gateways {
			if p.Masked().Contains(gw) {
				ip.Gateway = gw.AsSlice()
				def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
				if gw.Is6() {
					def = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
				}
				r.Routes = append(r.Routes, &types.Route{Dst: net.IPNet{IP: def.Addr().AsSlice(), Mask: net.CIDRMask(0, def.Addr().BitLen())}, GW: gw.AsSlice()})
			}
		}
		r.IPs = append(r.IPs, ip)
	}
	// The subnet's dns_nameservers, as the attachment carries them (a
	// pool port recorded them when it was made: no Neutron call here).
	for _, a := range at.DNS {
		if s := a.String(); !slices.Contains(r.DNS.Nameservers, s) {
			r.DNS.Nameservers = append(r.DNS.Nameservers, s)
		}
	}
	return r
}

// del removes the attachment (veth, Neutron port or back to the pool,
// VLAN). None left is success: DEL is idempotent.
func (c *CNI) del(ctx context.Context, req cniapi.Request) *types.Error {
	if req.ContainerID == "" || req.IfName == "" {
		return types.NewError(types.ErrInvalidEnvironmentVariables, "DEL needs CNI_CONTAINERID and CNI_IFNAME", fmt.Sprintf("got %q, %q", req.ContainerID, req.IfName))
	}
	ps, err := c.attachments(ctx, byAttachment(req.ContainerID, req.IfName))
	if err != nil {
		return types.NewError(types.ErrTryAgainLater, "reading the VM's OVS", err.Error())
	}
	return c.detach(ctx, ps)
}

func (c *CNI) detach(ctx context.Context, ps []cniPort) *types.Error {
	var errs []error
	for _, p := range ps {
		if _, err := c.Attach.Detach(ctx, attach.Selector{NetnsPath: p.ids[attach.KeyNetns], IfName: p.ids[attach.KeyIfName]}); err != nil {
			errs = append(errs, fmt.Errorf("OVS port %s: %w", p.name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return types.NewError(types.ErrTryAgainLater, "detach failed", err.Error())
	}
	return nil
}

// check verifies the attachment against prevResult: the access port
// (VLAN) is ready, the Neutron port exists with the MAC and addresses
// given, and the interface in the namespace has them.
func (c *CNI) check(ctx context.Context, req cniapi.Request, conf cniapi.NetConf) *types.Error {
	prev, perr := prevResult(conf)
	if perr != nil {
		return perr
	}
	if prev == nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "CHECK needs prevResult", "the runtime passes the ADD's result")
	}
	ps, err := c.attachments(ctx, byAttachment(req.ContainerID, req.IfName))
	if err != nil {
		return types.NewError(types.ErrTryAgainLater, "reading the VM's OVS", err.Error())
	}
	if len(ps) == 0 {
		return types.NewError(types.ErrUnknownContainer, fmt.Sprintf("container %s has no %s on an OVN network", req.ContainerID, req.IfName), "")
	}
	p := ps[0]
	var iface *types100.Interface
	idx := -1
	for i, in := range prev.Interfaces {
		if in.Name == req.IfName && in.Sandbox != "" {
			iface, idx = in, i
		}
	}
	if iface == nil {
		return types.NewError(ErrCNIFailed, fmt.Sprintf("prevResult has no interface %s in a sandbox", req.IfName), "")
	}
	var want []netip.Prefix
	for _, ip := range prev.IPs {
		if ip.Interface != nil && *ip.Interface == idx {
			a, _ := netip.AddrFromSlice(ip.Address.IP)
			ones, _ := ip.Address.Mask.Size()
			want = append(want, netip.PrefixFrom(a.Unmap(), ones))
		}
	}
	if st := p.ids[attach.KeyState]; st != "ready" {
		return types.NewError(ErrCNIFailed, fmt.Sprintf("OVS port %s is %q, not ready", p.name, st), "")
	}
	port, err := c.Cloud.GetPort(ctx, p.ids[attach.KeyPort])
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return types.NewError(ErrCNIFailed, fmt.Sprintf("Neutron port %s of OVS port %s is gone", p.ids[attach.KeyPort], p.name), "DEL and ADD again")
	case err != nil:
		return types.NewError(types.ErrTryAgainLater, "reading the Neutron port", err.Error())
	case !strings.EqualFold(port.MAC.String(), iface.Mac):
		return types.NewError(ErrCNIFailed, fmt.Sprintf("Neutron port %s has MAC %s, prevResult %s", port.ID, port.MAC, iface.Mac), "")
	}
	var fixed []netip.Addr
	for _, f := range port.FixedIPs {
		fixed = append(fixed, f.IP)
	}
	for _, w := range want {
		if !slices.Contains(fixed, w.Addr()) {
			return types.NewError(ErrCNIFailed, fmt.Sprintf("Neutron port %s does not have address %s of prevResult (it has %v)", port.ID, w.Addr(), fixed), "")
		}
	}
	mac, addrs, err := c.Netns.Interface(ctx, req.Netns, req.IfName)
	if err != nil {
		return types.NewError(ErrCNIFailed, fmt.Sprintf("interface %s in %s", req.IfName, req.Netns), err.Error())
	}
	if !strings.EqualFold(mac.String(), iface.Mac) {
		return types.NewError(ErrCNIFailed, fmt.Sprintf("interface %s has MAC %s, prevResult %s", req.IfName, mac, iface.Mac), "")
	}
	for _, w := range want {
		if !slices.Contains(addrs, w) {
			return types.NewError(ErrCNIFailed, fmt.Sprintf("interface %s does not have address %s of prevResult (it has %v)", req.IfName, w, addrs), "")
		}
	}
	return nil
}

// gc removes the attachments of the network configuration that are not
// in cni.dev/valid-attachments.
func (c *CNI) gc(ctx context.Context, conf cniapi.NetConf) *types.Error {
	valid := map[[2]string]bool{}
	for _, v := range conf.ValidAttachments {
		valid[[2]string{v.ContainerID, v.IfName}] = true
	}
	ps, err := c.attachments(ctx, func(ids map[string]string) bool {
		return ids[KeyCNINetwork] == conf.Name && !valid[[2]string{ids[KeyCNIContainer], ids[attach.KeyIfName]}]
	})
	if err != nil {
		return types.NewError(types.ErrTryAgainLater, "reading the VM's OVS", err.Error())
	}
	if len(ps) > 0 {
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.name
		}
		c.log().Info("CNI GC", "network", conf.Name, "ovs_ports", names)
	}
	return c.detach(ctx, ps)
}

// status: the daemon answers, and Neutron knows the network.
func (c *CNI) status(ctx context.Context, conf cniapi.NetConf) *types.Error {
	if _, err := c.Cloud.FindNetwork(ctx, conf.Network); err != nil {
		if errors.Is(err, cloud.ErrNotFound) {
			return types.NewError(types.ErrPluginNotAvailable, fmt.Sprintf("network %q does not exist", conf.Network), err.Error())
		}
		return types.NewError(types.ErrPluginNotAvailable, "Neutron cannot be used now", err.Error())
	}
	return nil
}
