package e2e

import (
	"strings"
	"testing"
)

// TestDoctorDockerNetworkContainer: doctor walks the links of a container
// on a Docker network of driver ovn (an attachment of ovn-docker daemon,
// not of the command line): all good while it works; with the VM end of
// its veth down it names the veth and gives Docker's repair, a reconnect,
// which gc would not do (it leaves the daemon's entries alone), and after
// that repair all is good again.
func TestDoctorDockerNetworkContainer(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	nb := []string{"OVN_NB_DB=" + r.s.NBDB}
	neutron := r.neutronNetworks(t, "net")[0] // deleted after the engine's cleanup
	e := r.startVMEngine(t, vm1)
	dn := r.s.uniqueName(t, "doc")
	r.createDockerNetwork(t, e, dn, neutron)
	c := e.runDetached(t, "--network", dn, daemonImage, "sleep", "600")

	rep, res := r.doctor(t, vm1, nb, c)
	if res.code != 0 || rep.Broken || len(rep.Attachments) != 1 || rep.finding("data path").Verdict != "ok" {
		t.Fatalf("doctor of a working container on Docker network %s: want exit 0, one attachment, its data path ok:\n%s", dn, res)
	}
	port := rep.Attachments[0].OVSPort

	MustInNetns(t, vm1.Netns, "ip", "link", "set", port, "down")
	rep, res = r.doctor(t, vm1, nb, c)
	wantBroken(t, "VM end of the veth down", rep, res, "veth")
	if fix := rep.FirstBroken.Fix; !strings.Contains(fix, "docker network disconnect "+dn) || strings.Contains(fix, "ovn-docker gc") {
		t.Errorf("the fix for a Docker network's container is not Docker's reconnect: %q", fix)
	}

	e.mustDocker(t, "network", "disconnect", dn, c)
	e.mustDocker(t, "network", "connect", dn, c)
	if rep, res := r.doctor(t, vm1, nb, c); res.code != 0 || rep.Broken {
		t.Errorf("doctor after the reconnect it advised:\n%s", res)
	}
}
