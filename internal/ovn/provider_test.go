package ovn

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func nbGet(t *testing.T, ep, table, record, column string) string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", "--db="+ep, "get", table, record, column).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl get %s %s %s: %v: %s", table, record, column, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestProviderSegments(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	s := openWith(t, Config{Endpoints: []string{ep}, VLANNetworks: []string{"physnet1"}, FlatNetworks: []string{"physnet1", "physnet2"}})
	ctx := context.Background()
	create := func(typ, physnet *string, seg *int) (*Network, error) {
		return s.CreateNetwork(ctx, NetworkSpec{ProjectID: "admin", Provider: ProviderSpec{NetworkType: typ, PhysicalNetwork: physnet, SegmentationID: seg}})
	}

	vlan, err := create(ptr("vlan"), ptr("physnet1"), ptr(100))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Segment{ID: vlan.Segment.ID, NetworkType: "vlan", PhysicalNetwork: "physnet1", SegmentationID: 100}, vlan.Segment); diff != "" {
		t.Fatalf("vlan segment (-want +got):\n%s", diff)
	}
	if vlan.MTU != 1500 {
		t.Fatalf("VLAN network MTU = %d, want the physical network's 1500", vlan.MTU)
	}
	lsp := localnetPrefix + vlan.Segment.ID
	for col, want := range map[string]string{
		"type":                 "localnet",
		"tag":                  "100",
		"addresses":            `[unknown]`,
		"options:network_name": "physnet1",
	} {
		if got := nbGet(t, ep, "Logical_Switch_Port", lsp, col); got != want {
			t.Errorf("localnet port %s %s = %s, want %s", lsp, col, got, want)
		}
	}
	if got := nbGet(t, ep, "Logical_Switch", lsPrefix+vlan.ID, "ports"); got != nbGet(t, ep, "Logical_Switch_Port", lsp, "_uuid") && got != "["+nbGet(t, ep, "Logical_Switch_Port", lsp, "_uuid")+"]" {
		t.Errorf("switch ports = %s, want the localnet port only", got)
	}
	if ps := s.ListPorts(t.Context(), Scope{Admin: true}, vlan.ID); len(ps) != 0 {
		t.Errorf("the localnet port shows as a Neutron port: %v", ps)
	}

	flat, err := create(ptr("flat"), ptr("physnet2"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := nbGet(t, ep, "Logical_Switch_Port", localnetPrefix+flat.Segment.ID, "tag"); got != "[]" {
		t.Errorf("flat localnet port tag = %s, want none", got)
	}

	geneve, err := create(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if geneve.Segment.NetworkType != "geneve" || geneve.Segment.SegmentationID < 1 || geneve.Segment.SegmentationID > 65536 || geneve.MTU != 1442 {
		t.Fatalf("tenant network segment = %+v, MTU %d", geneve.Segment, geneve.MTU)
	}
	if got := nbGet(t, ep, "Logical_Switch", lsPrefix+geneve.ID, "ports"); got != "[]" {
		t.Errorf("geneve network has ports %s, want no localnet port", got)
	}

	bad := []struct {
		name         string
		typ, physnet *string
		seg          *int
		kind         error
		typName, msg string
	}{
		{"vlan used twice", ptr("vlan"), ptr("physnet1"), ptr(100), ErrConflict, "VlanIdInUse", "The VLAN 100 on physical network physnet1 is in use."},
		{"flat used twice", ptr("flat"), ptr("physnet2"), nil, ErrConflict, "FlatNetworkInUse", "Physical network physnet2 is in use."},
		{"vni used twice", ptr("geneve"), nil, ptr(geneve.Segment.SegmentationID), ErrConflict, "TunnelIdInUse", "is in use."},
		{"vlan without physnet", ptr("vlan"), nil, ptr(5), ErrInvalid, "InvalidInput", "segmentation_id requires physical_network for VLAN provider network"},
		{"vlan id 0", ptr("vlan"), ptr("physnet1"), ptr(0), ErrInvalid, "InvalidInput", "segmentation_id out of range (1 through 4094)"},
		{"vlan id 4095", ptr("vlan"), ptr("physnet1"), ptr(4095), ErrInvalid, "InvalidInput", "segmentation_id out of range (1 through 4094)"},
		{"vlan on unknown physnet", ptr("vlan"), ptr("physnet9"), ptr(7), ErrInvalid, "InvalidInput", "physical_network 'physnet9' unknown for VLAN provider network"},
		{"vlan without id", ptr("vlan"), ptr("physnet1"), nil, ErrUnavailable, "NoNetworkAvailable", "No tenant network is available"},
		{"flat without physnet", ptr("flat"), nil, nil, ErrInvalid, "InvalidInput", "physical_network required for flat provider network"},
		{"flat with id", ptr("flat"), ptr("physnet1"), ptr(3), ErrInvalid, "InvalidInput", "segmentation_id prohibited for flat provider network"},
		{"geneve with physnet", ptr("geneve"), ptr("physnet1"), nil, ErrInvalid, "InvalidInput", "provider:physical_network specified for geneve network"},
		{"geneve id too large", ptr("geneve"), nil, ptr(1 << 24), ErrInvalid, "InvalidInput", "segmentation_id out of range"},
		{"unknown type", ptr("vxlan"), nil, nil, ErrInvalid, "InvalidInput", "network_type value 'vxlan' not supported"},
		{"no type", nil, ptr("physnet1"), nil, ErrInvalid, "InvalidInput", "network_type required"},
	}
	before := len(s.ListNetworks(context.Background(), Scope{Admin: true}))
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := create(tt.typ, tt.physnet, tt.seg)
			var oe *Error
			if !errors.As(err, &oe) || !errors.Is(err, tt.kind) || oe.Type != tt.typName || !strings.Contains(oe.Message, tt.msg) {
				t.Fatalf("err = %v (%#v), want %s %q", err, oe, tt.typName, tt.msg)
			}
		})
	}
	if after := len(s.ListNetworks(context.Background(), Scope{Admin: true})); after != before {
		t.Fatalf("refused creates left networks: %d before, %d after", before, after)
	}

	// Changing the segment is refused; repeating it is not.
	if _, err := s.UpdateNetwork(ctx, Scope{Admin: true}, vlan.ID, NetworkSpec{Provider: ProviderSpec{SegmentationID: ptr(101)}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("segmentation_id update: %v, want refused", err)
	}
	if _, err := s.UpdateNetwork(ctx, Scope{Admin: true}, vlan.ID, NetworkSpec{Provider: ProviderSpec{NetworkType: ptr("vlan"), SegmentationID: ptr(100)}}); err != nil {
		t.Fatalf("update repeating the segment: %v", err)
	}

	// Deleting the network frees its VLAN and removes the localnet port.
	if err := s.DeleteNetwork(ctx, Scope{Admin: true}, vlan.ID); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ovn-nbctl", "--db="+ep, "--if-exists", "get", "Logical_Switch_Port", lsp, "name").CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("localnet port left after delete: %s %v", out, err)
	}
	if _, err := create(ptr("vlan"), ptr("physnet1"), ptr(100)); err != nil {
		t.Fatalf("VLAN 100 after its network was deleted: %v", err)
	}
}

// Two stores (replicas) racing for one VLAN: exactly one wins.
func TestTwoStoresOneVLAN(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.CreateNetwork(ctx, NetworkSpec{ProjectID: "admin",
				Provider: ProviderSpec{NetworkType: ptr("vlan"), PhysicalNetwork: ptr("physnet1"), SegmentationID: ptr(42)}})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		var oe *Error
		switch {
		case err == nil:
			won++
		case errors.As(err, &oe) && oe.Type == "VlanIdInUse":
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d creates of VLAN 42 succeeded, want 1", won)
	}
}
