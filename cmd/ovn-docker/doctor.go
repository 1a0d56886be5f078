package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/attach/adapters"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// errBroken: doctor found a broken link (exit status 1, after the report).
var errBroken = errors.New("broken")

// The links doctor checks itself, before the attachment's own.
const (
	linkContainer = "container" // the container and its network-holding container run
	linkOVSDB     = "VM OVSDB"
	linkBridge    = "bridge"
	linkUplink    = "uplink"
	linkMTU       = "MTU"
	linkDocker    = "Docker"
	linkCreds     = "credentials"
	linkCloud     = "cloud"
	linkVIF       = "vif-id"
	linkPortMode  = "port mode"
	linkVMPort    = "VM port binding"
	linkNB        = "NB"
)

type doctorFlags struct {
	nb           string
	probeTimeout time.Duration
}

func newDoctorCmd(a *app) *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor [CONTAINER]",
		Short: "Say which link of a container's network (or of the VM's setup) is broken, and what to do",
		Long: `With a CONTAINER, doctor walks each link between it and OVN, in the order
its traffic takes them, and prints for each: ok, BROKEN (with what is wrong
and what to do) or "not checked" (with why):

- container: the container and its network-holding container run
- namespace: the namespace is the one the network was made in
- interface: eth0 (etc.) is in it, with the port's addresses
- veth: the VM end of the veth exists and is up
- OVS port: the VM bridge's access port is open, with its VLAN
- VM NIC: the bridge's uplink, and the VM's port (vif-id) it is
- Neutron port: the container's port exists in Neutron
- child of VM port: the trunk's subport with the VLAN (trunk mode), or
  binding:profile parent and tag (binding-profile mode)
- NB port: the Logical_Switch_Port's parent_name and tag (only where this
  VM can read OVN's northbound DB: --nb)
- chassis binding: the hypervisor bound the VM's port and the container's
- data path: OVN's DHCP answers a request from the container's interface
  (what attach proves before the container runs)

A VM normally cannot read OVN's northbound DB: the NB port is then "not
checked", and Neutron's view stands in for it. Without the cloud (no
credentials, Neutron unreachable) the links that need Neutron are "not
checked" too.

Without CONTAINER, doctor checks the VM's setup: the VM's OVSDB, the bridge
and its uplink (the VM's NIC), MTU, Docker, credentials, the cloud, the
vif-id (the VM NIC's own port), the port mode and the VM port's binding.

The exit status is 1 when a link is broken (or the container does not
exist), 0 otherwise. -o json/yaml print the findings.`,
		Example: `  ovn-docker doctor
  ovn-docker doctor web
  ovn-docker --nb=unix:/var/run/ovn/ovnnb_db.sock doctor web
  ovn-docker -o json doctor web`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rep doctorReport
			var err error
			if len(args) == 0 {
				rep, err = a.doctorVM(cmd.Context(), f)
			} else {
				rep, err = a.doctorContainer(cmd.Context(), f, args[0])
			}
			if err != nil {
				return err
			}
			rep.judge()
			if err := a.printDoctor(rep); err != nil {
				return err
			}
			if rep.Broken {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.nb, "nb", a.envDefault("OVN_NB_DB", ""), "OVN northbound DB to read the container's Logical_Switch_Port from, where the VM can reach it (default $OVN_NB_DB)")
	cmd.Flags().DurationVar(&f.probeTimeout, "probe-timeout", 5*time.Second, "how long the data-path probe waits for OVN's DHCP answer")
	return cmd
}

// doctorReport is what doctor found.
type doctorReport struct {
	Container   string             `json:"container,omitempty"`
	Findings    []attach.Finding   `json:"findings,omitempty"` // the VM's, or the container's own
	Attachments []doctorAttachment `json:"attachments,omitempty"`
	Broken      bool               `json:"broken"`
	FirstBroken *attach.Finding    `json:"first_broken,omitempty"`
}

type doctorAttachment struct {
	OVSPort  string           `json:"ovs_port"`
	IfName   string           `json:"ifname"`
	Network  string           `json:"network"`
	PortID   string           `json:"port_id,omitempty"`
	VLAN     int              `json:"vlan"`
	Findings []attach.Finding `json:"findings"`
}

