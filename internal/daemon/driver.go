package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/dockerdriver"
)

// Attacher is the attach core as the driver uses it.
type Attacher interface {
	Reserve(ctx context.Context, req attach.ReserveRequest) (attach.Entry, error)
	SetEndpoint(ctx context.Context, ref, endpoint string) (attach.Entry, error)
	EntryByEndpoint(ctx context.Context, endpoint string) (attach.Entry, error)
	Plug(ctx context.Context, endpoint string) (attach.Entry, error)
	Unplug(ctx context.Context, endpoint string) error
	Free(ctx context.Context, ref string) error
	EngineEntries(ctx context.Context) ([]attach.Entry, error)
	FreeIf(ctx context.Context, keep func(attach.Entry) bool) (attach.Freed, error)
	FreeOrphans(ctx context.Context, claims []string) ([]string, error)
	SetAddresses(ctx context.Context, ref string, ips []cloud.FixedIP) (attach.Entry, error)
}

// Cloud is Neutron as the driver uses it.
type Cloud interface {
	FindNetwork(ctx context.Context, nameOrID string) (cloud.Network, error)
	CreateNetwork(ctx context.Context, o cloud.CreateNetworkOpts) (cloud.Network, error)
	DeleteNetwork(ctx context.Context, id string) error
	ListNetworks(ctx context.Context) ([]cloud.Network, error)
	ListPorts(ctx context.Context, f cloud.PortFilter) ([]cloud.Port, error)
	ResolveSecurityGroups(ctx context.Context, namesOrIDs []string) ([]string, error)
}

// Sentinel errors.
var (
	ErrBadOption   = errors.New("bad option")
	ErrUnsupported = errors.New("not supported by the ovn driver")
	ErrUnknownPool = errors.New("not a pool of the ovn IPAM driver")
	ErrPoolInUse   = errors.New("pool already used by another ovn network in this VM")
	ErrNoNetwork   = errors.New("not an ovn network of this VM")
	ErrForeignAddr = errors.New("address not given by the ovn IPAM driver")
)

// Option names (-o for the driver, --ipam-opt for IPAM).
const (
	OptNetwork = "network"
	// OptSecurityGroups: the security groups (names or ids, comma-
	// separated) of the network's container ports; none: the project's
	// default group.
	OptSecurityGroups = "security_groups"
)

// Driver is the Docker network and IPAM driver of one VM.
type Driver struct {
	Attach Attacher
	Cloud  Cloud
	Bridge Bridge
	// BridgeName is the VM bridge holding the records.
	BridgeName string
	Log        *slog.Logger

	// mu orders the changes of the bridge's records: one daemon per VM
	// writes them.
	mu sync.Mutex
	// pairs matches an endpoint's IPv6 request to its IPv4 reservation.
	pairs pairing
}

var (
	_ dockerdriver.NetworkDriver = (*Driver)(nil)
	_ dockerdriver.IPAMDriver    = (*Driver)(nil)
)

func (d *Driver) log() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

func (d *Driver) records(ctx context.Context) (map[string]string, error) {
	ids, err := d.Bridge.BridgeExternalIDs(ctx, d.BridgeName)
	if err != nil {
		return nil, fmt.Errorf("reading the records of bridge %s: %w", d.BridgeName, err)
	}
	return ids, nil
}

func (d *Driver) setRecords(ctx context.Context, ids map[string]string) error {
	if err := d.Bridge.SetBridgeExternalIDs(ctx, d.BridgeName, ids); err != nil {
		return fmt.Errorf("recording on bridge %s: %w", d.BridgeName, err)
	}
	return nil
}

// ---- IPAM ----

