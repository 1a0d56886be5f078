package netdev

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Both implementations offer the same methods, so a consumer's interface
// declared over them accepts either.
var _ interface {
	CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) error
	DeleteLink(ctx context.Context, name string) error
	DeleteLinkInNetns(ctx context.Context, netnsPath, name string) error
	LinkExists(ctx context.Context, name string) (bool, error)
	LinkDown(ctx context.Context, name string) (bool, error)
	EnsureUp(ctx context.Context, name string) (bool, error)
	LinkMTU(ctx context.Context, name string) (int, error)
} = (*Fake)(nil)

var _ = []interface {
	CreateVeth(ctx context.Context, hostName, netnsPath string, cfg IfaceConfig) error
}{(*Fake)(nil), (*Netlink)(nil)}

func TestFake(t *testing.T) {
	ctx := context.Background()
	f := &Fake{}
	cfg := IfaceConfig{Name: "eth0", MAC: mustMAC("02:00:00:00:00:01"), MTU: 1442,
		Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24")}}
	if err := f.CreateVeth(ctx, "ovdv1", "/run/netns/c1", cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.CreateVeth(ctx, "ovdv1", "/run/netns/c2", cfg); !errors.Is(err, ErrExists) {
		t.Errorf("second ovdv1 = %v, want ErrExists", err)
	}
	if err := f.CreateVeth(ctx, "ovdv2", "/run/netns/c1", cfg); !errors.Is(err, ErrExists) {
		t.Errorf("second eth0 in c1 = %v, want ErrExists", err)
	}
	if mtu, err := f.LinkMTU(ctx, "ovdv1"); mtu != 1442 || err != nil {
		t.Errorf("LinkMTU = %d, %v", mtu, err)
	}
	if ok, err := f.LinkExists(ctx, "ovdv2"); ok || err != nil {
		t.Errorf("LinkExists(ovdv2) = %v, %v", ok, err)
	}
	// Down as ovs-vswitchd may set it; EnsureUp says so and mends it.
	f.SetDown("ovdv1", true)
	if down, err := f.LinkDown(ctx, "ovdv1"); !down || err != nil {
		t.Errorf("LinkDown(ovdv1) after SetDown = %v, %v", down, err)
	}
	if was, err := f.EnsureUp(ctx, "ovdv1"); !was || err != nil {
		t.Errorf("EnsureUp(ovdv1) = %v, %v, want it was down", was, err)
	}
	if down, _ := f.LinkDown(ctx, "ovdv1"); down {
		t.Error("ovdv1 still down after EnsureUp")
	}
	if _, err := f.LinkDown(ctx, "nope"); !errors.Is(err, ErrNoLink) {
		t.Errorf("LinkDown(nope) = %v, want ErrNoLink", err)
	}
	if _, err := f.LinkMAC(ctx, "nope"); !errors.Is(err, ErrNoLink) {
		t.Errorf("LinkMAC(nope) = %v, want ErrNoLink", err)
	}
	got := f.Links()
	if len(got) != 2 || got[0].Netns != "" || got[1].Netns != "/run/netns/c1" || got[1].Name != "eth0" {
		t.Fatalf("Links = %+v", got)
	}
	if d := cmp.Diff(cfg, got[1].Cfg, cmpopts.EquateComparable(netip.Prefix{}, netip.Addr{})); d != "" {
		t.Errorf("recorded config (-want +got):\n%s", d)
	}

	// Deleting either end removes both; again is a no-op.
	if err := f.DeleteLinkInNetns(ctx, "/run/netns/c1", "eth0"); err != nil {
		t.Fatal(err)
	}
	if err := f.DeleteLink(ctx, "ovdv1"); err != nil {
		t.Fatal(err)
	}
	if got := f.Links(); len(got) != 0 {
		t.Errorf("after delete, Links = %+v", got)
	}

	boom := errors.New("boom")
	f.FailCreate, f.FailDelete = boom, boom
	if err := f.CreateVeth(ctx, "ovdv3", "/run/netns/c3", cfg); !errors.Is(err, boom) {
		t.Errorf("CreateVeth with FailCreate = %v", err)
	}
	if got := f.Links(); len(got) != 0 {
		t.Errorf("a failed create recorded links: %+v", got)
	}
	if err := f.DeleteLink(ctx, "ovdv3"); !errors.Is(err, boom) {
		t.Errorf("DeleteLink with FailDelete = %v", err)
	}
}
