package attach

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

// The links of the chain from a namespace to OVN, in the order traffic
// (and Diagnose) follows them.
const (
	LinkAttachment = "attachment"       // the attach finished (OVS port state ready)
	LinkNamespace  = "namespace"        // the namespace the attachment was made in is the owner's
	LinkInterface  = "interface"        // the container end of the veth, with its addresses
	LinkVeth       = "veth"             // the VM end of the veth
	LinkOVSPort    = "OVS port"         // the access port: open, with its VLAN
	LinkVMNIC      = "VM NIC"           // the bridge's uplink and the VM's port (vif-id) it belongs to
	LinkNeutron    = "Neutron port"     // the container's port in Neutron
	LinkChild      = "child of VM port" // trunk subport, or binding:profile parent/tag
	LinkLSP        = "NB port"          // the Logical_Switch_Port: parent_name, tag
	LinkBinding    = "chassis binding"  // the hypervisor bound the VM's port and the child
	LinkDataPath   = "data path"        // OVN's DHCP answers the port (its flows are in)
)

// Verdict of one link.
type Verdict string

const (
	VerdictOK         Verdict = "ok"
	VerdictBroken     Verdict = "broken"
	VerdictNotChecked Verdict = "not checked"
)

// Finding is what Diagnose found about one link.
type Finding struct {
	Link     string   `json:"link"`
	Verdict  Verdict  `json:"verdict"`
	Detail   string   `json:"detail,omitempty"`   // what was seen, or why it was not checked
	Problems []string `json:"problems,omitempty"` // when broken
	Fix      string   `json:"fix,omitempty"`      // when broken: what to do
	// Because names the link whose breakage broke this one too (a
	// deleted veth takes the container's end with it): the root cause
	// is that link.
	Because string `json:"because,omitempty"`
}

// AddrInspector may be implemented by Links: Diagnose then checks the
// container's interface has the port's addresses.
type AddrInspector interface {
	LinkAddrs(ctx context.Context, netnsPath, name string) ([]netip.Prefix, error)
}

// LSP is what Diagnose reads of a Logical_Switch_Port.
type LSP struct {
	ParentName string
	Tag        int // 0: none
	Up         *bool
}

// ErrNoLSP: NB has no Logical_Switch_Port of that name.
var ErrNoLSP = errors.New("no such Logical_Switch_Port")

// NBReader reads OVN's northbound DB, where this VM may read it (a VM
// normally cannot: the cloud's control plane can).
type NBReader interface {
	// LogicalSwitchPort: the LSP named name, or an error wrapping ErrNoLSP.
	LogicalSwitchPort(ctx context.Context, name string) (LSP, error)
}

// DiagnoseOptions says how far Diagnose looks.
type DiagnoseOptions struct {
	// Cloud: ask Neutron (port, trunk, statuses).
	Cloud bool
	// NB, if set, is read for the port's Logical_Switch_Port; nil: the
	// NB link is reported not checked, and the chassis binding judged by
	// Neutron's port statuses (trunk mode only).
	NB NBReader
	// NoNB says why NB is nil, for the report.
	NoNB string
	// Probe: send the data-path probe (a DHCP request from the
	// interface) for up to ProbeTimeout (zero: 5s).
	Probe        bool
	ProbeTimeout time.Duration
}