// judge sets Broken and FirstBroken.
func (r *doctorReport) judge() {
	all := [][]attach.Finding{r.Findings}
	for _, x := range r.Attachments {
		all = append(all, x.Findings)
	}
	for _, fs := range all {
		for i := range fs {
			if fs[i].Verdict != attach.VerdictBroken {
				continue
			}
			r.Broken = true
			if r.FirstBroken == nil && fs[i].Because == "" {
				f := fs[i]
				r.FirstBroken = &f
			}
		}
	}
}

func ok(link, detail string) attach.Finding {
	return attach.Finding{Link: link, Verdict: attach.VerdictOK, Detail: detail}
}

func broken(link, problem, fix string) attach.Finding {
	return attach.Finding{Link: link, Verdict: attach.VerdictBroken, Problems: []string{problem}, Fix: fix}
}

func notChecked(link, why string) attach.Finding {
	return attach.Finding{Link: link, Verdict: attach.VerdictNotChecked, Detail: why}
}

// nbReader connects to --nb if given; otherwise it says why NB is not read.
func (a *app) nbReader(ctx context.Context, f doctorFlags) (attach.NBReader, string) {
	if f.nb == "" {
		return nil, "this VM cannot read OVN's northbound DB (normal: pass --nb or OVN_NB_DB where it can); Neutron's view was checked instead"
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nb, err := adapters.DialNB(dctx, f.nb, a.log)
	if err != nil {
		return nil, fmt.Sprintf("cannot read NB at %s: %v", f.nb, err)
	}
	a.closers = append(a.closers, nb.Close)
	return nb, ""
}

// doctorContainer walks the links of each of the container's attachments.
func (a *app) doctorContainer(ctx context.Context, f doctorFlags, ref string) (doctorReport, error) {
	rep := doctorReport{Container: ref}
	dk := a.docker()
	if err := dk.Ping(ctx); err != nil {
		return rep, err
	}
	ct, err := dk.Inspect(ctx, ref)
	if errors.Is(err, docker.ErrNoSuchContainer) {
		return rep, fmt.Errorf("No such container: %s", ref)
	}
	if err != nil {
		return rep, err
	}
	owner := ct // the namespace's owner: the holder, or the container itself
	if h := ct.Labels[docker.LabelHolder]; h != "" {
		owner, err = dk.Inspect(ctx, h)
		if errors.Is(err, docker.ErrNoSuchContainer) {
			rep.Findings = append(rep.Findings, broken(linkContainer, fmt.Sprintf("its network-holding container %.12s is gone", h),
				"`ovn-docker rm "+ct.Name+"` and run it again (its network went with the holder)"))
			rep.judge()
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
	}
	at, noCloud, err := a.attacherOrLocal(ctx)
	if err != nil {
		return rep, err
	}
	atts, err := at.List(ctx, false)
	if err != nil {
		return rep, err
	}
	var mine []attach.Attachment
	for _, x := range atts {
		if x.ContainerID == owner.ID {
			mine = append(mine, x)
		}
	}
	peers := a.vethPeers(ctx, owner)
	engine, err := a.engineAttachments(ctx, at, owner, peers)
	if err != nil {
		return rep, err
	}
	mine = append(mine, engine...)
	// A veth of ours whose OVS port is gone is an attachment nothing
	// records any more: walk it too.
	mine = append(mine, unrecorded(owner, peers, mine)...)
	cf := ok(linkContainer, ct.Name+" "+ct.Status)
	if owner.ID != ct.ID {
		cf.Detail += ", network held by " + owner.Name + " " + owner.Status
	}
	netns := ""
	switch {
	case len(mine) == 0:
		cf = broken(linkContainer, "no network from ovn-docker in this VM (no OVS port of the VM's bridge records it)",
			"run it with `ovn-docker run` (or `ovn-docker attach` it), or on a Docker network of driver ovn, in the VM where it runs")
	case !owner.Running:
		cf = broken(linkContainer, "its network-holding container "+owner.Name+" is "+owner.Status,
			"`docker start "+owner.Name+"`, then `ovn-docker gc` to re-plug it")
	default:
		netns = fmt.Sprintf("/proc/%d/ns/net", owner.Pid)
	}
	rep.Findings = append(rep.Findings, cf)
	if netns == "" {
		rep.judge()
		return rep, nil
	}
	if noCloud != nil {
		rep.Findings = append(rep.Findings, notChecked(linkCloud, fmt.Sprintf("no cloud (%v): the links that need Neutron are not checked", noCloud)))
	}
	nb, noNB := a.nbReader(ctx, f)
	for _, x := range mine {
		fs, err := at.Diagnose(ctx, x, netns, attach.DiagnoseOptions{
			Cloud: noCloud == nil, NB: nb, NoNB: noNB, Probe: true, ProbeTimeout: f.probeTimeout,
		})
		if err != nil {
			return rep, err
		}
		name := x.NetworkName
		if name == "" {
			name = x.NetworkID
		}
		rep.Attachments = append(rep.Attachments, doctorAttachment{OVSPort: x.PortName, IfName: x.IfName, Network: name, PortID: x.PortID, VLAN: x.VLAN, Findings: fs})
	}
	rep.judge()
	return rep, nil
}

// engineAttachments: the attachments ovn-docker daemon (the Docker
// driver) made for owner's endpoints on Docker networks of driver ovn,
// each with the name its interface has in the container (Docker renames
// it; the VM end keeps the OVS port's name).
func (a *app) engineAttachments(ctx context.Context, at *attach.Attacher, owner docker.Container, peers map[string]string) ([]attach.Attachment, error) {
	if len(owner.Endpoints) == 0 {
		return nil, nil
	}
	entries, err := at.EngineEntries(ctx)
	if err != nil {
		return nil, err
	}
	ifNames := map[string]string{} // VM end → name in the container
	for ifName, vmEnd := range peers {
		ifNames[vmEnd] = ifName
	}
	var out []attach.Attachment
	for _, e := range entries {
		network, ok := owner.Endpoints[e.Endpoint]
		if !ok {
			continue
		}
		ifName := ifNames[e.PortName]
		if ifName == "" {
			ifName = e.Peer // its name before Docker moved it: not in the container
		}
		out = append(out, e.Attachment(owner.ID, network, ifName))
	}
	return out, nil
}

// vethPeers: the veths in owner's namespace, each interface's name there
// mapped to its VM end's; none when owner does not run.
func (a *app) vethPeers(ctx context.Context, owner docker.Container) map[string]string {
	if !owner.Running {
		return nil
	}
	peers, err := adapters.NewLinks(a.log).VethPeers(ctx, fmt.Sprintf("/proc/%d/ns/net", owner.Pid))
	if err != nil {
		a.log.Warn("listing the container's veths", "err", err)
	}
	return peers
}

// unrecorded: the veths in owner's namespace (peers) whose VM end is
// named like an access port but that no attachment in known records.
func unrecorded(owner docker.Container, peers map[string]string, known []attach.Attachment) []attach.Attachment {
	netns := fmt.Sprintf("/proc/%d/ns/net", owner.Pid)
	recorded := map[string]bool{}
	for _, x := range known {
		recorded[x.PortName] = true
	}
	var out []attach.Attachment
	for ifName, vmEnd := range peers {
		if strings.HasPrefix(vmEnd, vswitch.AccessPortPrefix) && !recorded[vmEnd] {
			out = append(out, attach.Attachment{PortName: vmEnd, IfName: ifName, ContainerID: owner.ID, NetnsPath: netns,
				NetworkName: owner.Labels[docker.LabelNetwork]})
		}
	}
	return out
}

// doctorVM checks the VM's setup, each check reusing what the commands
// themselves do (DiscoverVM, the port mode, the cloud connection).
func (a *app) doctorVM(ctx context.Context, f doctorFlags) (doctorReport, error) {
	var rep doctorReport
	add := func(x attach.Finding) { rep.Findings = append(rep.Findings, x) }

	vs, err := a.vswitch(ctx)
	if err != nil {
		add(broken(linkOVSDB, err.Error(), "start Open vSwitch in the VM, or point --ovsdb (OVN_DOCKER_OVSDB) at its database"))
		rep.judge()
		return rep, nil
	}
	add(ok(linkOVSDB, a.ovsdb))
	sw := adapters.Switch{C: vs}
	links := adapters.NewLinks(a.log)
	vm, err := attach.LocalVM(ctx, sw, links, a.bridge, a.vifID, vswitch.AccessPortPrefix)
	if err != nil {
		add(broken(linkBridge, err.Error(), "create the VM bridge with the VM's NIC as its port (`ovs-vsctl add-br br-vm -- add-port br-vm eth0`), or pass --bridge"))
		rep.judge()
		return rep, nil
	}
	add(ok(linkBridge, vm.Bridge+" (datapath "+orDash(vm.DatapathType)+")"))
	if vm.Uplink == "" {
		add(broken(linkUplink, "bridge "+vm.Bridge+" has no port but its own: the VM's NIC is not on it",
			"`ovs-vsctl add-port "+vm.Bridge+" eth0` (the VM's NIC) and move the VM's address to the bridge"))
	} else {
		add(ok(linkUplink, fmt.Sprintf("%s, MTU %d", vm.Uplink, vm.UplinkMTU)))
	}
	dk := a.docker()
	if err := dk.Ping(ctx); err != nil {
		add(broken(linkDocker, err.Error(), "start dockerd, or set DOCKER_HOST"))
	} else {
		add(ok(linkDocker, "engine answers"))
	}

	cl, err := a.cloud(ctx)
	switch {
	case errors.Is(err, cloud.ErrNoCredentials) || errors.Is(err, cloud.ErrAuth):
		add(broken(linkCreds, err.Error(), "pass a valid token (--cred, OVN_DOCKER_CRED, --cred-file: `openstack token issue`) or source your openrc / set --os-cloud"))
		a.doctorNoCloud(add)
		return rep, nil
	case errors.Is(err, cloud.ErrUnreachable):
		add(ok(linkCreds, "given"))
		add(broken(linkCloud, err.Error(), "check OS_AUTH_URL and that the VM reaches the cloud's API"))
		a.doctorNoCloud(add)
		return rep, nil
	case err != nil:
		add(broken(linkCreds, err.Error(), "check the credentials and OS_AUTH_URL"))
		a.doctorNoCloud(add)
		return rep, nil
	}
	add(ok(linkCreds, "project "+cl.ProjectID()))
	hasTrunk, err := cl.HasExtension(ctx, cloud.ExtTrunk)
	if err != nil {
		add(broken(linkCloud, "Neutron at "+cl.NetworkURL()+": "+err.Error(), "check that the VM reaches Neutron's endpoint from the Keystone catalog"))
		a.doctorNoCloud(add)
		return rep, nil
	}
	add(ok(linkCloud, "Neutron at "+cl.NetworkURL()))

	full, err := attach.DiscoverVM(ctx, sw, links, cl, a.bridge, a.vifID, vswitch.AccessPortPrefix)
	if err != nil {
		add(broken(linkVIF, err.Error(), "pass this VM's own port with --vif-id (OS_VIF_ID), or leave both unset to find it by the NIC's MAC"))
		return rep, nil
	}
	add(ok(linkVIF, full.VIFID+" (MAC "+full.MAC+", the VM NIC's)"))

	mode, err := a.resolvePortMode(ctx, cl)
	if err != nil {
		add(broken(linkPortMode, err.Error(), "pass --port-mode trunk or binding-profile"))
	} else {
		detail := string(mode)
		if mode == attach.ModeTrunk {
			t, err := cl.FindTrunk(ctx, full.VIFID)
			switch {
			case errors.Is(err, cloud.ErrNotFound):
				detail += "; the VM's port has no trunk yet (the first attach makes it)"
			case err != nil:
				detail += "; trunk: " + err.Error()
			default:
				detail += fmt.Sprintf("; trunk %s (%s, %d subports)", t.ID, t.Status, len(t.Subports))
			}
		} else if hasTrunk {
			detail += " (the cloud has trunks: --port-mode auto would use them)"
		}
		add(ok(linkPortMode, detail))
	}

	vp, err := cl.GetPort(ctx, full.VIFID)
	switch {
	case err != nil:
		add(broken(linkVMPort, err.Error(), "check the vif-id"))
	case vp.Status != "ACTIVE":
		add(broken(linkVMPort, "the VM's port "+vp.ID+" is "+vp.Status+", not ACTIVE: its hypervisor has not bound it",
			"is ovn-controller running on the VM's hypervisor and connected to the southbound DB? (an operator's job)"))
	default:
		add(ok(linkVMPort, vp.ID+" ACTIVE"))
	}

	add(a.doctorMTU(ctx, cl, full))
	if nb, why := a.nbReader(ctx, f); nb == nil {
		add(notChecked(linkNB, why))
	} else {
		add(ok(linkNB, "readable at "+f.nb+": `doctor CONTAINER` checks the Logical_Switch_Ports"))
	}
	return rep, nil
}

// doctorNoCloud: what could not be checked without the cloud.
func (a *app) doctorNoCloud(add func(attach.Finding)) {
	for _, l := range []string{linkVIF, linkPortMode, linkVMPort, linkMTU} {
		add(notChecked(l, "needs the cloud"))
	}
}

// doctorMTU: networks of the project whose MTU the VM's NIC cannot carry
// (attach refuses them, see attach.ErrMTU).
func (a *app) doctorMTU(ctx context.Context, cl *cloud.Client, vm attach.VM) attach.Finding {
	if vm.UplinkMTU == 0 {
		return notChecked(linkMTU, "the uplink's MTU is unknown")
	}
	ns, err := cl.ListNetworks(ctx)
	if err != nil {
		return notChecked(linkMTU, "listing networks: "+err.Error())
	}
	var tooBig []string
	for _, n := range ns {
		if n.MTU > vm.UplinkMTU {
			tooBig = append(tooBig, fmt.Sprintf("%s (%d)", n.Name, n.MTU))
		}
	}
	if len(tooBig) > 0 {
		return broken(linkMTU, fmt.Sprintf("networks whose MTU exceeds the VM NIC's %d: %s; containers cannot join them", vm.UplinkMTU, strings.Join(tooBig, ", ")),
			"raise the VM NIC's MTU, or lower those networks' (`openstack network set --mtu`)")
	}
	return ok(linkMTU, fmt.Sprintf("every network of the project fits the VM NIC's %d", vm.UplinkMTU))
}

func orDash(s string) string {
	if s == "" {
		return "system"
	}
	return s
}

// printDoctor prints the report: one line per link, the first broken
// link and its fix at the end.
func (a *app) printDoctor(rep doctorReport) error {
	if a.structured() {
		return a.printDoc(rep)
	}
	w := a.stdout
	line := func(f attach.Finding) {
		verdict := string(f.Verdict)
		if f.Verdict == attach.VerdictBroken {
			verdict = "BROKEN"
		}
		text := f.Detail
		if len(f.Problems) > 0 {
			text = strings.Join(f.Problems, "; ")
		}
		fmt.Fprintf(w, "  %-11s  %-16s  %s\n", verdict, f.Link, text)
		switch {
		case f.Because != "":
			fmt.Fprintf(w, "  %-11s  %-16s  (because the %s is broken)\n", "", "", f.Because)
		case f.Fix != "":
			fmt.Fprintf(w, "  %-11s  %-16s  fix: %s\n", "", "", f.Fix)
		}
	}
	if rep.Container == "" {
		fmt.Fprintln(w, "VM setup:")
	} else {
		fmt.Fprintf(w, "container %s:\n", rep.Container)
	}
	for _, f := range rep.Findings {
		line(f)
	}
	for _, x := range rep.Attachments {
		fmt.Fprintf(w, "%s on %s (OVS port %s, VLAN %d, Neutron port %s):\n", x.IfName, x.Network, x.OVSPort, x.VLAN, orNoneStr(x.PortID))
		for _, f := range x.Findings {
			line(f)
		}
	}
	if rep.FirstBroken != nil {
		fb := rep.FirstBroken
		fmt.Fprintf(w, "broken link: %s: %s\nwhat to do: %s\n", fb.Link, strings.Join(fb.Problems, "; "), fb.Fix)
	} else {
		fmt.Fprintln(w, "no broken link found")
	}
	return nil
}

func orNoneStr(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
