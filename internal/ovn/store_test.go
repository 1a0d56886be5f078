package ovn

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ipam"
	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func open(t *testing.T, endpoint string) *Store {
	t.Helper()
	return openWith(t, Config{Endpoints: []string{endpoint}})
}

// openWith opens a store configured by cfg, closed when t ends.
func openWith(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func ptr[T any](v T) *T { return &v }

func mkNet(t *testing.T, s *Store, project, cidr string) (*Network, *Subnet) {
	t.Helper()
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, NetworkSpec{Name: ptr("n"), ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix(cidr)
	gw := ipam.DefaultGateway(p)
	sn, err := s.CreateSubnet(ctx, Scope{ProjectID: project}, SubnetSpec{
		ProjectID: project, NetworkID: n.ID, IPVersion: 4, CIDR: p, Gateway: gw,
		Pools: ipam.DefaultPools(p, gw), EnableDHCP: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return n, sn
}

func TestPortLifecycleWritesNB(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	s := open(t, ep)
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	n, sn := mkNet(t, s, "demo", "10.0.0.0/24")
	vm, err := s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo", Name: ptr("vm")})
	if err != nil {
		t.Fatal(err)
	}
	if got := vm.FixedIPs; len(got) != 1 || got[0].SubnetID != sn.ID || got[0].IPAddress != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("fixed ips = %v", got)
	}
	c, err := s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo",
		Profile: &Profile{Raw: []byte(`{"parent_name":"` + vm.ID + `","tag":7}`), ParentName: vm.ID, Tag: 7}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ovn-nbctl", "--db="+ep, "--bare", "--columns=parent_name,tag_request,addresses,port_security", "list", "Logical_Switch_Port", c.ID).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	want := fmt.Sprintf("%s\n7\n%s 10.0.0.3\n%s 10.0.0.3", vm.ID, c.MAC, c.MAC)
	if got := strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\n\n", "\n")), " "); got != strings.Join(strings.Fields(want), " ") {
		t.Fatalf("LSP = %q, want %q", got, want)
	}
	_, err = s.CreatePort(ctx, sc, PortSpec{NetworkID: n.ID, ProjectID: "demo", Profile: &Profile{ParentName: vm.ID, Tag: 7}})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate tag: %v", err)
	}
	if err := s.DeletePort(ctx, sc, vm.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete parent: %v", err)
	}
	if err := s.DeleteNetwork(ctx, sc, n.ID); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete network: %v", err)
	}
	// Another project cannot see the parent: same answer as a missing port.
	_, err1 := s.CreatePort(ctx, Scope{ProjectID: "alt"}, PortSpec{NetworkID: n.ID, ProjectID: "alt", Profile: &Profile{ParentName: vm.ID, Tag: 8}})
	if !errors.Is(err1, ErrNotFound) {
		t.Fatalf("other project parent: %v", err1)
	}
	for _, id := range []string{c.ID, vm.ID} {
		if err := s.DeletePort(ctx, sc, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteNetwork(ctx, sc, n.ID); err != nil {
		t.Fatal(err)
	}
}

func TestTwoStoresAllocateDistinctAddresses(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	n, _ := mkNet(t, a, "demo", "10.1.0.0/24")
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				p, err := s.CreatePort(ctx, Scope{ProjectID: "demo"}, PortSpec{NetworkID: n.ID, ProjectID: "demo"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[p.FixedIPs[0].IPAddress] {
					t.Errorf("address %v handed out twice", p.FixedIPs[0].IPAddress)
				}
				seen[p.FixedIPs[0].IPAddress] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 80 {
		t.Fatalf("%d distinct addresses, want 80", len(seen))
	}
}

// A token revoked through one store is refused by another on the same
// NB; expired revocations are pruned by the next revocation.
func TestRevocationsSharedThroughNB(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	ctx := context.Background()
	if err := a.RevokeToken(ctx, "old", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeToken(ctx, "t1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !a.TokenRevoked("t1") {
		t.Fatal("revoking store does not refuse the token after RevokeToken returned")
	}
	if err := b.waitRevocations(ctx, func() bool { _, ok := b.revoked.expires["t1"]; return ok }); err != nil {
		t.Fatalf("other store never saw the revocation: %v", err)
	}
	if err := b.RevokeToken(ctx, "t2", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ovn-nbctl", "--db="+ep, "get", "NB_Global", ".", "external_ids").CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	got := string(out)
	for _, want := range []string{keyRevokedPrefix + "t1", keyRevokedPrefix + "t2"} {
		if !strings.Contains(got, want) {
			t.Errorf("NB_Global external_ids %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, keyRevokedPrefix+"old") {
		t.Errorf("expired revocation not pruned: %s", got)
	}
	if a.TokenRevoked("t3") {
		t.Error("a token never revoked is reported revoked")
	}
}
