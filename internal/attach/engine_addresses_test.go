package attach

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// readdressCloud is the fake cloud with port updates: an address asked
// for is taken as is, a subnet alone gets its ::a (or .10).
type readdressCloud struct {
	*fakeCloud
	err error
}

func (c readdressCloud) SetPortFixedIPs(_ context.Context, id string, ips []cloud.FixedIP) (cloud.Port, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return cloud.Port{}, c.err
	}
	p, ok := c.ports[id]
	if !ok {
		return cloud.Port{}, fmt.Errorf("port %s: %w", id, cloud.ErrNotFound)
	}
	nw, _ := c.find(p.NetworkID)
	p.FixedIPs = nil
	for _, ip := range ips {
		if !ip.IP.IsValid() {
			s, _ := nw.SubnetByID(ip.SubnetID)
			a := s.CIDR.Addr()
			for range 10 {
				a = a.Next()
			}
			ip.IP = a
		}
		p.FixedIPs = append(p.FixedIPs, ip)
	}
	c.ports[id] = p
	return p, nil
}

var samePrefix = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestEngineSetAddresses(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	r.a.Pool = r.sw
	if _, err := r.a.Reserve(ctx, ReserveRequest{NetworkID: "net-1", Ref: "ref-1"}); err != nil {
		t.Fatal(err)
	}
	want := []cloud.FixedIP{{SubnetID: "sub-4", IP: netip.MustParseAddr("10.1.0.7")}, {SubnetID: "sub-6"}}
	if _, err := r.a.SetAddresses(ctx, "ref-1", want); !errors.Is(err, ErrNoReaddress) {
		t.Errorf("a cloud without port updates: %v, want ErrNoReaddress", err)
	}
	rc := readdressCloud{fakeCloud: r.cl}
	r.a.Cloud = rc
	e, err := r.a.SetAddresses(ctx, "ref-1", want)
	if err != nil {
		t.Fatal(err)
	}
	addrs := []netip.Prefix{netip.MustParsePrefix("10.1.0.7/24"), netip.MustParsePrefix("fd00:1::a/64")}
	if diff := cmp.Diff(addrs, e.Config.Addresses, samePrefix); diff != "" {
		t.Errorf("entry's addresses (-want +got):\n%s", diff)
	}
	// Recorded: what EngineEntries reads back.
	es, err := r.a.EngineEntries(ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("entries %+v, %v", es, err)
	}
	if diff := cmp.Diff(addrs, es[0].Config.Addresses, samePrefix); diff != "" {
		t.Errorf("recorded addresses (-want +got):\n%s", diff)
	}
	// Neutron refuses: the entry keeps its addresses.
	r.a.Cloud = readdressCloud{fakeCloud: r.cl, err: fmt.Errorf("IP in use: %w", cloud.ErrConflict)}
	if _, err := r.a.SetAddresses(ctx, "ref-1", want); !errors.Is(err, cloud.ErrConflict) {
		t.Errorf("refused: %v, want ErrConflict", err)
	}
	if es, _ := r.a.EngineEntries(ctx); len(es) != 1 || cmp.Diff(addrs, es[0].Config.Addresses, samePrefix) != "" {
		t.Errorf("after a refusal: %+v", es)
	}
	// An endpoint's addresses are the engine's: no longer changed.
	r.a.Cloud = rc
	if _, err := r.a.SetEndpoint(ctx, "ref-1", "ep-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.a.SetAddresses(ctx, "ref-1", want); err == nil {
		t.Error("the addresses of an endpoint's entry were changed")
	}
	if _, err := r.a.SetAddresses(ctx, "ref-9", want); !errors.Is(err, ErrNoEntry) {
		t.Errorf("unknown reservation: %v, want ErrNoEntry", err)
	}
}