// RequestPool gives Docker a pool: --subnet if given, else a subnet that
// no subnet of the tenant uses (an IPv4 /24, or with --ipv6 an IPv6 /64
// too). The pool id is the CIDR; CreateNetwork binds it to the Neutron
// subnet of its IP version.
func (d *Driver) RequestPool(ctx context.Context, req dockerdriver.RequestPoolRequest) (dockerdriver.RequestPoolResponse, error) {
	for k := range req.Options {
		return dockerdriver.RequestPoolResponse{}, fmt.Errorf("%w: --ipam-opt %s: the ovn IPAM driver takes no options (name the Neutron network with -o network=ID|NAME)", ErrBadOption, k)
	}
	if req.SubPool != "" {
		return dockerdriver.RequestPoolResponse{}, fmt.Errorf("--ip-range %s: %w: Neutron allocates from the whole subnet", req.SubPool, ErrUnsupported)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	recs, err := d.records(ctx)
	if err != nil {
		return dockerdriver.RequestPoolResponse{}, err
	}
	var pool netip.Prefix
	if req.Pool != "" {
		if pool, err = netip.ParsePrefix(req.Pool); err != nil || pool.Addr().Is4() == req.V6 || pool.Addr().Is4In6() {
			return dockerdriver.RequestPoolResponse{}, fmt.Errorf("%w: --subnet %q: want %s", ErrBadOption, req.Pool, wantCIDR(req.V6))
		}
		pool = pool.Masked()
		for k := range recs {
			// Two ovn networks of one VM with overlapping subnets would give
			// a container on both two routes to the same addresses.
			if used, err := netip.ParsePrefix(strings.TrimPrefix(k, keyPoolPrefix)); err == nil && strings.HasPrefix(k, keyPoolPrefix) && used.Overlaps(pool) {
				return dockerdriver.RequestPoolResponse{}, fmt.Errorf("--subnet %s overlaps %s: %w (see docker network ls; a Neutron network already bound here is joined with its own subnet)", pool, used, ErrPoolInUse)
			}
		}
	} else {
		var used []netip.Prefix
		for k := range recs {
			if p, err := netip.ParsePrefix(strings.TrimPrefix(k, keyPoolPrefix)); err == nil && strings.HasPrefix(k, keyPoolPrefix) {
				used = append(used, p)
			}
		}
		nets, err := d.Cloud.ListNetworks(ctx)
		if err != nil {
			return dockerdriver.RequestPoolResponse{}, fmt.Errorf("choosing a free subnet: %w", err)
		}
		for _, n := range nets {
			for _, s := range n.Subnets {
				used = append(used, s.CIDR)
			}
		}
		free := cloud.FreeV4Subnet
		if req.V6 {
			free = cloud.FreeV6Subnet
		}
		if pool, err = free(used); err != nil {
			return dockerdriver.RequestPoolResponse{}, fmt.Errorf("%w: pass --subnet", err)
		}
	}
	if err := d.setRecords(ctx, map[string]string{keyPoolPrefix + pool.String(): poolPending}); err != nil {
		return dockerdriver.RequestPoolResponse{}, err
	}
	// Neutron's default gateway is the subnet's first address; giving it
	// here spares Docker a RequestAddress for it.
	gw := netip.PrefixFrom(pool.Addr().Next(), pool.Bits())
	d.log().InfoContext(ctx, "pool", "pool", pool)
	return dockerdriver.RequestPoolResponse{PoolID: pool.String(), Pool: pool.String(), Data: map[string]string{dockerdriver.GatewayAddressType: gw.String()}}, nil
}

// ReleasePool forgets the pool.
func (d *Driver) ReleasePool(ctx context.Context, req dockerdriver.ReleasePoolRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.setRecords(ctx, map[string]string{keyPoolPrefix + req.PoolID: ""})
}

// poolNetwork is the Neutron network and subnet a pool is bound to, and
// the security groups (ids) of its ports (none: the default group).
func (d *Driver) poolNetwork(ctx context.Context, poolID string) (netID, subnetID string, groups []string, err error) {
	recs, err := d.records(ctx)
	if err != nil {
		return "", "", nil, err
	}
	return poolBinding(recs, poolID)
}

// poolBinding reads a pool's record: see poolNetwork.
func poolBinding(recs map[string]string, poolID string) (netID, subnetID string, groups []string, err error) {
	v, ok := recs[keyPoolPrefix+poolID]
	if !ok {
		return "", "", nil, fmt.Errorf("pool %s: %w", poolID, ErrUnknownPool)
	}
	f := strings.Fields(v)
	if len(f) != 2 && len(f) != 3 {
		return "", "", nil, fmt.Errorf("pool %s: %w: its network was not created (use -d ovn with --ipam-driver ovn)", poolID, ErrUnknownPool)
	}
	if len(f) == 3 {
		groups = strings.Split(f[2], ",")
	}
	return f[0], f[1], groups, nil
}

// RequestAddress reserves a Neutron port on the pool's network (from the
// pool of ready ports if it has one) and gives Docker its address; an
// address asked for (--ip) is asked of Neutron. The gateway's address
// (asked for when the network is created) is only echoed: Neutron owns it.
func (d *Driver) RequestAddress(ctx context.Context, req dockerdriver.RequestAddressRequest) (dockerdriver.RequestAddressResponse, error) {
	var ip netip.Addr
	if req.Address != "" {
		var err error
		if ip, err = netip.ParseAddr(req.Address); err != nil {
			return dockerdriver.RequestAddressResponse{}, fmt.Errorf("%w: address %q", ErrBadOption, req.Address)
		}
	}
	if req.Options[dockerdriver.OptionRequestAddressType] == dockerdriver.GatewayAddressType {
		pool, err := netip.ParsePrefix(req.PoolID)
		if err != nil {
			return dockerdriver.RequestAddressResponse{}, fmt.Errorf("pool %s: %w", req.PoolID, ErrUnknownPool)
		}
		if !ip.IsValid() {
			ip = pool.Addr().Next()
		}
		return dockerdriver.RequestAddressResponse{Address: netip.PrefixFrom(ip, pool.Bits()).String()}, nil
	}
	pool, err := netip.ParsePrefix(req.PoolID)
	if err != nil {
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("pool %s: %w", req.PoolID, ErrUnknownPool)
	}
	recs, err := d.records(ctx)
	if err != nil {
		return dockerdriver.RequestAddressResponse{}, err
	}
	netID, subnetID, groups, err := poolBinding(recs, req.PoolID)
	if err != nil {
		return dockerdriver.RequestAddressResponse{}, err
	}
	if pool.Addr().Is6() {
		return d.requestV6(ctx, netID, subnetID, pool, ip)
	}
	e, err := d.Attach.Reserve(ctx, attach.ReserveRequest{NetworkID: netID, IP: ip, Ref: newRef(), SecurityGroups: groups})
	if errors.Is(err, cloud.ErrUnreachable) && !ip.IsValid() {
		// Reserve takes a ready pool port without asking Neutron: it
		// asked because none was left.
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("Neutron network %s: no ready port left in this VM's pool, and a new one needs Neutron: %w", netID, err)
	}
	if err != nil {
		return dockerdriver.RequestAddressResponse{}, err
	}
	addr, ok := addrIn(e.Config.Addresses, pool)
	if !ok {
		_ = d.Attach.Free(context.WithoutCancel(ctx), e.Ref)
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("Neutron port %s has no address in %s", e.PortID, pool)
	}
	if _, ok := boundPool(recs, netID, true); ok {
		// Docker asks for the IPv6 address next: it is this port's.
		if err := d.pairs.publish(ctx, netID, pendingV4{Ref: e.Ref, SubnetID: subnetID, Addr: addr.Addr()}, d.abandoned); err != nil {
			_ = d.Attach.Free(context.WithoutCancel(ctx), e.Ref)
			return dockerdriver.RequestAddressResponse{}, err
		}
	}
	return dockerdriver.RequestAddressResponse{Address: addr.String()}, nil
}

// requestV6 gives Docker the IPv6 address of the port the endpoint's
// IPv4 request reserved: the port's own, or the one asked for (--ip6),
// which Neutron then gives the port. When it fails the IPv4 reservation
// is freed too: Docker does not release it then.
func (d *Driver) requestV6(ctx context.Context, netID, subnetID string, pool netip.Prefix, ip netip.Addr) (_ dockerdriver.RequestAddressResponse, err error) {
	pv, ok := d.pairs.take(netID, "")
	if !ok {
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("%w: IPv6 address of pool %s: no IPv4 address was asked for first; the ovn driver gives an endpoint both addresses of one Neutron port", ErrUnsupported, pool)
	}
	defer func() {
		if err != nil {
			_ = d.Attach.Free(context.WithoutCancel(ctx), pv.Ref)
		}
	}()
	if ip.IsValid() && !pool.Contains(ip) {
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("%w: --ip6 %s is not in the network's IPv6 subnet %s", ErrBadOption, ip, pool)
	}
	e, err := d.entryByRef(ctx, pv.Ref)
	if err != nil {
		return dockerdriver.RequestAddressResponse{}, err
	}
	have, ok := addrIn(e.Config.Addresses, pool)
	if ok && (!ip.IsValid() || have.Addr() == ip) {
		return dockerdriver.RequestAddressResponse{Address: have.String()}, nil
	}
	// An IPv4 address asked for (--ip) gave the port no IPv6 address;
	// an IPv6 address asked for replaces the one Neutron chose.
	ne, err := d.Attach.SetAddresses(ctx, pv.Ref, []cloud.FixedIP{{SubnetID: pv.SubnetID, IP: pv.Addr}, {SubnetID: subnetID, IP: ip}})
	if err != nil {
		if ip.IsValid() {
			return dockerdriver.RequestAddressResponse{}, fmt.Errorf("--ip6 %s: %w", ip, err)
		}
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("giving Neutron port %s an address of %s: %w", e.PortID, pool, err)
	}
	if have, ok = addrIn(ne.Config.Addresses, pool); !ok {
		return dockerdriver.RequestAddressResponse{}, fmt.Errorf("Neutron port %s has no address in %s", e.PortID, pool)
	}
	return dockerdriver.RequestAddressResponse{Address: have.String()}, nil
}

// abandoned frees an IPv4 reservation whose IPv6 request never came.
func (d *Driver) abandoned(pv pendingV4) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d.log().WarnContext(ctx, "no IPv6 request followed the IPv4 reservation: Docker gave up on the endpoint; freeing it", "address", pv.Addr, "ref", pv.Ref)
	if err := d.Attach.Free(ctx, pv.Ref); err != nil {
		d.log().WarnContext(ctx, "freeing an abandoned reservation", "ref", pv.Ref, "err", err)
	}
}

