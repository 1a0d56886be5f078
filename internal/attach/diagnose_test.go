package attach

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type fakeNB map[string]LSP

func (f fakeNB) LogicalSwitchPort(_ context.Context, name string) (LSP, error) {
	l, ok := f[name]
	if !ok {
		return LSP{}, fmt.Errorf("%w: %s", ErrNoLSP, name)
	}
	return l, nil
}

// verdicts: link -> verdict, and the links broken because of another.
func verdicts(fs []Finding) (map[string]Verdict, map[string]string) {
	v, because := map[string]Verdict{}, map[string]string{}
	for _, f := range fs {
		v[f.Link] = f.Verdict
		if f.Because != "" {
			because[f.Link] = f.Because
		}
	}
	return v, because
}

func TestDiagnoseCloudSideLinks(t *testing.T) {
	up, down := true, false
	for _, tc := range []struct {
		name        string
		nb          func(portID string) NBReader
		deletePort  bool
		probeErr    error
		want        map[string]Verdict
		wantBecause map[string]string
	}{
		{
			name: "all well, NB readable",
			nb:   func(id string) NBReader { return fakeNB{id: {ParentName: "vif-1", Tag: 1, Up: &up}} },
			want: map[string]Verdict{LinkNeutron: VerdictOK, LinkChild: VerdictOK, LinkLSP: VerdictOK, LinkBinding: VerdictOK, LinkDataPath: VerdictOK},
		},
		{
			name: "no NB access: not checked, and no failure",
			nb:   func(string) NBReader { return nil },
			want: map[string]Verdict{LinkNeutron: VerdictOK, LinkLSP: VerdictNotChecked, LinkBinding: VerdictNotChecked, LinkDataPath: VerdictOK},
		},
		{
			name: "LSP with another tag, down",
			nb:   func(id string) NBReader { return fakeNB{id: {ParentName: "vif-1", Tag: 7, Up: &down}} },
			want: map[string]Verdict{LinkNeutron: VerdictOK, LinkLSP: VerdictBroken, LinkBinding: VerdictBroken, LinkDataPath: VerdictOK},
		},
		{
			name:        "port deleted in the cloud",
			nb:          func(string) NBReader { return fakeNB{} },
			deletePort:  true,
			probeErr:    context.DeadlineExceeded,
			want:        map[string]Verdict{LinkNeutron: VerdictBroken, LinkChild: VerdictNotChecked, LinkLSP: VerdictBroken, LinkDataPath: VerdictBroken},
			wantBecause: map[string]string{LinkLSP: LinkNeutron, LinkDataPath: LinkNeutron},
		},
		{
			name:     "no DHCP answer",
			nb:       func(string) NBReader { return nil },
			probeErr: errors.New("no reply"),
			want:     map[string]Verdict{LinkNeutron: VerdictOK, LinkDataPath: VerdictBroken},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			at, err := r.a.Attach(ctx, Request{NetnsPath: r.netns, Network: "LS1", ContainerID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			ap := r.sw.ports[at.PortName]
			ap.OFPort = 1
			r.sw.ports[at.PortName] = ap
			if tc.deletePort {
				delete(r.cl.ports, at.PortID)
			}
			r.links.probeErr = tc.probeErr
			fs, err := r.a.Diagnose(ctx, at, r.netns, DiagnoseOptions{Cloud: true, NB: tc.nb(at.PortID), Probe: true, ProbeTimeout: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			got, because := verdicts(fs)
			for link, want := range tc.want {
				if got[link] != want {
					t.Errorf("%s: %q, want %q (findings %+v)", link, got[link], want, fs)
				}
			}
			if tc.wantBecause == nil {
				tc.wantBecause = map[string]string{}
			}
			if d := cmp.Diff(tc.wantBecause, because); d != "" {
				t.Errorf("because (-want +got):\n%s", d)
			}
			// Check (ps) is the same walk without NB, binding and probe.
			problems, err := r.a.Check(ctx, at, r.netns)
			if err != nil {
				t.Fatal(err)
			}
			if (len(problems) > 0) != tc.deletePort {
				t.Errorf("Check: problems %q", problems)
			}
		})
	}
}
