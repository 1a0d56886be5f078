package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/vswitch"
)

// report is what the audit found.
type report struct {
	Leaks      []string // things nothing owns
	Duplicates []string // VLAN per VM, IP, MAC
	NoNetwork  []string // running containers without a working eth0
	Counts     map[string]int
}

func (r report) ok() bool { return len(r.Leaks)+len(r.Duplicates)+len(r.NoNetwork) == 0 }

func (r report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "audit after gc: %d leaks, %d duplicates, %d containers without network; state: %v\n",
		len(r.Leaks), len(r.Duplicates), len(r.NoNetwork), r.Counts)
	for _, s := range []struct {
		name string
		l    []string
	}{{"LEAK", r.Leaks}, {"DUPLICATE", r.Duplicates}, {"NO-NETWORK", r.NoNetwork}} {
		for _, x := range s.l {
			fmt.Fprintf(&b, "  %s %s\n", s.name, x)
		}
	}
	return b.String()
}

type holder struct {
	id, name, status, vif string
	pid                   int
}

// holders: every network-holding container of VM v's engine, by id.
func (c *campaign) holders(v vm) map[string]holder {
	out, err := c.docker(v, "ps", "-aq", "--no-trunc", "--filter", "label=ovn-docker.role=holder")
	hs := map[string]holder{}
	if err != nil {
		return hs
	}
	for _, id := range strings.Fields(out) {
		s, err := c.docker(v, "inspect", "-f", `{{.Name}} {{.State.Status}} {{.State.Pid}} {{index .Config.Labels "ovn-docker.vif"}}`, id)
		f := strings.Fields(s)
		if err != nil || len(f) < 4 {
			continue
		}
		pid := 0
		fmt.Sscan(f[2], &pid)
		hs[id] = holder{id: id, name: strings.TrimPrefix(f[0], "/"), status: f[1], pid: pid, vif: f[3]}
	}
	return hs
}

// accessPort is an OVS port of a VM bridge with ovn-docker's keys.
type accessPort struct {
	name string
	tag  int
	ids  map[string]string
}

func (c *campaign) accessPorts(v vm) ([]accessPort, error) {
	out, err := exec.Command("ovs-vsctl", "--db="+v.OVSDB, "-f", "json", "--columns=name,tag,external_ids", "list", "Port").Output()
	if err != nil {
		return nil, fmt.Errorf("ovs-vsctl list Port in %s: %w", v.Name, err)
	}
	var t struct{ Data [][]json.RawMessage }
	if err := json.Unmarshal(out, &t); err != nil {
		return nil, err
	}
	var aps []accessPort
	for _, row := range t.Data {
		var ap accessPort
		_ = json.Unmarshal(row[0], &ap.name)
		_ = json.Unmarshal(row[1], &ap.tag) // ["set",[]] leaves 0
		var m []any
		_ = json.Unmarshal(row[2], &m)
		ap.ids = map[string]string{}
		if len(m) == 2 {
			pairs, _ := m[1].([]any)
			for _, p := range pairs {
				kv, _ := p.([]any)
				if len(kv) == 2 {
					k, _ := kv[0].(string)
					val, _ := kv[1].(string)
					ap.ids[k] = val
				}
			}
		}
		if _, ok := ap.ids["ovn-docker:state"]; ok {
			aps = append(aps, ap)
		}
	}
	return aps, nil
}

// links: the names of the links in a network namespace (by netns name, or
// by path with nsenter).
func links(nsName, nsPath string) ([]string, error) {
	var cmd *exec.Cmd
	if nsName != "" {
		cmd = exec.Command("ip", "netns", "exec", nsName, "ip", "-o", "link", "show")
	} else {
		cmd = exec.Command("nsenter", "--net="+nsPath, "ip", "-o", "link", "show")
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		if len(f) > 1 {
			names = append(names, strings.TrimSuffix(strings.Split(f[1], "@")[0], ":"))
		}
	}
	return names, nil
}

