package docker

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		image      string
		cmd        []string
		holder     []string
		user       []string
		detach     bool
		wantErr    bool
		networkErr bool
	}{
		{
			name:  "verbatim",
			args:  []string{"-d", "--net=none", "busybox:local", "/bin/sh", "-c", "while true; do echo hello world; sleep 1; done"},
			image: "busybox:local", cmd: []string{"/bin/sh", "-c", "while true; do echo hello world; sleep 1; done"},
			user: []string{"-d"}, detach: true,
		},
		{
			name:  "clusters and values",
			args:  []string{"-dit", "-e", "A=1", "-eB=2", "--name", "web", "--hostname=h1", "--dns", "1.1.1.1", "-v", "/x:/y", "img", "-d"},
			image: "img", cmd: []string{"-d"},
			holder: []string{"--hostname=h1", "--dns", "1.1.1.1"},
			user:   []string{"-d", "-i", "-t", "-e", "A=1", "-e", "B=2", "--name", "web", "-v", "/x:/y"}, detach: true,
		},
		{name: "no image", args: []string{"-d", "--net=none"}, wantErr: true},
		{name: "missing value", args: []string{"--name"}, wantErr: true},
		{name: "unknown flag", args: []string{"--frobnicate", "img"}, wantErr: true},
		{name: "unknown flag with value", args: []string{"--frobnicate=1", "img"}, image: "img", user: []string{"--frobnicate=1"}},
		{name: "other network", args: []string{"--network", "host", "img"}, image: "img", networkErr: true},
		{name: "container network", args: []string{"--net=container:x", "img"}, image: "img", networkErr: true},
		{name: "two networks", args: []string{"--net=a", "--network", "b", "img"}, image: "img", networkErr: true},
		{name: "ovn network after run", args: []string{"--network", "LS1", "-d", "img"}, image: "img", user: []string{"-d"}, detach: true},
		{name: "publish", args: []string{"-p", "80:80", "img"}, image: "img", networkErr: true, user: []string{"-p", "80:80"}},
		{name: "detach false", args: []string{"--detach=false", "img"}, image: "img", user: []string{"--detach=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRun(tc.args)
			if tc.wantErr {
				if !errors.Is(err, ErrRunLine) {
					t.Fatalf("want ErrRunLine, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Image != tc.image {
				t.Errorf("image %q, want %q", r.Image, tc.image)
			}
			if d := cmp.Diff(tc.cmd, r.Command, cmpEmpty); d != "" {
				t.Errorf("command (-want +got):\n%s", d)
			}
			if got := r.Bool("detach"); got != tc.detach {
				t.Errorf("detach %v, want %v", got, tc.detach)
			}
			if err := r.CheckNetwork(); (err != nil) != tc.networkErr {
				t.Errorf("CheckNetwork: %v", err)
			}
			if tc.networkErr {
				return
			}
			h, u := r.Split()
			if d := cmp.Diff(tc.holder, h, cmpEmpty); d != "" {
				t.Errorf("holder (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.user, u, cmpEmpty); d != "" {
				t.Errorf("user (-want +got):\n%s", d)
			}
		})
	}
}

var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestImageFiles(t *testing.T) {
	if _, err := imageFiles([]byte("not elf")); !errors.Is(err, ErrNotStatic) {
		t.Errorf("want ErrNotStatic, got %v", err)
	}
	// The test binary itself: static or not, the image must hold it first
	// and, if it is dynamic, a loader.
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	files, err := imageFiles(exe)
	if err != nil {
		t.Fatal(err)
	}
	if files[0].path != "/ovn-docker" || len(files[0].data) != len(exe) {
		t.Errorf("first file %s", files[0].path)
	}
	for _, f := range files[1:] {
		if len(f.data) == 0 || !strings.HasPrefix(f.path, "/") {
			t.Errorf("library %s empty or relative", f.path)
		}
	}
	t.Logf("%d files", len(files))
}

func TestRunLineNetwork(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"img"}, ""},
		{[]string{"--net=none", "img"}, ""},
		{[]string{"--network", "LS1", "img"}, "LS1"},
		{[]string{"--net=LS1", "-d", "img"}, "LS1"},
		{[]string{"--net=none", "--network=LS2", "img"}, "LS2"},
	} {
		r, err := ParseRun(tc.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Network(); got != tc.want {
			t.Errorf("Network(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

func TestRunLineWithNetwork(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--rm", "--net=LS1", "busybox", "ping", "-c1", "x"}, []string{"--rm", "--network", "LS1", "busybox", "ping", "-c1", "x"}},
		{[]string{"-d", "--name", "a", "--network", "LS1", "--hostname", "h", "busybox"}, []string{"-d", "--name", "a", "--hostname", "h", "--network", "LS1", "busybox"}},
		{[]string{"busybox", "--network", "x"}, []string{"--network", "LS1", "busybox", "--network", "x"}},
	} {
		rl, err := ParseRun(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, rl.WithNetwork("LS1")); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.args, diff)
		}
	}
}
