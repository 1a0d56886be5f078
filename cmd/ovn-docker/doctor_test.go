package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

// The broken link doctor names is the first one broken for its own
// reason: links that broke because of it are listed, not named.
func TestDoctorJudgeNamesTheRootCause(t *testing.T) {
	for _, tc := range []struct {
		name       string
		findings   []attach.Finding
		wantBroken bool
		wantLink   string
	}{
		{"all ok", []attach.Finding{ok("veth", ""), ok("OVS port", "")}, false, ""},
		{"not checked is not broken", []attach.Finding{ok("veth", ""), notChecked("NB port", "no NB")}, false, ""},
		{"interface gone with the veth", []attach.Finding{
			{Link: "interface", Verdict: attach.VerdictBroken, Problems: []string{"no eth0"}, Because: "veth"},
			broken("veth", "veth gone", "gc"),
		}, true, "veth"},
		{"first of two", []attach.Finding{broken("OVS port", "gone", "rm"), broken("data path", "no answer", "x")}, true, "OVS port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := doctorReport{Attachments: []doctorAttachment{{Findings: tc.findings}}}
			rep.judge()
			got := ""
			if rep.FirstBroken != nil {
				got = rep.FirstBroken.Link
			}
			if diff := cmp.Diff([]any{tc.wantBroken, tc.wantLink}, []any{rep.Broken, got}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			var out bytes.Buffer
			a := &app{stdout: &out, output: outTable}
			if err := a.printDoctor(rep); err != nil {
				t.Fatal(err)
			}
			if tc.wantBroken && !strings.Contains(out.String(), "broken link: "+tc.wantLink+":") {
				t.Errorf("the report does not name %q:\n%s", tc.wantLink, out.String())
			}
			if !tc.wantBroken && !strings.Contains(out.String(), "no broken link found") {
				t.Errorf("report:\n%s", out.String())
			}
		})
	}
}
