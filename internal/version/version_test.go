package version

import (
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{
			name: "local build from a clean tree",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "8d38680a1b2c3d4e5f60718293a4b5c6d7e8f901"}, {Key: "vcs.modified", Value: "false"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			}},
			want: "(devel) (commit 8d38680a1b2c, 2026-01-02T03:04:05Z) go1.26.8",
		},
		{
			name: "modified tree",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"},
			}},
			want: "v0.3.0 (commit abc, modified) go1.26.8",
		},
		{name: "no vcs", bi: debug.BuildInfo{GoVersion: "go1.26.8"}, want: "(devel) go1.26.8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, fromBuildInfo(&tc.bi).String()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
