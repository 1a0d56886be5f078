package ovn

import (
	"context"
	"errors"
	"testing"

	"github.com/ovn-docker/ovn-docker/internal/ovsdbtest"
)

// A string NB cannot store is refused before it is sent, and the
// connection (shared by every tenant's requests) stays up.
func TestUnstorableStringsRefusedBeforeNB(t *testing.T) {
	ep := ovsdbtest.StartNB(t)
	s := open(t, ep)
	ctx := context.Background()
	n, _ := mkNet(t, s, "demo", "10.9.0.0/24")
	for _, name := range []string{"a\x00b", "bad\xffutf8"} {
		_, err := s.CreatePort(ctx, Scope{ProjectID: "demo"}, PortSpec{NetworkID: n.ID, ProjectID: "demo", Name: ptr(name)})
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("port named %q: err = %v, want ErrInvalid", name, err)
		}
		if _, err := s.CreateNetwork(ctx, NetworkSpec{Name: ptr(name), ProjectID: "demo"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("network named %q: err = %v, want ErrInvalid", name, err)
		}
	}
	if s.nb.CurrentEndpoint() == "" {
		t.Fatal("NB connection dropped")
	}
	if _, err := s.CreatePort(ctx, Scope{ProjectID: "demo"}, PortSpec{NetworkID: n.ID, ProjectID: "demo", Name: ptr("fine")}); err != nil {
		t.Fatalf("create after refusals: %v", err)
	}
}
