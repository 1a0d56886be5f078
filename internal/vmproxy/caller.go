package vmproxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Caller is the VM a request comes from: its port on the network the
// request arrived on.
type Caller struct {
	VIFID     string `json:"vif_id"`
	ProjectID string `json:"project_id"`
	NetworkID string `json:"network_id"`
	MAC       string `json:"mac_address"`
	IP        string `json:"ip_address"`
}

// ErrNotAVM: no VM port on the network has the request's source address
// (the request did not come through a VM's port), or the port that has it
// is not a VM's (a container's port, a router's, the proxy's own).
var ErrNotAVM = errors.New("not a VM port")

// Identifier finds the VM port behind (network, source address), keeping
// answers for a while: a VM's port and address do not change under it.
type Identifier struct {
	Up  Upstream
	TTL time.Duration
	Now func() time.Time

	mu    sync.Mutex
	known map[string]identity
}

type identity struct {
	c       Caller
	expires time.Time
}

// Identify returns the VM port on networkID whose fixed IP is ip.
func (id *Identifier) Identify(ctx context.Context, networkID string, ip netip.Addr) (Caller, error) {
	key := networkID + "|" + ip.String()
	now := id.Now()
	id.mu.Lock()
	if e, ok := id.known[key]; ok && now.Before(e.expires) {
		id.mu.Unlock()
		return e.c, nil
	}
	id.mu.Unlock()
	// The fixed_ips filter narrows the list where the server has it; the
	// match below is what decides.
	q := url.Values{"network_id": {networkID}, "fixed_ips": {"ip_address=" + ip.String()}}
	_, ps, err := list[port](ctx, id.Up, "ports?"+q.Encode(), "ports")
	if err != nil {
		return Caller{}, err
	}
	for _, p := range ps {
		if p.NetworkID != networkID || !hasIP(p, ip) {
			continue
		}
		if !isVMPort(p) {
			return Caller{}, fmt.Errorf("%w: %s on network %s is port %s with device_owner %q", ErrNotAVM, ip, networkID, p.ID, p.DeviceOwner)
		}
		c := Caller{VIFID: p.ID, ProjectID: p.ProjectID, NetworkID: networkID, MAC: p.MAC, IP: ip.String()}
		id.mu.Lock()
		if id.known == nil {
			id.known = map[string]identity{}
		}
		id.known[key] = identity{c: c, expires: now.Add(id.TTL)}
		id.mu.Unlock()
		return c, nil
	}
	return Caller{}, fmt.Errorf("%w: no port on network %s has address %s", ErrNotAVM, networkID, ip)
}

// Forget drops what is known of the VM port (its port was deleted or
// changed).
func (id *Identifier) Forget(vifID string) {
	id.mu.Lock()
	defer id.mu.Unlock()
	for k, e := range id.known {
		if e.c.VIFID == vifID {
			delete(id.known, k)
		}
	}
}

func hasIP(p port, ip netip.Addr) bool {
	for _, f := range p.FixedIPs {
		if a, err := netip.ParseAddr(f.IP); err == nil && a == ip {
			return true
		}
	}
	return false
}

// isVMPort: an instance's port (Nova's device_owner compute:<zone>) that
// is no container's: a container must not act as its VM.
func isVMPort(p port) bool {
	return strings.HasPrefix(p.DeviceOwner, "compute:") &&
		p.DeviceOwner != "compute:ovn-docker" && p.DeviceOwner != "compute:container" &&
		p.parent() == "" && p.ProjectID != ""
}