func (d *Driver) entryByRef(ctx context.Context, ref string) (attach.Entry, error) {
	es, err := d.Attach.EngineEntries(ctx)
	if err != nil {
		return attach.Entry{}, err
	}
	for _, e := range es {
		if e.Ref == ref {
			return e, nil
		}
	}
	return attach.Entry{}, fmt.Errorf("reservation %s: %w", ref, attach.ErrNoEntry)
}

// boundPool is the pool of the IP version (v6 or not) bound to the
// Neutron network netID.
func boundPool(recs map[string]string, netID string, v6 bool) (netip.Prefix, bool) {
	for k, v := range recs {
		c, ok := strings.CutPrefix(k, keyPoolPrefix)
		if !ok {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil || p.Addr().Is6() != v6 {
			continue
		}
		if f := strings.Fields(v); len(f) >= 2 && f[0] == netID {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// addrIn is the address of ps in pool, else (a network with several
// subnets of the version) the first of pool's IP version.
func addrIn(ps []netip.Prefix, pool netip.Prefix) (netip.Prefix, bool) {
	for _, p := range ps {
		if pool.Contains(p.Addr()) {
			return p, true
		}
	}
	for _, p := range ps {
		if p.Addr().Is6() == pool.Addr().Is6() {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func newRef() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "docker-" + hex.EncodeToString(b[:])
}

// entryByAddress: the reservation of ip on the Neutron network.
func (d *Driver) entryByAddress(ctx context.Context, netID string, ip netip.Addr) (attach.Entry, error) {
	es, err := d.Attach.EngineEntries(ctx)
	if err != nil {
		return attach.Entry{}, err
	}
	for _, e := range es {
		if e.NetworkID != netID {
			continue
		}
		if slices.ContainsFunc(e.Config.Addresses, func(p netip.Prefix) bool { return p.Addr() == ip }) {
			return e, nil
		}
	}
	return attach.Entry{}, fmt.Errorf("%s: %w", ip, ErrForeignAddr)
}

// ReleaseAddress ends the reservation: the port goes back to the pool or
// is deleted. An address already released is not an error.
func (d *Driver) ReleaseAddress(ctx context.Context, req dockerdriver.ReleaseAddressRequest) error {
	ip, err := netip.ParseAddr(req.Address)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrBadOption, req.Address)
	}
	netID, _, _, err := d.poolNetwork(ctx, req.PoolID)
	if errors.Is(err, ErrUnknownPool) {
		return nil // the gateway of a network being created, or gone
	}
	if err != nil {
		return err
	}
	e, err := d.entryByAddress(ctx, netID, ip)
	if errors.Is(err, ErrForeignAddr) {
		return nil
	}
	if err != nil {
		return err
	}
	return d.Attach.Free(ctx, e.Ref)
}

// ---- network driver ----

// CreateNetwork binds the Docker network (and its pool) to a Neutron
// network: the one named by -o network=ID|NAME, created with the pool as
// its subnet if no network has that name.
func (d *Driver) CreateNetwork(ctx context.Context, req dockerdriver.CreateNetworkRequest) error {
	opts, err := genericOptions(req.Options)
	if err != nil {
		return err
	}
	if len(req.IPv4Data) != 1 || req.IPv4Data[0].AddressSpace != dockerdriver.AddressSpace {
		return fmt.Errorf("%w: addresses come from Neutron: create the network with --ipam-driver ovn (and at most one IPv4 --subnet)", ErrBadOption)
	}
	pool, err := netip.ParsePrefix(req.IPv4Data[0].Pool)
	if err != nil {
		return fmt.Errorf("%w: pool %q", ErrBadOption, req.IPv4Data[0].Pool)
	}
	// With --ipv6, Docker gives an IPv6 pool too.
	var pool6 netip.Prefix
	switch {
	case len(req.IPv6Data) > 1 || len(req.IPv6Data) == 1 && req.IPv6Data[0].AddressSpace != dockerdriver.AddressSpace:
		return fmt.Errorf("%w: addresses come from Neutron: create the network with --ipam-driver ovn (and at most one IPv6 --subnet)", ErrBadOption)
	case len(req.IPv6Data) == 1:
		if pool6, err = netip.ParsePrefix(req.IPv6Data[0].Pool); err != nil || !pool6.Addr().Is6() {
			return fmt.Errorf("%w: IPv6 pool %q", ErrBadOption, req.IPv6Data[0].Pool)
		}
	default:
		if v, _ := req.Options[dockerdriver.OptionEnableIPv6].(bool); v {
			return fmt.Errorf("%w: --ipv6 without an IPv6 pool: create the network with --ipam-driver ovn", ErrBadOption)
		}
	}
	name := opts[OptNetwork]
	if name == "" {
		return fmt.Errorf("%w: name the Neutron network with -o network=NAME (found, or created with the network's subnet) or -o network=ID: Docker does not tell drivers the network's own name", ErrBadOption)
	}
	// Groups are resolved first: a bad one leaves nothing made.
	var groups []string
	if v := opts[OptSecurityGroups]; v != "" {
		if groups, err = d.Cloud.ResolveSecurityGroups(ctx, strings.Split(v, ",")); err != nil {
			return fmt.Errorf("%w: -o %s=%s: %w", ErrBadOption, OptSecurityGroups, v, err)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	nw, created, err := d.neutronNetwork(ctx, name, pool, pool6)
	if err != nil {
		return err
	}
	sub, err := pickSubnet(nw, pool)
	var sub6 cloud.Subnet
	if err == nil && pool6.IsValid() {
		sub6, err = pickSubnet(nw, pool6)
	}
	if err != nil {
		if created {
			d.deleteCreated(ctx, nw.ID)
		}
		return err
	}
	rec := network{NeutronID: nw.ID, SubnetID: sub.ID, Pool: pool, Created: created}
	poolRec := func(subnetID string) string {
		if len(groups) > 0 {
			return nw.ID + " " + subnetID + " " + strings.Join(groups, ",")
		}
		return nw.ID + " " + subnetID
	}
	recs := map[string]string{
		keyNetworkPrefix + req.NetworkID: rec.String(),
		keyPoolPrefix + pool.String():    poolRec(sub.ID),
	}
	if pool6.IsValid() {
		recs[keyPoolPrefix+pool6.String()] = poolRec(sub6.ID)
	}
	if err := d.setRecords(ctx, recs); err != nil {
		if created {
			d.deleteCreated(ctx, nw.ID)
		}
		return err
	}
	d.log().InfoContext(ctx, "network", "docker_network", req.NetworkID, "neutron_network", nw.ID, "subnet", sub.CIDR, "ipv6_subnet", sub6.CIDR, "created", created)
	return nil
}

func (d *Driver) deleteCreated(ctx context.Context, id string) {
	if err := d.Cloud.DeleteNetwork(context.WithoutCancel(ctx), id); err != nil {
		d.log().WarnContext(ctx, "rollback: deleting the Neutron network failed", "network", id, "err", err)
	}
}

// genericOptions are the -o options; only known ones are accepted.
func genericOptions(opts map[string]any) (map[string]string, error) {
	out := map[string]string{}
	g, _ := opts[dockerdriver.OptionGeneric].(map[string]any)
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := g[k].(string)
		if (k != OptNetwork && k != OptSecurityGroups) || !ok {
			return nil, fmt.Errorf("%w: -o %s: the ovn driver knows -o network=ID|NAME and -o security_groups=SG1,SG2 only", ErrBadOption, k)
		}
		out[k] = s
	}
	return out, nil
}

// neutronNetwork finds the network, or creates it (by name only) with the
// pools as its subnets (pool6 if valid). A network found is not changed:
// it has the IPv6 subnet, or the Docker network cannot have IPv6.
func (d *Driver) neutronNetwork(ctx context.Context, name string, pool, pool6 netip.Prefix) (cloud.Network, bool, error) {
	nw, err := d.Cloud.FindNetwork(ctx, name)
	if err == nil {
		return nw, false, nil
	}
	if !errors.Is(err, cloud.ErrNotFound) {
		return cloud.Network{}, false, fmt.Errorf("-o network=%s: %w", name, err)
	}
	if cloud.LooksLikeID(name) {
		return cloud.Network{}, false, fmt.Errorf("-o network=%s: %w: no network of your project has that id", name, err)
	}
	nw, err = d.Cloud.CreateNetwork(ctx, cloud.CreateNetworkOpts{Name: name, IPv4CIDR: pool, IPv6CIDR: pool6})
	if err != nil {
		return cloud.Network{}, false, fmt.Errorf("-o network=%s: creating it: %w", name, err)
	}
	return nw, true, nil
}

// pickSubnet: the network's subnet equal to the pool, of the pool's IP
// version.
func pickSubnet(nw cloud.Network, pool netip.Prefix) (cloud.Subnet, error) {
	v6 := pool.Addr().Is6()
	var cidrs []string
	for _, s := range nw.Subnets {
		if s.CIDR.Addr().Is6() != v6 {
			continue
		}
		if s.CIDR.Masked() == pool {
			return s, nil
		}
		cidrs = append(cidrs, s.CIDR.String())
	}
	version, flag := "IPv4", ""
	if v6 {
		version, flag = "IPv6", " --ipv6"
	}
	if len(cidrs) == 0 {
		if v6 {
			return cloud.Subnet{}, fmt.Errorf("%w: --ipv6: Neutron network %s (%s) exists and has no IPv6 subnet; the ovn driver adds subnets only to networks it creates: add one in Neutron (openstack subnet create --ip-version 6 --network %s ...) or create the Docker network without --ipv6", ErrBadOption, nw.Name, nw.ID, nw.ID)
		}
		return cloud.Subnet{}, fmt.Errorf("%w: Neutron network %s (%s) has no IPv4 subnet", ErrBadOption, nw.Name, nw.ID)
	}
	return cloud.Subnet{}, fmt.Errorf("%w: Neutron network %s exists with %s subnet(s) %s, not %s: create the Docker network%s with --subnet %s", ErrBadOption, nw.Name, version, strings.Join(cidrs, ", "), pool, flag, cidrs[0])
}

// Served lists the Neutron networks of the Docker networks this driver
// serves.
func (d *Driver) Served(ctx context.Context) (map[string]bool, error) {
	recs, err := d.records(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for k, v := range recs {
		if !strings.HasPrefix(k, keyNetworkPrefix) {
			continue
		}
		if n, err := parseNetwork(v); err == nil {
			out[n.NeutronID] = true
		}
	}
	return out, nil
}

func (d *Driver) network(ctx context.Context, dockerID string) (network, error) {
	recs, err := d.records(ctx)
	if err != nil {
		return network{}, err
	}
	v, ok := recs[keyNetworkPrefix+dockerID]
	if !ok {
		return network{}, fmt.Errorf("network %s: %w", dockerID, ErrNoNetwork)
	}
	return parseNetwork(v)
}

// DeleteNetwork forgets the Docker network, and deletes its Neutron
// network if this VM created it and no port is left on it (other VMs'
// containers, or ports someone else made).
func (d *Driver) DeleteNetwork(ctx context.Context, req dockerdriver.DeleteNetworkRequest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.network(ctx, req.NetworkID)
	if errors.Is(err, ErrNoNetwork) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Created {
		ps, err := d.Cloud.ListPorts(ctx, cloud.PortFilter{NetworkID: n.NeutronID})
		switch {
		case err != nil:
			return fmt.Errorf("listing the ports of Neutron network %s: %w", n.NeutronID, err)
		case len(ps) > 0:
			d.log().InfoContext(ctx, "Neutron network still has ports; kept", "network", n.NeutronID, "ports", len(ps))
		default:
			if err := d.Cloud.DeleteNetwork(ctx, n.NeutronID); err != nil && !errors.Is(err, cloud.ErrNotFound) {
				return fmt.Errorf("deleting Neutron network %s: %w", n.NeutronID, err)
			}
		}
	}
	return d.setRecords(ctx, map[string]string{keyNetworkPrefix + req.NetworkID: ""})
}

// CreateEndpoint binds the address Docker got from RequestAddress to the
// endpoint, and gives Docker the port's MAC.
func (d *Driver) CreateEndpoint(ctx context.Context, req dockerdriver.CreateEndpointRequest) (dockerdriver.CreateEndpointResponse, error) {
	n, err := d.network(ctx, req.NetworkID)
	if err != nil {
		return dockerdriver.CreateEndpointResponse{}, err
	}
	if req.Interface == nil || req.Interface.Address == "" {
		return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("%w: endpoint %s has no IPv4 address: use --ipam-driver ovn", ErrForeignAddr, req.EndpointID)
	}
	p, err := netip.ParsePrefix(req.Interface.Address)
	if err != nil {
		return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("%w: address %q", ErrBadOption, req.Interface.Address)
	}
	e, err := d.entryByAddress(ctx, n.NeutronID, p.Addr())
	if err != nil {
		return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("endpoint %s: %w (create the network with --ipam-driver ovn)", req.EndpointID, err)
	}
	if e.Endpoint != "" && e.Endpoint != req.EndpointID {
		return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("address %s is endpoint %s's already", p.Addr(), e.Endpoint)
	}
	if a := req.Interface.AddressIPv6; a != "" {
		p6, err := netip.ParsePrefix(a)
		if err != nil {
			return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("%w: IPv6 address %q", ErrBadOption, a)
		}
		if !slices.Contains(e.Config.Addresses, p6) {
			return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("endpoint %s: IPv6 address %s: %w: Neutron port %s has %v", req.EndpointID, p6, ErrForeignAddr, e.PortID, e.Config.Addresses)
		}
	}
	mac := e.Config.MAC.String()
	if m := req.Interface.MacAddress; m != "" && !strings.EqualFold(m, mac) {
		return dockerdriver.CreateEndpointResponse{}, fmt.Errorf("%w: --mac-address %s: the MAC is Neutron's port's (%s)", ErrUnsupported, m, mac)
	}
	if _, err := d.Attach.SetEndpoint(ctx, e.Ref, req.EndpointID); err != nil {
		return dockerdriver.CreateEndpointResponse{}, err
	}
	if req.Interface.MacAddress != "" {
		return dockerdriver.CreateEndpointResponse{}, nil
	}
	return dockerdriver.CreateEndpointResponse{Interface: &dockerdriver.EndpointInterface{MacAddress: mac}}, nil
}

// DeleteEndpoint deletes the endpoint's veth; the address stays reserved
// until Docker releases it.
func (d *Driver) DeleteEndpoint(ctx context.Context, req dockerdriver.DeleteEndpointRequest) error {
	return d.Attach.Unplug(ctx, req.EndpointID)
}

// EndpointInfo is what `docker inspect` shows of the endpoint.
func (d *Driver) EndpointInfo(ctx context.Context, req dockerdriver.EndpointInfoRequest) (dockerdriver.EndpointInfoResponse, error) {
	e, err := d.Attach.EntryByEndpoint(ctx, req.EndpointID)
	if err != nil {
		return dockerdriver.EndpointInfoResponse{}, err
	}
	return dockerdriver.EndpointInfoResponse{Value: map[string]any{
		"ovs_port": e.PortName, "vlan": strconv.Itoa(e.VLAN), "neutron_port": e.PortID, "neutron_network": e.NetworkID,
	}}, nil
}

// Join plugs the endpoint's veth, proves its data path, and hands its
// free end to Docker, which moves it into the container as eth<n>.
func (d *Driver) Join(ctx context.Context, req dockerdriver.JoinRequest) (dockerdriver.JoinResponse, error) {
	e, err := d.Attach.Plug(ctx, req.EndpointID)
	if err != nil {
		return dockerdriver.JoinResponse{}, err
	}
	resp := dockerdriver.JoinResponse{InterfaceName: dockerdriver.InterfaceName{SrcName: e.Peer, DstPrefix: "eth"}}
	// An IPv6 gateway only where Docker configured the IPv6 address (the
	// network has --ipv6): a route via an unreachable gateway fails the
	// join. A port of a Neutron network with an IPv6 subnet has that
	// address even without.
	recs, err := d.records(ctx)
	if err != nil {
		return dockerdriver.JoinResponse{}, err
	}
	pool6, _ := boundPool(recs, e.NetworkID, true)
	for _, gw := range e.Config.Gateways {
		switch {
		case gw.Is4() && resp.Gateway == "":
			resp.Gateway = gw.String()
		case gw.Is6() && resp.GatewayIPv6 == "" && pool6.Contains(gw):
			resp.GatewayIPv6 = gw.String()
		}
	}
	return resp, nil
}

// Leave has nothing to do: Docker moves the interface out of the
// container, and DeleteEndpoint deletes it.
func (d *Driver) Leave(context.Context, dockerdriver.LeaveRequest) error { return nil }

// wantCIDR describes the --subnet expected.
func wantCIDR(v6 bool) string {
	if v6 {
		return "an IPv6 CIDR such as fd00:0:0:1::/64 (with --ipv6, give --subnet once per IP version)"
	}
	return "an IPv4 CIDR such as 10.1.2.0/24"
}
