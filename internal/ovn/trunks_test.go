package ovn

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

func mkPort(t *testing.T, s *Store, project, netID, name string) *Port {
	t.Helper()
	p, err := s.CreatePort(context.Background(), Scope{ProjectID: project}, PortSpec{NetworkID: netID, ProjectID: project, Name: ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// errType is the Neutron error type of err ("" when it has none).
func errType(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Type
	}
	return ""
}

func TestTrunkSubportsBecomeChildren(t *testing.T) {
	s := open(t, ovsdbtest.StartNB(t))
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	n, _ := mkNet(t, s, "demo", "10.5.0.0/24")
	parent := mkPort(t, s, "demo", n.ID, "vm")
	sub := mkPort(t, s, "demo", n.ID, "c1")

	tr, err := s.CreateTrunk(ctx, sc, TrunkSpec{ProjectID: "demo", PortID: parent.ID,
		SubPorts: []SubPort{{PortID: sub.ID, SegmentationType: SegmentationVLAN, SegmentationID: 12}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPort(ctx, sc, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := struct {
		ParentName, SubportOf, DeviceOwner, DeviceID, Profile string
		Tag                                                   int
	}{parent.ID, tr.ID, SubportOwner, "", `{"parent_name":"` + parent.ID + `","tag":12}`, 12} // ML2/OVN leaves device_id empty
	have := want
	have.ParentName, have.SubportOf, have.DeviceOwner, have.DeviceID, have.Profile, have.Tag = got.ParentName, got.SubportOf, got.DeviceOwner, got.DeviceID, string(got.Profile), got.Tag
	if diff := cmp.Diff(want, have); diff != "" {
		t.Fatalf("subport (-want +got):\n%s", diff)
	}
	pp, err := s.GetPort(ctx, sc, parent.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantDetails := &TrunkDetails{TrunkID: tr.ID, SubPorts: []SubPort{{PortID: sub.ID, SegmentationType: SegmentationVLAN, SegmentationID: 12, MAC: sub.MAC}}}
	if diff := cmp.Diff(wantDetails, pp.TrunkDetails); diff != "" {
		t.Fatalf("trunk_details (-want +got):\n%s", diff)
	}
	// A port of another project is reported as missing, for the trunk
	// and for a subport alike.
	if _, err := s.CreateTrunk(ctx, Scope{ProjectID: "alt"}, TrunkSpec{ProjectID: "alt", PortID: parent.ID}); errType(err) != "PortNotFound" {
		t.Fatalf("trunk on another project's port: %v", err)
	}
	if _, err := s.AddSubports(ctx, Scope{ProjectID: "alt"}, tr.ID, nil); errType(err) != "TrunkNotFound" {
		t.Fatalf("add to another project's trunk: %v", err)
	}
	if _, err := s.RemoveSubports(ctx, sc, tr.ID, []string{sub.ID}); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetPort(ctx, sc, sub.ID)
	if err != nil || got.ParentName != "" || got.Tag != 0 || got.SubportOf != "" || got.DeviceOwner != "" || len(got.Profile) != 0 {
		t.Fatalf("removed subport = %+v, %v", got, err)
	}
	if err := s.DeleteTrunk(ctx, sc, tr.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePort(ctx, sc, parent.ID); err != nil {
		t.Fatalf("delete parent after its trunk: %v", err)
	}
}

// Two stores on one NB add different ports with the same VLAN, and the
// same port with different VLANs, at the same time: one of each wins.
func TestTwoStoresTrunkUniqueness(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	a, b := open(t, ep), open(t, ep)
	ctx := context.Background()
	sc := Scope{ProjectID: "demo"}
	n, _ := mkNet(t, a, "demo", "10.6.0.0/24")
	parent := mkPort(t, a, "demo", n.ID, "vm")
	parent2 := mkPort(t, a, "demo", n.ID, "vm2")
	tr, err := a.CreateTrunk(ctx, sc, TrunkSpec{ProjectID: "demo", PortID: parent.ID})
	if err != nil {
		t.Fatal(err)
	}
	tr2, err := a.CreateTrunk(ctx, sc, TrunkSpec{ProjectID: "demo", PortID: parent2.ID})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 8; round++ {
		x, y := mkPort(t, a, "demo", n.ID, "x"), mkPort(t, b, "demo", n.ID, "y")
		vlan := 200 + round
		var errs [3]error
		var wg sync.WaitGroup
		run := func(i int, f func() error) {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = f() }()
		}
		// x and y race for one VLAN on tr; x also races onto tr2.
		run(0, func() error {
			_, err := a.AddSubports(ctx, sc, tr.ID, []SubPort{{PortID: x.ID, SegmentationType: SegmentationVLAN, SegmentationID: vlan}})
			return err
		})
		run(1, func() error {
			_, err := b.AddSubports(ctx, sc, tr.ID, []SubPort{{PortID: y.ID, SegmentationType: SegmentationVLAN, SegmentationID: vlan}})
			return err
		})
		run(2, func() error {
			_, err := b.AddSubports(ctx, sc, tr2.ID, []SubPort{{PortID: x.ID, SegmentationType: SegmentationVLAN, SegmentationID: vlan}})
			return err
		})
		wg.Wait()
		// The winner may have gone through b: wait until a's view has it.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = a.view.waitFor(wctx, func() bool { return a.view.ports[parent.ID].Trunk.SubPorts[vlan] != "" })
		cancel()
		a.view.mu.RLock()
		onTr := a.view.ports[parent.ID].Trunk.SubPorts
		a.view.mu.RUnlock()
		// y can only lose the VLAN to x, so exactly one of them has it.
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: VLAN %d on the trunk: errors %v", round, vlan, errs)
		}
		if errs[0] == nil && errs[2] == nil {
			t.Fatalf("round %d: port %s joined two trunks", round, x.ID)
		}
		for i, e := range errs {
			if e != nil && !errors.Is(e, ErrConflict) {
				t.Fatalf("round %d: request %d: %v", round, i, e)
			}
		}
		if id := onTr[vlan]; id == "" {
			t.Fatalf("round %d: nobody got VLAN %d on the trunk (%v)", round, vlan, errs)
		}
	}
}
