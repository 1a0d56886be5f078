package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitRun(t *testing.T) {
	for _, tc := range []struct {
		name          string
		args          []string
		globals, rest []string
		ok            bool
	}{
		{
			name:    "verbatim",
			args:    []string{"--cred=T", "--vif-id=V", "--network=LS1", "run", "-d", "--net=none", "busybox:local", "/bin/sh", "-c", "x"},
			globals: []string{"--cred=T", "--vif-id=V", "--network=LS1"},
			rest:    []string{"-d", "--net=none", "busybox:local", "/bin/sh", "-c", "x"},
			ok:      true,
		},
		{
			name:    "separate values, docker's own --network after run",
			args:    []string{"--cred", "T", "--network", "run", "--debug", "run", "--network", "none", "img"},
			globals: []string{"--cred", "T", "--network", "run", "--debug"},
			rest:    []string{"--network", "none", "img"},
			ok:      true,
		},
		{name: "other command", args: []string{"--cred=T", "list", "networks"}},
		{name: "run as a value", args: []string{"--network", "run", "ps"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{getenv: func(string) string { return "" }}
			g, r, ok := splitRun(newRoot(a), tc.args)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if d := cmp.Diff(tc.globals, g); d != "" {
				t.Errorf("globals (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.rest, r); d != "" {
				t.Errorf("rest (-want +got):\n%s", d)
			}
		})
	}
}

func TestToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cred, credFile, env, want string
	}{
		{"flag wins", "from-flag", file, "from-env", "from-flag"},
		{"env", "", file, "from-env", "from-env"},
		{"file", "", file, "", "from-file"},
		{"none", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &app{cred: tc.cred, credFile: tc.credFile, getenv: func(k string) string {
				if k == "OVN_DOCKER_CRED" {
					return tc.env
				}
				return ""
			}}
			got, err := a.token()
			if err != nil || got != tc.want {
				t.Errorf("token() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMainErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no credentials", []string{"list", "networks"}, "no credentials"},
		{"run without network", []string{"--cred=x", "run", "-d", "img"}, "--network is required"},
		{"run with host network", []string{"--cred=x", "--network=n", "run", "--net=host", "img"}, "give an OVN network"},
		{"run without image", []string{"--cred=x", "--network=n", "run", "-d"}, "no image given"},
		{"bad subnet", []string{"--cred=x", "create", "network", "n", "--subnet", "fd00::/64"}, "not an IPv4 CIDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OS_AUTH_URL", "")
			t.Setenv("OS_CLOUD", "")
			t.Setenv("OVN_DOCKER_CRED", "")
			var out, errOut bytes.Buffer
			code := Main(context.Background(), tc.args, strings.NewReader(""), &out, &errOut)
			if code == 0 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want non-zero and %q", code, errOut.String(), tc.want)
			}
		})
	}
}