// Diagnose walks the links of the attachment at, whose owner's namespace
// is now netnsPath, and says for each whether it works. Check is the
// same walk without the chassis binding and the data path.
func (a *Attacher) Diagnose(ctx context.Context, at Attachment, netnsPath string, o DiagnoseOptions) ([]Finding, error) {
	w := walk{a: a, at: at, netns: netnsPath, o: o}
	if ap, ok, err := a.accessPort(ctx, at.PortName); err != nil {
		return nil, err
	} else if ok {
		w.ap = ap
	}
	steps := []func(context.Context) (Finding, error){
		w.attachment, w.namespace, w.iface, w.veth, w.ovsPort, w.vmNIC,
		w.neutronPort, w.child, w.lsp, w.binding, w.dataPath,
	}
	var out []Finding
	for _, step := range steps {
		f, err := step(ctx)
		if err != nil {
			return nil, err
		}
		if f.Link != "" {
			if len(f.Problems) > 0 {
				f.Verdict = VerdictBroken
			} else if f.Verdict == "" {
				f.Verdict = VerdictOK
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// Check says what keeps the attachment at from working when its owner's
// namespace is now netnsPath: the veth (both ends), the OVS port (opened,
// with the VLAN Neutron knows the port by) and the Neutron port. No
// problem: nil.
func (a *Attacher) Check(ctx context.Context, at Attachment, netnsPath string) ([]string, error) {
	return a.problems(ctx, at, netnsPath, DiagnoseOptions{Cloud: true})
}

// CheckLocal is Check without asking Neutron: what the VM alone shows
// (the veth's ends, the OVS port), for when the cloud cannot be reached.
func (a *Attacher) CheckLocal(ctx context.Context, at Attachment, netnsPath string) ([]string, error) {
	return a.problems(ctx, at, netnsPath, DiagnoseOptions{})
}

func (a *Attacher) problems(ctx context.Context, at Attachment, netnsPath string, o DiagnoseOptions) ([]string, error) {
	fs, err := a.Diagnose(ctx, at, netnsPath, o)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Problems...)
	}
	return out, nil
}

// walk is one Diagnose: its steps share what the earlier ones found.
type walk struct {
	a     *Attacher
	at    Attachment
	netns string
	o     DiagnoseOptions

	ap      AccessPort // the OVS port, "" Name if gone
	port    cloud.Port // the Neutron port, if found
	hasPort bool
	noIf    bool  // the interface is not in the namespace
	lspUp   *bool // NB's up of the port's LSP, if read
	// upstream is the first link found broken that breaks the cloud
	// side of the later ones (the Neutron port, the LSP).
	upstream string
}

const fixGC = "run `ovn-docker gc`"

// fix is cli, the command line's repair, for an attachment the command
// line made; for one of the Docker driver (which gc leaves alone) it is
// Docker's own: a reconnect, which gives the container a new port.
func (w *walk) fix(cli string) string {
	if w.at.Endpoint == "" {
		return cli
	}
	c, n := w.at.ContainerID, w.at.NetworkName
	if len(c) > 12 {
		c = c[:12]
	}
	return fmt.Sprintf("reconnect it: `docker network disconnect %s %s`, then `docker network connect %s %s` (or `docker restart %s`)", n, c, n, c, c)
}

func (w *walk) attachment(context.Context) (Finding, error) {
	f := Finding{Link: LinkAttachment, Detail: "state " + w.at.State}
	if w.ap.Name == "" {
		return w.notChecked(LinkAttachment, "its OVS port, the record of the attachment, is gone"), nil
	}
	if w.at.State != stateReady {
		f.Problems = []string{"attach did not finish (" + w.at.State + ")"}
		f.Fix = w.fix(fixGC + " (it removes attaches that never finished), then run the container again")
	}
	return f, nil
}

func (w *walk) namespace(context.Context) (Finding, error) {
	f := Finding{Link: LinkNamespace, Detail: w.netns}
	if w.netns != w.at.NetnsPath && w.at.NetnsPath != "" {
		f.Problems = []string{"the namespace was replaced (its container restarted)"}
		f.Fix = w.fix(fixGC + " to re-plug it")
	}
	return f, nil
}

func (w *walk) iface(ctx context.Context) (Finding, error) {
	f := Finding{Link: LinkInterface, Detail: w.at.IfName}
	li, ok := w.a.Links.(LinkInspector)
	if !ok {
		return Finding{}, nil
	}
	in, err := li.LinkInNetns(ctx, w.netns, w.at.IfName)
	if err != nil {
		return Finding{}, err
	}
	if !in {
		f.Problems = []string{"no " + w.at.IfName + " in the container's namespace"}
		f.Fix = w.fix(fixGC + " to re-plug it")
		w.noIf = true
		if vmEnd, err := li.LinkExists(ctx, w.at.PortName); err == nil && !vmEnd {
			f.Because = LinkVeth // deleting either end deletes the pair
		}
		return f, nil
	}
	ai, ok := w.a.Links.(AddrInspector)
	if !ok {
		return f, nil
	}
	want := w.recordedAddrs()
	if len(want) == 0 {
		return f, nil
	}
	have, err := ai.LinkAddrs(ctx, w.netns, w.at.IfName)
	if err != nil {
		return Finding{}, err
	}
	var missing []string
	for _, p := range want {
		if !slices.Contains(have, p) {
			missing = append(missing, p.String())
		}
	}
	f.Detail = fmt.Sprintf("%s with %s", w.at.IfName, prefixes(have))
	if len(missing) > 0 {
		f.Problems = []string{fmt.Sprintf("%s lacks its address %s", w.at.IfName, strings.Join(missing, ", "))}
		f.Fix = w.fix("`ovn-docker rm` the container and run it again (its addresses were removed inside it)")
	}
	return f, nil
}

// recordedAddrs: the addresses the attach gave the interface (recorded on
// the OVS port).
func (w *walk) recordedAddrs() []netip.Prefix {
	d, err := parsePortData(w.ap.ExternalIDs)
	if err != nil {
		return nil
	}
	return d.cfg.Addresses
}

func prefixes(ps []netip.Prefix) string {
	if len(ps) == 0 {
		return "no address"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func (w *walk) veth(ctx context.Context) (Finding, error) {
	f := Finding{Link: LinkVeth, Detail: w.at.PortName}
	li, ok := w.a.Links.(LinkInspector)
	if !ok {
		return Finding{}, nil
	}
	vmEnd, err := li.LinkExists(ctx, w.at.PortName)
	if err != nil {
		return Finding{}, err
	}
	if !vmEnd {
		f.Problems = []string{"veth " + w.at.PortName + " gone"}
		f.Fix = w.fix(fixGC + " to re-plug it (same port, VLAN and addresses)")
		return f, nil
	}
	down, err := li.LinkDown(ctx, w.at.PortName)
	if err != nil {
		return Finding{}, err
	}
	if down {
		f.Problems = []string{"the VM end of the veth, " + w.at.PortName + ", is down: no packet of the container leaves the VM"}
		f.Fix = w.fix(fixGC + " to set it up (or `ip link set " + w.at.PortName + " up` in the VM)")
	}
	return f, nil
}

func (w *walk) ovsPort(context.Context) (Finding, error) {
	f := Finding{Link: LinkOVSPort}
	fixRecreate := w.fix("`ovn-docker rm` the container and run it again (" + fixGC + " then deletes what is left in Neutron)")
	switch ap := w.ap; {
	case ap.Name == "":
		f.Problems = []string{"OVS port " + w.at.PortName + " gone"}
		f.Fix = fixRecreate
	case ap.Error != "" && ap.OFPort <= 0:
		// With an ofport, OVS uses the port: an error left from before
		// the veth existed (OVS adds the port first) is stale.
		f.Problems = []string{"OVS cannot use " + ap.Name + ": " + ap.Error}
		f.Fix = "look at ovs-vswitchd's log; " + fixRecreate
	case ap.OFPort <= 0:
		f.Problems = []string{"OVS has not opened " + ap.Name}
		f.Fix = "is ovs-vswitchd running in the VM? then " + w.fix(fixGC+" to re-plug it")
	default:
		f.Detail = fmt.Sprintf("%s on %s, VLAN %d, ofport %d", ap.Name, ap.Bridge, ap.VLAN, ap.OFPort)
	}
	return f, nil
}

func (w *walk) vmNIC(ctx context.Context) (Finding, error) {
	vm := w.a.VM
	f := Finding{Link: LinkVMNIC}
	if vm.Uplink == "" {
		f.Problems = append(f.Problems, "bridge "+vm.Bridge+" has no uplink (the VM's NIC)")
		f.Fix = "add the VM's NIC to " + vm.Bridge + " (`ovs-vsctl add-port " + vm.Bridge + " eth0`)"
		return f, nil
	}
	if li, ok := w.a.Links.(LinkInspector); ok {
		up, err := li.LinkExists(ctx, vm.Uplink)
		if err != nil {
			return Finding{}, err
		}
		if !up {
			f.Problems = append(f.Problems, "uplink "+vm.Uplink+" of "+vm.Bridge+" does not exist")
			f.Fix = "the VM's NIC is gone from the VM: restore it or point --bridge at the right bridge"
		}
	}
	recorded := w.ap.ExternalIDs[KeyVIF]
	switch {
	case vm.VIFID == "":
		f.Detail = fmt.Sprintf("%s (MTU %d); the VM's port not known without the cloud or --vif-id", vm.Uplink, vm.UplinkMTU)
	case recorded != "" && recorded != vm.VIFID:
		f.Problems = append(f.Problems, fmt.Sprintf("the OVS port records VM port %s, this VM's is %s", recorded, vm.VIFID))
		f.Fix = "run the container again in this VM, or doctor with --vif-id " + recorded
	default:
		f.Detail = fmt.Sprintf("%s (MTU %d), VM port %s", vm.Uplink, vm.UplinkMTU, vm.VIFID)
		if vm.MAC != "" {
			f.Detail += " (MAC " + vm.MAC + ")"
		}
	}
	return f, nil
}

func (w *walk) notChecked(link, why string) Finding {
	return Finding{Link: link, Verdict: VerdictNotChecked, Detail: why}
}

const noCloud = "Neutron not asked (no cloud)"

func (w *walk) neutronPort(ctx context.Context) (Finding, error) {
	if !w.o.Cloud {
		return w.notChecked(LinkNeutron, noCloud), nil
	}
	f := Finding{Link: LinkNeutron}
	if w.at.PortID == "" {
		f.Problems = []string{"no Neutron port recorded"}
		f.Fix = w.fix(fixGC + " (the attach never got its port)")
		if w.ap.Name == "" {
			f.Because = LinkOVSPort // the port id was recorded there
		}
		return f, nil
	}
	p, err := w.a.Cloud.GetPort(ctx, w.at.PortID)
	if errors.Is(err, cloud.ErrNotFound) {
		f.Problems = []string{"Neutron port " + w.at.PortID + " gone"}
		f.Fix = "it was deleted in the cloud: " + w.fix("`ovn-docker rm` the container and run it again")
		w.upstream = LinkNeutron
		return f, nil
	}
	if err != nil {
		return Finding{}, err
	}
	w.port, w.hasPort = p, true
	f.Detail = fmt.Sprintf("%s %q, %s", p.ID, p.Name, p.Status)
	return f, nil
}

func (w *walk) child(ctx context.Context) (Finding, error) {
	if !w.o.Cloud {
		return w.notChecked(LinkChild, noCloud), nil
	}
	if !w.hasPort {
		return w.notChecked(LinkChild, "no Neutron port"), nil
	}
	f := Finding{Link: LinkChild}
	p, ap := w.port, w.ap
	fix := w.fix("`ovn-docker rm` the container and run it again")
	if trunkID := ap.ExternalIDs[KeyTrunk]; ap.Name != "" && trunkID != "" {
		// A subport: real Neutron hides its binding:profile from members,
		// the trunk says which VLAN it has.
		t, err := w.a.Cloud.GetTrunk(ctx, trunkID)
		switch {
		case errors.Is(err, cloud.ErrNotFound):
			f.Problems = append(f.Problems, "trunk "+trunkID+" of the VM's port gone")
		case err != nil:
			return Finding{}, err
		case t.VLANHolder(ap.VLAN) != p.ID:
			f.Problems = append(f.Problems, fmt.Sprintf("Neutron port is not the subport with VLAN %d of trunk %s (OVS port %s)", ap.VLAN, trunkID, ap.Name))
		default:
			f.Detail = fmt.Sprintf("subport VLAN %d of trunk %s", ap.VLAN, trunkID)
		}
	} else if ap.Name != "" && p.Tag != ap.VLAN {
		f.Problems = append(f.Problems, fmt.Sprintf("Neutron port has VLAN %d, OVS port %s has %d", p.Tag, ap.Name, ap.VLAN))
	} else if ap.Name != "" {
		f.Detail = fmt.Sprintf("binding:profile parent %s, tag %d", p.ParentName, p.Tag)
	}
	if p.ParentName != "" && w.a.VM.VIFID != "" && p.ParentName != w.a.VM.VIFID {
		f.Problems = append(f.Problems, "Neutron port is a child of "+p.ParentName+", not of this VM's port")
	}
	if len(f.Problems) > 0 {
		f.Fix = fix
	}
	return f, nil
}

// lsp is only walked by doctor-like callers: Check (ps) does not ask NB.
func (w *walk) lsp(ctx context.Context) (Finding, error) {
	if !w.o.Probe && w.o.NB == nil {
		return Finding{}, nil
	}
	if w.o.NB == nil {
		why := w.o.NoNB
		if why == "" {
			why = "this VM cannot read OVN's NB"
		}
		return w.notChecked(LinkLSP, why), nil
	}
	if w.at.PortID == "" {
		return w.notChecked(LinkLSP, "no Neutron port recorded"), nil
	}
	f := Finding{Link: LinkLSP}
	l, err := w.o.NB.LogicalSwitchPort(ctx, w.at.PortID)
	if errors.Is(err, ErrNoLSP) {
		f.Problems = []string{"NB has no Logical_Switch_Port " + w.at.PortID}
		f.Fix = "the cloud lost the port's OVN side (Neutron's maintenance task, or an operator, may restore it); else " + w.fix("`ovn-docker rm` the container and run it again")
		if w.upstream != "" {
			f.Because = w.upstream
		} else {
			w.upstream = LinkLSP
		}
		return f, nil
	}
	if err != nil {
		return w.notChecked(LinkLSP, "reading NB: "+err.Error()), nil
	}
	vif := w.a.VM.VIFID
	if vif == "" {
		vif = w.ap.ExternalIDs[KeyVIF]
	}
	if l.ParentName != vif {
		f.Problems = append(f.Problems, fmt.Sprintf("Logical_Switch_Port parent_name is %q, want the VM's port %s", l.ParentName, vif))
	}
	if w.ap.Name != "" && l.Tag != w.ap.VLAN {
		f.Problems = append(f.Problems, fmt.Sprintf("Logical_Switch_Port tag is %d, the OVS port's VLAN %d", l.Tag, w.ap.VLAN))
	}
	if len(f.Problems) > 0 {
		f.Fix = "the cloud's OVN side disagrees with Neutron: " + w.fix("`ovn-docker rm` the container and run it again") + ", and tell the cloud's operator"
	}
	f.Detail = fmt.Sprintf("parent_name %s, tag %d", l.ParentName, l.Tag)
	w.lspUp = l.Up
	return f, nil
}

// binding: the hypervisor bound the VM's port (Neutron ACTIVE) and the
// child (NB up; or, in trunk mode, the subport ACTIVE).
func (w *walk) binding(ctx context.Context) (Finding, error) {
	if !w.o.Probe && w.o.NB == nil {
		return Finding{}, nil
	}
	if !w.o.Cloud {
		return w.notChecked(LinkBinding, noCloud), nil
	}
	f := Finding{Link: LinkBinding}
	fix := "the VM's hypervisor does not serve it: is ovn-controller running there and connected to the southbound DB? (an operator's job)"
	if vif := w.a.VM.VIFID; vif != "" {
		vp, err := w.a.Cloud.GetPort(ctx, vif)
		if err == nil && vp.Status != "ACTIVE" {
			f.Problems = append(f.Problems, fmt.Sprintf("the VM's port %s is %s, not ACTIVE", vif, vp.Status))
		}
	}
	switch {
	case w.lspUp != nil && !*w.lspUp:
		f.Problems = append(f.Problems, "OVN reports the container's port down (no chassis has claimed it)")
	case w.lspUp != nil:
		f.Detail = "OVN reports the port up"
	case w.hasPort && w.a.trunkMode() && w.port.Status != "ACTIVE":
		f.Problems = append(f.Problems, fmt.Sprintf("the subport is %s, not ACTIVE", w.port.Status))
	case w.hasPort && w.a.trunkMode():
		f.Detail = "the subport is ACTIVE"
	case !w.hasPort:
		if len(f.Problems) == 0 {
			f.Verdict = VerdictNotChecked
			f.Detail = "no Neutron port"
		}
	default:
		if len(f.Problems) == 0 {
			f.Verdict = VerdictNotChecked
			f.Detail = "the VM's port is ACTIVE; Neutron never reports a binding:profile child ACTIVE and NB was not read"
		}
	}
	if len(f.Problems) > 0 {
		f.Fix = fix
	}
	return f, nil
}

// dataPath sends the attach's own probe: a DHCP request for the port's
// address, answered by OVN on the hypervisor only when the port's flows
// are in and ovn-controller runs (OVN's DHCP is answered by it).
func (w *walk) dataPath(ctx context.Context) (Finding, error) {
	if !w.o.Probe {
		return Finding{}, nil
	}
	if w.noIf || w.ap.Name == "" {
		return w.notChecked(LinkDataPath, "the links before it are broken"), nil
	}
	d, err := parsePortData(w.ap.ExternalIDs)
	if err != nil || !d.probe.IsValid() {
		return w.notChecked(LinkDataPath, "the port has no IPv4 subnet with DHCP to probe"), nil
	}
	timeout := w.o.ProbeTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f := Finding{Link: LinkDataPath}
	err = w.a.Links.ProbeDHCP(pctx, w.netns, w.at.IfName, d.cfg.MAC, d.probe)
	switch {
	case err == nil:
		f.Detail = "OVN's DHCP answered for " + d.probe.String()
	case errors.Is(err, ErrProbeUnavailable):
		return w.notChecked(LinkDataPath, "cannot probe: "+err.Error()), nil
	case ctx.Err() != nil:
		return Finding{}, ctx.Err()
	default:
		f.Problems = []string{fmt.Sprintf("no answer from OVN's DHCP for %s within %s", d.probe, timeout)}
		f.Fix = "traffic does not reach OVN or OVN does not answer: is ovn-controller on the VM's hypervisor running and connected (an operator's job)? is the VM's port bound?"
		f.Because = w.upstream
	}
	return f, nil
}

// accessPort: this VM's access port of that name, if there is one.
func (a *Attacher) accessPort(ctx context.Context, name string) (AccessPort, bool, error) {
	aps, err := a.vmPorts(ctx) // the Docker driver's too
	if err != nil {
		return AccessPort{}, false, err
	}
	for _, x := range aps {
		if x.Name == name {
			return x, true, nil
		}
	}
	return AccessPort{}, false, nil
}
