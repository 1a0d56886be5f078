package e2e

// ovn-docker doctor against links broken on purpose: the veth removed,
// the OVS access port removed, the Neutron port deleted by an admin
// through the cloud's API, ovn-controller stopped. Each time doctor must
// exit 1 and name that link. Needs the sandbox (root).

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/trunks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

type doctorFinding struct {
	Link     string   `json:"link"`
	Verdict  string   `json:"verdict"`
	Detail   string   `json:"detail"`
	Problems []string `json:"problems"`
	Fix      string   `json:"fix"`
	Because  string   `json:"because"`
}

type doctorReport struct {
	Findings    []doctorFinding `json:"findings"`
	Attachments []struct {
		OVSPort  string          `json:"ovs_port"`
		Findings []doctorFinding `json:"findings"`
	} `json:"attachments"`
	Broken      bool           `json:"broken"`
	FirstBroken *doctorFinding `json:"first_broken"`
}

// doctor runs `ovn-docker -o json doctor ARGS` in vm and returns its
// report and exit code; env is added (e.g. OVN_NB_DB).
func (r *pluginRig) doctor(t *testing.T, vm VM, env []string, args ...string) (doctorReport, result) {
	t.Helper()
	res := r.plugin(t, vm, "demo", env, append([]string{"--cred=$TOKEN", "--vif-id=$VIF_ID", "-o", "json", "doctor"}, args...)...)
	var rep doctorReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("doctor %v: output is not its JSON report: %v\n%s", args, err, res)
	}
	return rep, res
}

// finding is the attachment's finding about link.
func (rep doctorReport) finding(link string) doctorFinding {
	for _, a := range rep.Attachments {
		for _, f := range a.Findings {
			if f.Link == link {
				return f
			}
		}
	}
	for _, f := range rep.Findings {
		if f.Link == link {
			return f
		}
	}
	return doctorFinding{}
}

// wantBroken: doctor exits 1 and names link as the broken one.
func wantBroken(t *testing.T, what string, rep doctorReport, res result, link string) {
	t.Helper()
	if res.code != 1 || !rep.Broken || rep.FirstBroken == nil || rep.FirstBroken.Link != link || rep.FirstBroken.Fix == "" {
		t.Errorf("%s: want exit 1 naming the %q link with a fix:\n%s", what, link, res)
	}
}

