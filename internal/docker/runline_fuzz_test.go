package docker

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParseRun checks ParseRun's invariants on any command line (the
// arguments are the fuzzer's string split at NUL bytes):
//   - it fails only with ErrRunLine;
//   - the options the user's container gets (Split) and the holder's
//     share parse again, before the image, to exactly the options they
//     came from: nothing is lost, reordered within its side, or made to
//     swallow the arguments the plugin appends (--net=container:…);
//   - the user's side never carries --net/--network, the holder's only
//     the options that belong to the namespace's owner;
//   - CheckNetwork accepts only lines whose network options are "none" or
//     an OVN network, never one of Docker's own modes.
func FuzzParseRun(f *testing.F) {
	for _, seed := range []string{
		"-d\x00--net=none\x00busybox:local\x00/bin/sh\x00-c\x00sleep 1",
		"-dit\x00-e\x00A=1\x00-eB=2\x00--name\x00web\x00--hostname=h1\x00--dns\x001.1.1.1\x00img\x00-d",
		"--rm\x00--restart=always\x00img",
		"--\x00-img\x00x",
		"--frobnicate=1\x00img",
		"-e=\x00img",
		"--name=\x00img",
		"--network\x00host\x00img",
		"-p\x0080:80\x00img",
		"--detach=false\x00--rm\x00img",
		"-h\x00host\x00--add-host\x00a:1.2.3.4\x00--dns-search\x00x\x00img",
		"-",
		"--label\x00--net=host\x00img",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		r, err := ParseRun(args)
		if err != nil {
			if !errors.Is(err, ErrRunLine) {
				t.Fatalf("ParseRun(%q): error %v does not wrap ErrRunLine", args, err)
			}
			return
		}
		if len(r.Command) > 0 && len(args) < len(r.Command)+1 {
			t.Fatalf("ParseRun(%q): command longer than the line", args)
		}
		if !slices.Equal(args[len(args)-len(r.Command)-1:], append([]string{r.Image}, r.Command...)) {
			t.Fatalf("ParseRun(%q): image %q and command %q are not the line's tail", args, r.Image, r.Command)
		}
		holder, user := r.Split()
		var wantUser, wantHolder []Opt
		for _, o := range r.Opts {
			switch {
			case o.Name == "net" || o.Name == "network":
			case forwarded[o.Name]:
				wantHolder = append(wantHolder, Opt{Name: o.Name, Value: o.Value})
			default:
				wantUser = append(wantUser, Opt{Name: o.Name, Value: o.Value})
			}
		}
		for _, side := range []struct {
			name string
			args []string
			want []Opt
		}{{"user", user, wantUser}, {"holder", holder, wantHolder}} {
			// What the plugin hands docker: the options, its own
			// --net, then the image.
			again, err := ParseRun(append(slices.Clone(side.args), "--net=container:h", "--", "img"))
			if err != nil {
				t.Fatalf("ParseRun(%q): the %s's options %q do not parse again: %v", args, side.name, side.args, err)
			}
			var got []Opt
			for _, o := range again.Opts {
				got = append(got, Opt{Name: o.Name, Value: o.Value})
			}
			want := append(slices.Clone(side.want), Opt{Name: "net", Value: "container:h"})
			if !slices.EqualFunc(got, want, func(a, b Opt) bool { return a.Name == b.Name && a.Value == b.Value }) {
				t.Fatalf("ParseRun(%q): the %s's options %q parse again to %v, want %v", args, side.name, side.args, got, want)
			}
			if again.Image != "img" {
				t.Fatalf("ParseRun(%q): the %s's options %q swallow the image (got %q)", args, side.name, side.args, again.Image)
			}
		}
		if r.CheckNetwork() == nil {
			for _, o := range r.Opts {
				if (o.Name == "net" || o.Name == "network") && (o.Value == "" || IsDockerNetworkMode(o.Value)) {
					t.Fatalf("ParseRun(%q): CheckNetwork accepted --%s=%s", args, o.Name, o.Value)
				}
			}
		}
	})
}
