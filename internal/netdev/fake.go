package netdev

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// Fake is an in-memory stand-in for Netlink in consumers' unit tests. It
// records links per namespace ("" is the current one) and can be told to
// fail. The zero value is ready to use; safe for concurrent use.
type Fake struct {
	// Injected failures, returned as is (set them before use).
	FailCreate error // CreateVeth creates nothing and returns it
	FailDelete error // DeleteLink and DeleteLinkInNetns return it
	FailProbe  error // ProbeDHCP returns it

	mu     sync.Mutex
	links  map[fakeKey]FakeLink
	probes []FakeProbe
}

// FakeProbe is one ProbeDHCP call Fake recorded.
type FakeProbe struct {
	Netns, IfName string
	MAC           net.HardwareAddr
	IP            netip.Addr
}

// FakeLink is what Fake recorded about one link.
type FakeLink struct {
	Netns string // "" for the current namespace
	Name  string
	Peer  string // the other end's name, for veths
	MTU   int
	MAC   net.HardwareAddr
	Cfg   IfaceConfig // the peer's configuration, on the container end
	Down  bool        // administratively down (see SetDown)
}

type fakeKey struct{ netns, name string }

// defaultMTU is what the kernel gives a veth created without one.
const defaultMTU = 1500

// CreateVeth records both ends like Netlink.CreateVeth would make them.
func (f *Fake) CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(hostName, cfg); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailCreate != nil {
		return f.FailCreate
	}
	if f.links == nil {
		f.links = map[fakeKey]FakeLink{}
	}
	if _, ok := f.links[fakeKey{"", hostName}]; ok {
		return fmt.Errorf("create veth %s: %w", hostName, ErrExists)
	}
	if _, ok := f.links[fakeKey{netnsPath, cfg.Name}]; ok {
		return fmt.Errorf("create veth %s: %q in %s: %w", hostName, cfg.Name, netnsPath, ErrExists)
	}
	mtu := cfg.MTU
	if mtu == 0 {
		mtu = defaultMTU
	}
	f.links[fakeKey{"", hostName}] = FakeLink{Name: hostName, Peer: cfg.Name, MTU: mtu,
		MAC: net.HardwareAddr{0x02, 0, 0, 0, 0, byte(len(f.links))}}
	f.links[fakeKey{netnsPath, cfg.Name}] = FakeLink{Netns: netnsPath, Name: cfg.Name, Peer: hostName, MTU: mtu, MAC: cfg.MAC, Cfg: cfg}
	return nil
}

// DeleteLink removes a link of the current namespace and, for a veth, its
// peer.
func (f *Fake) DeleteLink(ctx context.Context, name string) error {
	return f.delete(ctx, "", name)
}

// DeleteLinkInNetns removes a link inside netnsPath and its peer.
func (f *Fake) DeleteLinkInNetns(ctx context.Context, netnsPath, name string) error {
	return f.delete(ctx, netnsPath, name)
}

func (f *Fake) delete(ctx context.Context, netns, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.FailDelete != nil {
		return f.FailDelete
	}
	l, ok := f.links[fakeKey{netns, name}]
	if !ok {
		return nil
	}
	delete(f.links, fakeKey{netns, name})
	for k, p := range f.links {
		if p.Peer == name && l.Peer == p.Name {
			delete(f.links, k)
		}
	}
	return nil
}

// LinkExists reports whether the current namespace has the link.
func (f *Fake) LinkExists(ctx context.Context, name string) (bool, error) {
	_, err := f.link(ctx, name)
	if errors.Is(err, ErrNoLink) {
		return false, nil
	}
	return err == nil, err
}

// LinkMTU returns a current-namespace link's MTU.
func (f *Fake) LinkMTU(ctx context.Context, name string) (int, error) {
	l, err := f.link(ctx, name)
	return l.MTU, err
}

// LinkMAC returns a current-namespace link's MAC.
func (f *Fake) LinkMAC(ctx context.Context, name string) (net.HardwareAddr, error) {
	l, err := f.link(ctx, name)
	return l.MAC, err
}

func (f *Fake) link(ctx context.Context, name string) (FakeLink, error) {
	if err := ctx.Err(); err != nil {
		return FakeLink{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.links[fakeKey{"", name}]
	if !ok {
		return FakeLink{}, fmt.Errorf("link %s: %w", name, ErrNoLink)
	}
	return l, nil
}

// Links returns every recorded link, sorted by namespace then name.
func (f *Fake) Links() []FakeLink {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Collect(maps.Values(f.links))
	slices.SortFunc(out, func(a, b FakeLink) int {
		return cmp.Or(strings.Compare(a.Netns, b.Netns), strings.Compare(a.Name, b.Name))
	})
	return out
}

// ProbeDHCP records the probe and returns FailProbe. The interface must
// exist in the namespace, as for the real probe.
func (f *Fake) ProbeDHCP(ctx context.Context, netnsPath, ifName string, mac net.HardwareAddr, ip netip.Addr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.probes = append(f.probes, FakeProbe{Netns: netnsPath, IfName: ifName, MAC: mac, IP: ip})
	if f.FailProbe != nil {
		return f.FailProbe
	}
	if _, ok := f.links[fakeKey{netnsPath, ifName}]; !ok {
		return fmt.Errorf("DHCP probe on %s in %s: %w", ifName, netnsPath, ErrNoLink)
	}
	return nil
}

// EnsureUp sets a current-namespace link up and reports whether it was
// down.
func (f *Fake) EnsureUp(ctx context.Context, name string) (bool, error) {
	l, err := f.link(ctx, name)
	if err != nil || !l.Down {
		return false, err
	}
	f.SetDown(name, false)
	return true, nil
}

// LinkDown reports whether a current-namespace link is down.
func (f *Fake) LinkDown(ctx context.Context, name string) (bool, error) {
	l, err := f.link(ctx, name)
	return l.Down, err
}

// SetDown sets a current-namespace link down or up, as ovs-vswitchd or
// an operator may; it does nothing to a link the fake does not have.
func (f *Fake) SetDown(name string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fakeKey{"", name}
	if l, ok := f.links[k]; ok {
		l.Down = down
		f.links[k] = l
	}
}

// Probes returns the ProbeDHCP calls so far, in order.
func (f *Fake) Probes() []FakeProbe {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.probes)
}

// MoveLink moves a current-namespace link into netnsPath as cfg.Name,
// like Netlink.MoveLink (the peer keeps its name).
func (f *Fake) MoveLink(ctx context.Context, name, netnsPath string, cfg IfaceConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(name, cfg); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.links[fakeKey{"", name}]
	if !ok {
		return fmt.Errorf("move %s: %w", name, ErrNoLink)
	}
	if _, ok := f.links[fakeKey{netnsPath, cfg.Name}]; ok {
		return fmt.Errorf("move %s: %q in %s: %w", name, cfg.Name, netnsPath, ErrExists)
	}
	delete(f.links, fakeKey{"", name})
	for k, p := range f.links {
		if p.Peer == name && l.Peer == p.Name {
			p.Peer = cfg.Name
			f.links[k] = p
		}
	}
	l.Netns, l.Name, l.Cfg = netnsPath, cfg.Name, cfg
	f.links[fakeKey{netnsPath, cfg.Name}] = l
	return nil
}
