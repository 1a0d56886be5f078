package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Info is what the build information says about this build.
type Info struct {
	Version   string `json:"version"`        // module version ("(devel)" for a local build)
	Revision  string `json:"revision"`       // VCS commit, "" if unknown
	Modified  bool   `json:"modified"`       // built from a tree with uncommitted changes
	Time      string `json:"time,omitempty"` // commit time
	GoVersion string `json:"go_version"`     // the toolchain that built it
}

// Read returns this build's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		case "vcs.time":
			in.Time = s.Value
		}
	}
	return in
}

// String is the one-line form printed by --version:
// "VERSION (commit REV[, modified], TIME) GOVERSION".
func (in Info) String() string {
	var extra []string
	if in.Revision != "" {
		rev := in.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		c := "commit " + rev
		if in.Modified {
			c += ", modified"
		}
		extra = append(extra, c)
	}
	if in.Time != "" {
		extra = append(extra, in.Time)
	}
	s := in.Version
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return fmt.Sprintf("%s %s", s, in.GoVersion)
}

// String is Read().String().
func String() string { return Read().String() }
