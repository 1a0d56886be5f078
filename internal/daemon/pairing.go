package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Docker asks for an endpoint's IPv4 address, then for its IPv6 address,
// in two RequestAddress calls that carry nothing of the endpoint. One
// Neutron port holds both, so the IPv6 request must find the port the
// IPv4 request reserved: per Neutron network, a reservation is published
// for the next IPv6 request and the next IPv4 reservation waits until it
// is taken. Docker makes the two calls back to back for one endpoint,
// so the wait is short. A reservation nobody takes within pairTimeout
// was abandoned: Docker failed in between (e.g. an --ip6 outside the
// network's subnets) and, failing there, does not release the IPv4
// address; it is freed then.

const (
	pairTimeout = 5 * time.Second
	pairWait    = 4 * pairTimeout
)

// pendingV4 is an IPv4 reservation waiting for its IPv6 request.
type pendingV4 struct {
	Ref      string
	SubnetID string // the IPv4 subnet
	Addr     netip.Addr
}

type pairSlot struct {
	free    chan struct{} // holds a token while the slot is empty
	pending pendingV4
	timer   *time.Timer
}

// pairing holds the slots; its zero value is ready.
type pairing struct {
	mu    sync.Mutex
	slots map[string]*pairSlot
}

func (p *pairing) slot(netID string) *pairSlot {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.slots == nil {
		p.slots = map[string]*pairSlot{}
	}
	s, ok := p.slots[netID]
	if !ok {
		s = &pairSlot{free: make(chan struct{}, 1)}
		s.free <- struct{}{}
		p.slots[netID] = s
	}
	return s
}

// publish waits until the network's slot is empty and puts pv there;
// abandoned runs if nothing takes it within pairTimeout.
func (p *pairing) publish(ctx context.Context, netID string, pv pendingV4, abandoned func(pendingV4)) error {
	s := p.slot(netID)
	t := time.NewTimer(pairWait)
	defer t.Stop()
	select {
	case <-s.free:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("Neutron network %s: another endpoint's IPv6 address was not asked for within %s", netID, pairWait)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s.pending = pv
	s.timer = time.AfterFunc(pairTimeout, func() {
		if _, ok := p.take(netID, pv.Ref); ok {
			abandoned(pv)
		}
	})
	return nil
}

// take empties the network's slot and returns what it held; ref, if not
// empty, must be the one held.
func (p *pairing) take(netID, ref string) (pendingV4, bool) {
	s := p.slot(netID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.pending.Ref == "" || (ref != "" && s.pending.Ref != ref) {
		return pendingV4{}, false
	}
	pv := s.pending
	s.pending = pendingV4{}
	s.timer.Stop()
	s.free <- struct{}{}
	return pv, true
}