func TestDoctorNamesTheBrokenLink(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	nb := []string{"OVN_NB_DB=" + r.s.NBDB}

	// The VM's setup.
	rep, res := r.doctor(t, vm1, nb)
	if res.code != 0 || rep.Broken {
		t.Fatalf("doctor of a working VM:\n%s", res)
	}
	for _, link := range []string{"bridge", "uplink", "credentials", "cloud", "vif-id", "VM port binding", "NB"} {
		if f := rep.finding(link); f.Verdict != "ok" {
			t.Errorf("VM setup: %q is %+v, want ok", link, f)
		}
	}
	bad := r.plugin(t, vm1, "demo", nil, "--cred=not-a-token", "doctor")
	if bad.code != 1 || !strings.Contains(bad.stdout, "BROKEN") || !strings.Contains(bad.stdout, "broken link: credentials") {
		t.Errorf("doctor with a bad token: want exit 1 naming the credentials:\n%s", bad)
	}
	if res := r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "doctor", "no-such-ctr"); res.code != 1 || !strings.Contains(res.stderr, "No such container: no-such-ctr") {
		t.Errorf("doctor of an unknown container:\n%s", res)
	}

	ls := r.createNetwork(t, "demo", "doc")
	run := func(what string) (string, psRow) {
		name := r.s.uniqueName(t, what)
		r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", name) // left over from a killed run
		id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--network="+ls, "run", "-d", "--name", name, r.s.Image, "sleep", "3600"))
		r.rmAtEnd(t, vm1, "demo", id)
		row := rowOf(t, r.ps(t, vm1, "demo"), id)
		rep, res := r.doctor(t, vm1, nb, name)
		if res.code != 0 || rep.Broken {
			t.Fatalf("doctor %s before breaking anything:\n%s", what, res)
		}
		for _, link := range []string{"interface", "veth", "OVS port", "Neutron port", "child of VM port", "NB port", "chassis binding", "data path"} {
			if f := rep.finding(link); f.Verdict != "ok" {
				t.Errorf("%s: link %q is %+v, want ok", what, link, f)
			}
		}
		// Where the VM cannot read NB (the usual case) NB is not checked,
		// and that is no failure.
		rep, res = r.doctor(t, vm1, nil, name)
		if res.code != 0 || rep.finding("NB port").Verdict != "not checked" {
			t.Errorf("doctor %s without NB: want exit 0 and the NB port not checked:\n%s", what, res)
		}
		return name, row
	}

	t.Run("veth removed", func(t *testing.T) {
		name, row := run("veth")
		MustInNetns(t, vm1.Netns, "ip", "link", "del", row.OVSPort)
		rep, res := r.doctor(t, vm1, nb, name)
		wantBroken(t, "veth removed", rep, res, "veth")
		if f := rep.finding("interface"); f.Verdict != "broken" || f.Because != "veth" {
			t.Errorf("interface with the veth gone: %+v, want broken because of the veth", f)
		}
		r.gc(t, vm1)
		if rep, res := r.doctor(t, vm1, nb, name); res.code != 0 || rep.Broken {
			t.Errorf("doctor after gc re-plugged it:\n%s", res)
		}
	})

	t.Run("VM end of the veth down", func(t *testing.T) {
		// What ovs-vswitchd can do behind attach's back: every other link
		// looks fine, but no packet of the container leaves the VM.
		name, row := run("vethdown")
		MustInNetns(t, vm1.Netns, "ip", "link", "set", row.OVSPort, "down")
		rep, res := r.doctor(t, vm1, nb, name)
		wantBroken(t, "VM end of the veth down", rep, res, "veth")
		if p := strings.Join(rep.FirstBroken.Problems, " "); !strings.Contains(p, row.OVSPort) || !strings.Contains(p, "down") {
			t.Errorf("the veth that is down is not named: %+v", rep.FirstBroken)
		}
		if out := r.gc(t, vm1); !strings.Contains(out, "set up the VM end of the veth") {
			t.Errorf("gc did not say it set the veth up:\n%s", out)
		}
		if rep, res := r.doctor(t, vm1, nb, name); res.code != 0 || rep.Broken {
			t.Errorf("doctor after gc set the veth up:\n%s", res)
		}
	})

	t.Run("OVS port removed", func(t *testing.T) {
		// After rm (a cleanup run before this one): the Neutron port is
		// recorded nowhere in the VM any more, gc deletes it as nobody's.
		t.Cleanup(func() { r.gc(t, vm1) })
		name, row := run("ovsport")
		vm1.VSCtl(t, "del-port", row.OVSPort)
		rep, res := r.doctor(t, vm1, nb, name)
		wantBroken(t, "OVS port removed", rep, res, "OVS port")
		if !strings.Contains(strings.Join(rep.FirstBroken.Problems, " "), row.OVSPort) {
			t.Errorf("the broken OVS port is not named: %+v", rep.FirstBroken)
		}
	})

	t.Run("Neutron port deleted by an admin", func(t *testing.T) {
		name, row := run("port")
		admin := neutronAs(t, r.s, "admin")
		if tr, err := r.clouds["demo"].FindTrunk(t.Context(), r.vif[vm1.Name]); err == nil {
			if _, err := trunks.RemoveSubports(t.Context(), admin, tr.ID, trunks.RemoveSubportsOpts{Subports: []trunks.RemoveSubport{{PortID: row.PortID}}}).Extract(); err != nil {
				t.Fatal(err)
			}
		}
		if err := ports.Delete(t.Context(), admin, row.PortID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		rep, res := r.doctor(t, vm1, nb, name)
		wantBroken(t, "port deleted", rep, res, "Neutron port")
		if f := rep.finding("NB port"); f.Verdict != "broken" || f.Because != "Neutron port" {
			t.Errorf("NB port with the Neutron port deleted: %+v, want broken because of the Neutron port", f)
		}
	})

	t.Run("ovn-controller stopped", func(t *testing.T) {
		name, _ := run("controller")
		hv := r.s.hypervisor(t, vm1.Hypervisor)
		stopOVNController(t, hv)
		rep, res := r.doctor(t, vm1, nb, name)
		wantBroken(t, "ovn-controller stopped", rep, res, "data path")
		if !strings.Contains(rep.FirstBroken.Fix, "ovn-controller") {
			t.Errorf("the fix does not point at ovn-controller: %+v", rep.FirstBroken)
		}
	})
}

