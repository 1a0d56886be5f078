package e2e

// The command line as a Docker user meets it: exit codes, outputs, the
// network named after `run`, hostname and /etc/hosts, signal forwarding,
// ps without the cloud. Needs the sandbox (root).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCLIExitCodesAndMessages(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string // substrings of stdout, stderr
	}{
		{name: "run --help", args: []string{"run", "--help"}, code: 0, out: "Examples:"},
		{name: "--version", args: []string{"--version"}, code: 0, out: "go1."},
		{name: "nested typo", args: []string{"--cred=$TOKEN", "list", "netwroks"}, code: 1, err: `unknown command "netwroks"`},
		{name: "unknown -o", args: []string{"--cred=$TOKEN", "-o", "yml", "list", "networks"}, code: 1, err: `"yml": allowed are table, wide, json, yaml, value`},
		{name: "rm unknown", args: []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", "no-such-ctr"}, code: 1, err: "No such container: no-such-ctr"},
		{name: "rm -f unknown", args: []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", "-f", "no-such-ctr"}, code: 1, err: "No such container: no-such-ctr"},
		{name: "detach unknown", args: []string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "detach", "no-such-ctr"}, code: 1, err: "No such container: no-such-ctr"},
		{name: "run --net=host", args: []string{"--cred=$TOKEN", "run", "--net=host", r.s.Image}, code: 1, err: "--net=host"},
		{name: "create empty name", args: []string{"--cred=$TOKEN", "create", "network", ""}, code: 1, err: "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := r.plugin(t, vm1, "demo", nil, tc.args...)
			if res.code != tc.code || !strings.Contains(res.stdout, tc.out) || !strings.Contains(res.stderr, tc.err) {
				t.Errorf("ovn-docker %q:\n%s\nwant exit %d, stdout with %q, stderr with %q", tc.args, res, tc.code, tc.out, tc.err)
			}
		})
	}
}

// TestCLIRunDockerStyle: --network after run, the container's hostname is
// its name, /etc/hosts maps it to its address, the Neutron port is named
// after it; ps, -q, --format, -o yaml; ps without valid credentials.
func TestCLIRunDockerStyle(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "ls")
	name := r.s.uniqueName(t, "web")
	r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", name) // left over from a killed run

	// Foreground, the network written after run as docker users do.
	out := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "run", "--rm", "--network", ls, r.s.Image, "sh", "-c", "hostname; hostname -i; cat /etc/hosts")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 {
		t.Fatalf("run output %q: want hostname, hostname -i, /etc/hosts", out)
	}
	host, ip := lines[0], lines[1]
	if !strings.HasPrefix(host, "ovd-") {
		t.Errorf("hostname of an unnamed container %q, want its name ovd-…", host)
	}
	if !strings.Contains(out, ip+"\t"+host) {
		t.Errorf("/etc/hosts has no line %q:\n%s", ip+"\t"+host, out)
	}

	id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "run", "-d", "--net="+ls, "--name", name, r.s.Image, "sleep", "3600"))
	// Removed by the test itself; this is for a test that stops early.
	t.Cleanup(func() { r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", id) })
	if got := strings.TrimSpace(r.mustDocker(t, vm1, "exec", name, "hostname")); got != name {
		t.Errorf("hostname %q, want the container's name %q", got, name)
	}
	row := rowOf(t, r.ps(t, vm1, "demo"), id)
	hostsIP := strings.TrimSpace(r.mustDocker(t, vm1, "exec", name, "hostname", "-i"))
	if want := row.ip(t); hostsIP != want {
		t.Errorf("hostname -i = %q, want the port's address %q", hostsIP, want)
	}
	p, err := r.clouds["demo"].GetPort(t.Context(), row.PortID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ovn-docker-" + name + "-eth0"; p.Name != want {
		t.Errorf("Neutron port name %q, want %q", p.Name, want)
	}

	table := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "ps")
	for i, l := range strings.Split(strings.TrimSpace(table), "\n") {
		if len([]rune(l)) > 100 {
			t.Errorf("ps line %d is %d columns wide (max 100): %q", i, len([]rune(l)), l)
		}
	}
	if !strings.Contains(table, name) || !strings.Contains(table, "running") {
		t.Errorf("ps table without the container's name and state:\n%s", table)
	}
	if q := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "ps", "-q"); !strings.Contains(q, id) {
		t.Errorf("ps -q %q lacks %s", q, id)
	}
	f := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "ps", "--format", "{{.Name}} {{.VLAN}} {{.ContainerState}}")
	if !strings.Contains(f, name+" ") || !strings.Contains(f, " running") {
		t.Errorf("ps --format: %q", f)
	}
	if y := r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "-o", "yaml", "ps"); !strings.Contains(y, "name: "+name) {
		t.Errorf("ps -o yaml lacks name: %s:\n%s", name, y)
	}

	// Without valid credentials: local state, exit 0, says what it could
	// not check.
	res := r.plugin(t, vm1, "demo", nil, "--cred=not-a-token", "--vif-id=$VIF_ID", "ps")
	if res.code != 0 || !strings.Contains(res.stdout, name) || !strings.Contains(res.stderr, "local state only") {
		t.Errorf("ps with a bad token:\n%s\nwant exit 0, the container, and what was not checked", res)
	}
	res = r.plugin(t, vm1, "demo", nil, "--cred=not-a-token", "--vif-id=$VIF_ID", "-o", "json", "ps")
	var rows []psRow
	if err := json.Unmarshal([]byte(res.stdout), &rows); err != nil || res.code != 0 {
		t.Fatalf("ps -o json with a bad token: %v\n%s", err, res)
	}
	if got := rowOf(t, rows, id).Status; got != "UNKNOWN" {
		t.Errorf("status without the cloud %q, want UNKNOWN", got)
	}

	// rm -o json.
	out = r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "-o", "json", "rm", "-f", name)
	var rm []struct {
		Container string `json:"container"`
		Removed   bool   `json:"removed"`
	}
	if err := json.Unmarshal([]byte(out), &rm); err != nil || len(rm) != 1 || !rm[0].Removed {
		t.Errorf("rm -o json: %v: %s", err, out)
	}
	r.portGone(t, vm1, "demo", row)
}

// TestCLISignalForwarding: SIGTERM and SIGHUP sent to ovn-docker run's own
// pid reach the foreground container, whose exit status is the run's.
func TestCLISignalForwarding(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "ls")
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			script := `trap 'echo got signal; exit 7' TERM HUP; echo ready; while true; do sleep 0.1; done`
			cmd := vm1.Command(ctx, r.bin, "--cred="+r.tokens["demo"], "--vif-id="+r.vif[vm1.Name],
				"run", "--rm", "--network="+ls, r.s.Image, "sh", "-c", script)
			cmd.Env = r.vmEnv(vm1)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			if !sc.Scan() || sc.Text() != "ready" {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("container did not start: %q, stderr %s", sc.Text(), stderr.String())
			}
			start := time.Now()
			// nsenter execs ovn-docker: this is its pid.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var rest strings.Builder
			for sc.Scan() {
				rest.WriteString(sc.Text() + "\n")
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 7 || !strings.Contains(rest.String(), "got signal") {
				t.Errorf("after %v: exit %v, stdout %q, stderr %s; want the container's trap to run and exit 7", sig, err, rest.String(), stderr.String())
			}
			t.Logf("%v: container exited %v after the signal", sig, time.Since(start).Round(time.Millisecond))
		})
	}
}
