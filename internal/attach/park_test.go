package attach

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parkingLinks is fakeLinks that can move a parked end (PeerMover) and
// see links (LinkInspector), so that the pool parks veths.
type parkingLinks struct {
	*fakeLinks
	moved []string // peer -> netns/ifname
}

func (p *parkingLinks) MoveLink(_ context.Context, name, netns string, cfg IfaceConfig) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for host, c := range p.links {
		if c.Name == name {
			cfg.MAC, cfg.MTU = c.MAC, c.MTU
			p.links[host] = cfg
			p.moved = append(p.moved, name+" -> "+netns+"/"+cfg.Name)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", ErrNoParkedPeer, name)
}

func (p *parkingLinks) LinkExists(_ context.Context, name string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for host, c := range p.links {
		if host == name || c.Name == name {
			return true, nil
		}
	}
	return false, nil
}

func (p *parkingLinks) LinkInNetns(context.Context, string, string) (bool, error) { return true, nil }
func (p *parkingLinks) LinkDown(context.Context, string) (bool, error)            { return false, nil }

func newParkingRig(t *testing.T) (*rig, *parkingLinks) {
	t.Helper()
	r := newPoolRig(t)
	pl := &parkingLinks{fakeLinks: r.links}
	r.a.Links = pl
	return r, pl
}

// parked: each ready entry's parked peer, by access port.
func (r *rig) parked(t *testing.T) map[string]string {
	t.Helper()
	es, err := r.a.poolEntries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		if e.ExternalIDs[KeyState] == statePool {
			out[e.Name] = e.ExternalIDs[KeyParked]
		}
	}
	return out
}

func TestPoolParksProvenVeths(t *testing.T) {
	r, pl := newParkingRig(t)
	ctx := context.Background()
	if _, err := r.a.FillPool(ctx, "LS1", nil, 2); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for name := range r.sw.ports {
		want[name] = PeerName(name)
		cfg := r.links.links[name]
		if cfg.Name != PeerName(name) || !cfg.NoIPv6AddrGen || len(cfg.Addresses) != 0 || cfg.MTU != 1442 || cfg.MAC == nil {
			t.Errorf("parked end of %s: %+v", name, cfg)
		}
	}
	if d := cmp.Diff(want, r.parked(t)); d != "" {
		t.Errorf("parked after fill (-want +got):\n%s", d)
	}
	if len(r.links.probes) != 2 {
		t.Errorf("fill probed %v, want one probe per entry", r.links.probes)
	}
	// and announced each entry's addresses from its parked end: the
	// engine's Join hands that end over without a word on the network.
	if len(r.links.announced) != 2 {
		t.Errorf("fill announced %v, want one announcement per entry", r.links.announced)
	}
	for _, an := range r.links.announced {
		if !strings.HasPrefix(an, ownNetns+"/ovc") || !strings.Contains(an, "[") || strings.Contains(an, "[]") {
			t.Errorf("fill's announcement %q: want one from a parked end with the port's addresses", an)
		}
	}

	// Taking an entry moves its parked end: no veth made, no probe.
	probes := len(r.links.probes)
	at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{PeerName(at.PortName) + " -> " + r.netns + "/eth0"}, pl.moved); d != "" {
		t.Errorf("moved (-want +got):\n%s", d)
	}
	if len(r.links.probes) != probes || len(r.links.links) != 2 {
		t.Errorf("attach probed %v, links %v", r.links.probes[probes:], r.links.links)
	}
	if cfg := r.links.links[at.PortName]; cfg.Name != "eth0" || len(cfg.Addresses) != 2 || len(cfg.Gateways) != 1 || !cfg.DisableTxChecksum {
		t.Errorf("moved end %+v", cfg)
	}
	if r.sw.ports[at.PortName].ExternalIDs[KeyParked] != "" {
		t.Errorf("attachment still records a parked end: %v", r.sw.ports[at.PortName].ExternalIDs)
	}

	// Detach gives it back without veth: the next namespace attach
	// makes one in place, cheaper than a move.
	if _, err := r.a.Detach(ctx, Selector{ContainerID: "c1"}); err != nil {
		t.Fatal(err)
	}
	want[at.PortName] = ""
	if d := cmp.Diff(want, r.parked(t)); d != "" {
		t.Errorf("parked after the return (-want +got):\n%s", d)
	}
	if len(r.links.probes) != probes || len(r.links.links) != 1 {
		t.Errorf("the return probed %v, links %v", r.links.probes[probes:], r.links.links)
	}

	// The engine takes the parked entry first, and gets its end as is;
	// then the other one, plugged as before. Both go back parked.
	var es []Entry
	for i := range 2 {
		ref := fmt.Sprint("ref-", i)
		e, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.a.SetEndpoint(ctx, ref, fmt.Sprint("ep-", i)); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if es[0].PortName == at.PortName {
		t.Errorf("the engine took the unparked entry %s first", at.PortName)
	}
	for i, wantProbes := range []int{0, 1} {
		probes = len(r.links.probes)
		p, err := r.a.Plug(ctx, fmt.Sprint("ep-", i))
		if err != nil {
			t.Fatal(err)
		}
		if p.Peer != PeerName(es[i].PortName) || p.State != stateReady || len(r.links.probes) != probes+wantProbes {
			t.Errorf("plug %d of %s: %+v, probes %v", i, es[i].PortName, p, r.links.probes[probes:])
		}
	}
	for i := range 2 {
		if err := r.a.Unplug(ctx, fmt.Sprint("ep-", i)); err != nil {
			t.Fatal(err)
		}
		if err := r.a.Free(ctx, fmt.Sprint("ref-", i)); err != nil {
			t.Fatal(err)
		}
	}
	want[at.PortName] = PeerName(at.PortName)
	if d := cmp.Diff(want, r.parked(t)); d != "" {
		t.Errorf("parked after the engine freed both (-want +got):\n%s", d)
	}

	// gc removes a ready entry whose parked veth went.
	var gone string
	for name := range want {
		gone = name
		break
	}
	if err := r.links.DeleteLink(ctx, gone); err != nil {
		t.Fatal(err)
	}
	rep, err := r.a.GC(ctx, NetnsAlive, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{gone}, rep.PoolRemoved); d != "" {
		t.Errorf("gc removed (-want +got):\n%s", d)
	}

	// Drain deletes the veths with the entries.
	if _, err := r.a.DrainPool(ctx, "LS1"); err != nil {
		t.Fatal(err)
	}
	r.empty(t)
}