// stopOVNController kills the hypervisor's ovn-controller (as a crash
// would) and starts it again when the test ends, as the sandbox does.
func stopOVNController(t *testing.T, hv Hypervisor) {
	t.Helper()
	pidFile := filepath.Join(hv.Dir, "ovn-controller.pid")
	pid, err := readPidFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d := hv.Dir
		cmd := exec.Command("ip", "netns", "exec", hv.Netns, "env",
			"OVS_RUNDIR="+d, "OVS_DBDIR="+d, "OVS_LOGDIR="+d, "OVS_SYSCONFDIR="+d,
			"OVN_RUNDIR="+d, "OVN_DBDIR="+d, "OVN_LOGDIR="+d, "OVN_SYSCONFDIR="+d,
			"ovn-controller", "-vconsole:off", "unix:"+hv.OVSDB[len("unix:"):],
			"--pidfile="+pidFile, "--log-file="+filepath.Join(d, "ovn-controller.log"), "--detach", "--no-chdir")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("starting ovn-controller again: %v\n%s", err, out)
		}
		// Bound ports are claimed again within a second or two.
		time.Sleep(2 * time.Second)
	})
	for range 50 {
		if syscall.Kill(pid, 0) != nil || zombie(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ovn-controller %d still runs", pid)
}

// An operator's `openstack port list` tells whose a container's port is:
// named after the container in both modes; in binding-profile mode with
// device_owner compute:ovn-docker and device_id its network-holding
// container (a subport's device_owner and device_id are Neutron's).
func TestPortIdentityInCloud(t *testing.T) {
	r := newPluginRig(t)
	vm1 := r.s.VM(t, "vm1")
	ls := r.createNetwork(t, "demo", "ident")
	modes := []string{"trunk"}
	if r.s.Cloud != "openstack" { // real Neutron forbids binding:profile to members
		modes = append(modes, "binding-profile")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			name := r.s.uniqueName(t, "ident")
			r.plugin(t, vm1, "demo", nil, "--cred=$TOKEN", "--vif-id=$VIF_ID", "rm", name)
			id := strings.TrimSpace(r.mustPlugin(t, vm1, "demo", "--cred=$TOKEN", "--vif-id=$VIF_ID", "--port-mode="+mode, "--network="+ls, "run", "-d", "--name", name, r.s.Image, "sleep", "3600"))
			r.rmAtEnd(t, vm1, "demo", id)
			row := rowOf(t, r.ps(t, vm1, "demo"), id)
			p, err := ports.Get(t.Context(), neutronAs(t, r.s, "admin"), row.PortID).Extract()
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != "ovn-docker-"+name+"-eth0" {
				t.Errorf("port name %q, want ovn-docker-%s-eth0", p.Name, name)
			}
			switch mode {
			case "trunk":
				if p.DeviceOwner != "trunk:subport" || !strings.HasPrefix(p.Description, "ovn-docker child of ") {
					t.Errorf("subport: device_owner %q, description %q", p.DeviceOwner, p.Description)
				}
			default:
				if p.DeviceOwner != "compute:ovn-docker" || p.DeviceID != row.Container {
					t.Errorf("device_owner %q, device_id %q; want compute:ovn-docker and the holder %s", p.DeviceOwner, p.DeviceID, row.Container)
				}
			}
		})
	}
}
