package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// composeFile: two services on an ovn network whose Neutron network is
// named by the driver option.
const composeFile = `version: "2.4"
services:
  a:
    image: %[1]s
    command: ["sleep", "600"]
    networks: [ls1]
  b:
    image: %[1]s
    command: ["sleep", "600"]
    networks: [ls1]
networks:
  ls1:
    driver: ovn
    driver_opts:
      network: %[2]s
    ipam:
      driver: ovn
`

// compose runs Debian's docker-compose against the VM's engine.
func (e *vmEngine) compose(t *testing.T, dir, project string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker-compose", append([]string{"-p", project, "-f", filepath.Join(dir, "compose.yaml")}, args...)...)
	cmd.Env = append(withoutDockerHost(os.Environ()), "DOCKER_HOST="+e.vm.DockerHost)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker-compose %s: %w: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// TestDaemonCompose: `docker-compose up` with services on an ovn network:
// they get Neutron ports and reach each other; `down` leaves nothing.
func TestDaemonCompose(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatalf("docker-compose: %v; run `sandbox/sandbox install`", err)
	}
	r := newPluginRig(t)
	vm := r.s.VM(t, "vm1")
	neutron := r.neutronNetworks(t, "net")[0]
	e := r.startVMEngine(t, vm)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(fmt.Sprintf(composeFile, daemonImage, neutron)), 0o644); err != nil {
		t.Fatal(err)
	}
	project := strings.ReplaceAll(r.s.uniqueName(t, "compose"), "-", "")
	before := engineLeftovers(t, vm)
	down := func() {
		if out, err := e.compose(t, dir, project, "down", "-t", "1"); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
	if out, err := e.compose(t, dir, project, "up", "-d"); err != nil {
		down()
		t.Fatalf("%v\n%s", err, out)
	}
	network := project + "_ls1"
	ipOf := func(svc string) string {
		return e.mustDocker(t, "inspect", "-f", "{{(index .NetworkSettings.Networks \""+network+"\").IPAddress}}", project+"_"+svc+"_1")
	}
	ipB := ipOf("b")
	nw, err := r.clouds["demo"].FindNetwork(t.Context(), neutron)
	if err != nil {
		down()
		t.Fatalf("Neutron network %s after compose up: %v", neutron, err)
	}
	if got := r.neutronAddrs(t, nw.ID); len(got) != 2 {
		t.Errorf("Neutron ports on %s: %v; want the two services'", neutron, got)
	}
	if out, err := e.compose(t, dir, project, "exec", "-T", "a", "ping", "-c1", "-W2", ipB); err != nil {
		t.Errorf("service a does not reach b (%s): %v\n%s", ipB, err, out)
	}
	down()
	if got := engineLeftovers(t, vm); len(got) != len(before) {
		t.Errorf("after docker-compose down: %v (before: %v)", got, before)
	}
	if _, err := r.clouds["demo"].GetNetwork(t.Context(), nw.ID); err == nil {
		t.Errorf("Neutron network %s, created by compose up, survived compose down", neutron)
	}
}