func has(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// audit checks every layer against the others.
func (c *campaign) audit() report {
	rep := report{Counts: map[string]int{}}
	// Each VM's engine: its holders, and its user containers, each with a
	// holder in the same engine that exists, was started, and if it runs
	// its namespace has eth0.
	holders := map[string]map[string]holder{} // VM -> holder id -> holder
	for _, v := range c.f.VMs {
		holders[v.Name] = c.holders(v)
		rep.Counts["holders"] += len(holders[v.Name])
		c.auditContainers(v, holders[v.Name], &rep)
	}

	// OVS, veths, per VM; VLANs unique per VM.
	claimed := map[string]string{} // Neutron port id -> VM/OVS port
	for _, v := range c.f.VMs {
		c.auditVM(v, holders[v.Name], claimed, &rep)
	}
	c.auditCloud(claimed, &rep)
	return rep
}

// auditContainers: VM v's user containers against its holders.
func (c *campaign) auditContainers(v vm, holders map[string]holder, rep *report) {
	leak := func(f string, a ...any) { rep.Leaks = append(rep.Leaks, fmt.Sprintf(v.Name+": "+f, a...)) }
	nonet := func(f string, a ...any) { rep.NoNetwork = append(rep.NoNetwork, fmt.Sprintf(v.Name+": "+f, a...)) }
	out, _ := c.docker(v, "ps", "-aq", "--no-trunc", "--filter", "label=ovn-docker.holder")
	users := map[string][]string{} // holder -> users
	for _, id := range strings.Fields(out) {
		s, err := c.docker(v, "inspect", "-f", `{{.Name}} {{.State.Status}} {{.State.Pid}} {{index .Config.Labels "ovn-docker.holder"}}`, id)
		f := strings.Fields(s)
		if err != nil || len(f) < 4 {
			continue
		}
		rep.Counts["containers"]++
		name, status, hid := strings.TrimPrefix(f[0], "/"), f[1], f[3]
		users[hid] = append(users[hid], id)
		if status == "created" {
			leak("docker: container %s was never started (its run was interrupted) and gc kept it", name)
			continue
		}
		if _, ok := holders[hid]; !ok {
			if status == "running" {
				nonet("container %s runs, its network-holding container %.12s is gone", name, hid)
			}
			continue
		}
		if status != "running" {
			continue
		}
		pid := 0
		fmt.Sscan(f[2], &pid)
		l, err := links("", fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil || !has(l, "eth0") {
			nonet("container %s runs with links %v: no eth0 (err %v)", name, l, err)
		}
	}
	for id, h := range holders {
		if len(users[id]) == 0 {
			leak("docker: holder %s (%s) is used by no container", h.name, h.status)
		}
	}
}

// auditVM: VM v's OVS access ports and veths against its holders; VLANs
// unique in the VM; the Neutron ports the access ports claim go into
// claimed.
func (c *campaign) auditVM(v vm, holders map[string]holder, claimed map[string]string, rep *report) {
	leak := func(f string, a ...any) { rep.Leaks = append(rep.Leaks, fmt.Sprintf(f, a...)) }
	dup := func(f string, a ...any) { rep.Duplicates = append(rep.Duplicates, fmt.Sprintf(f, a...)) }
	nonet := func(f string, a ...any) { rep.NoNetwork = append(rep.NoNetwork, fmt.Sprintf(f, a...)) }
	aps, err := c.accessPorts(v)
	if err != nil {
		leak("audit: %v", err)
		return
	}
	vl, err := links(v.Netns, "")
	if err != nil {
		leak("audit: links of %s: %v", v.Name, err)
	}
	tags := map[int]string{}
	for _, ap := range aps {
		rep.Counts["ovs ports"]++
		if other, ok := tags[ap.tag]; ok {
			dup("%s: VLAN %d on OVS ports %s and %s", v.Name, ap.tag, other, ap.name)
		}
		tags[ap.tag] = ap.name
		if p := ap.ids["ovn-docker:port"]; p != "" {
			if other, ok := claimed[p]; ok {
				dup("Neutron port %s claimed by %s and %s/%s", p, other, v.Name, ap.name)
			}
			claimed[p] = v.Name + "/" + ap.name
		}
		state := ap.ids["ovn-docker:state"]
		switch state {
		case "pool":
			rep.Counts["pool ports"]++
			if parked := ap.ids["ovn-docker:parked"]; parked != "" && !has(vl, parked) {
				nonet("%s: ready pool port %s lost its parked veth end %s", v.Name, ap.name, parked)
			}
			continue
		case "ready":
		default:
			leak("%s: OVS port %s left in state %s", v.Name, ap.name, state)
			continue
		}
		owner := ap.ids["ovn-docker:container"]
		h, ok := holders[owner]
		switch {
		case owner == "":
			continue // a namespace attached by path: not the campaign's
		case !ok:
			// attach CONTAINER: the owner is the user container.
			if _, err := c.docker(v, "inspect", owner); err != nil {
				leak("%s: OVS port %s belongs to container %.12s, which is gone", v.Name, ap.name, owner)
			}
			continue
		case h.status == "running" && !has(vl, ap.name):
			nonet("%s: holder %s runs, the VM end %s of its veth is gone", v.Name, h.name, ap.name)
		}
	}
	for _, l := range vl {
		if _, err := vswitch.VLANFromPortName(l); err == nil { // an access port's VM end
			if _, ok := findPort(aps, l); !ok {
				leak("%s: veth %s has no OVS access port", v.Name, l)
			}
		}
		// A pool entry's parked end (or an engine's end not yet moved):
		// its access port must exist.
		if vmEnd, ok := strings.CutPrefix(l, "ovc"); ok {
			if _, ok := findPort(aps, vswitch.AccessPortPrefix+vmEnd); !ok {
				leak("%s: parked veth end %s has no OVS access port", v.Name, l)
			}
		}
	}
}

// auditCloud: every container port in Neutron is claimed by an access
// port; IPs and MACs unique; NB child ports match Neutron's.
func (c *campaign) auditCloud(claimed map[string]string, rep *report) {
	leak := func(f string, a ...any) { rep.Leaks = append(rep.Leaks, fmt.Sprintf(f, a...)) }
	dup := func(f string, a ...any) { rep.Duplicates = append(rep.Duplicates, fmt.Sprintf(f, a...)) }
	// Neutron: every container port is claimed by an access port; IPs and
	// MACs unique.
	// Trunk mode's subports have Neutron's device_owner (trunk:subport)
	// and are the plugin's by their description.
	all, err := c.cloud.ListPorts(context.Background(), cloud.PortFilter{})
	if err != nil {
		leak("audit: Neutron: %v", err)
	}
	var ps []cloud.Port
	for _, p := range all {
		if cloud.IsContainerOwner(p.DeviceOwner) || slices.ContainsFunc(c.f.VMs, func(v vm) bool {
			return attach.IsChildDescription(p.Description, v.VIFID)
		}) {
			ps = append(ps, p)
		}
	}
	ips, macs := map[string]string{}, map[string]string{}
	for _, p := range ps {
		rep.Counts["neutron ports"]++
		if _, ok := claimed[p.ID]; !ok {
			leak("neutron: port %s (parent %s, tag %d) claimed by no OVS port", p.ID, p.ParentName, p.Tag)
		}
		if other, ok := macs[p.MAC.String()]; ok {
			dup("MAC %s on ports %s and %s", p.MAC, other, p.ID)
		}
		macs[p.MAC.String()] = p.ID
		for _, ip := range p.FixedIPs {
			k := p.NetworkID + "/" + ip.IP.String()
			if other, ok := ips[k]; ok {
				dup("IP %s on ports %s and %s", ip.IP, other, p.ID)
			}
			ips[k] = p.ID
		}
	}
	// NB: child ports of the VMs, one per (parent, tag), each a Neutron
	// port.
	exists := map[string]bool{}
	for _, p := range ps {
		exists[p.ID] = true
	}
	for _, v := range c.f.VMs {
		out, err := exec.Command("ovn-nbctl", "--db="+c.f.NBDB, "-f", "csv", "--no-headings", "--columns=name,tag",
			"find", "Logical_Switch_Port", "parent_name="+v.VIFID).Output()
		if err != nil {
			leak("audit: ovn-nbctl: %v", err)
			continue
		}
		tags := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			name, tag, ok := strings.Cut(l, ",")
			name = strings.Trim(name, `"`)
			if !ok {
				continue
			}
			rep.Counts["lsps"]++
			if other, ok := tags[tag]; ok {
				dup("NB: tag %s under %s on %s and %s", tag, v.Name, other, name)
			}
			tags[tag] = name
			if !exists[name] {
				leak("NB: Logical_Switch_Port %s (child of %s) has no Neutron port", name, v.Name)
			}
		}
	}
}

func findPort(aps []accessPort, name string) (accessPort, bool) {
	for _, ap := range aps {
		if ap.name == name {
			return ap, true
		}
	}
	return accessPort{}, false
}
