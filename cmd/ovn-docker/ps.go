package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/proc"
)

func newPsCmd(a *app) *cobra.Command {
	var lf listFlags
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the VM's attached containers/namespaces with network, IP, VLAN, state and port status",
		Long: `List the VM's attachments: the container (its id, name and Docker state),
network, addresses, VLAN and STATUS. STATUS is Neutron's port status only
when the network works as far as the VM can tell: the owner (network-holding
container) runs, both ends of the veth exist (one in its namespace), OVS
has the VM end open with the VLAN Neutron knows the port by. Otherwise it
is NO-NETWORK, and -o wide (or -o json) says what is wrong and what to do.
Network-holding containers of this VM that have no port at all are listed
too.

The table fits 100 columns; -o wide adds the interface, MAC, OVS port,
Neutron port, network-holding container and the cause of NO-NETWORK.

Without the cloud (no or invalid credentials, Neutron unreachable), ps
still shows what the VM knows (Docker, the VM's OVS, the veths), says on
stderr what it could not check, and STATUS is UNKNOWN where the VM alone
sees nothing wrong.`,
		Example: `  ovn-docker ps
  ovn-docker ps -o wide
  ovn-docker ps -q
  ovn-docker ps --format '{{.Name}} {{.NetworkName}} {{.VLAN}} {{.Status}}'
  ovn-docker -o json ps`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			at, noCloud, err := a.attacherOrLocal(ctx)
			if err != nil {
				return err
			}
			if noCloud != nil {
				fmt.Fprintf(a.stderr, "ovn-docker: showing local state only: %v\n  (not checked: Neutron port status, addresses, network names; run again with valid credentials)\n", noCloud)
			}
			atts, err := at.List(ctx, noCloud == nil)
			if err != nil {
				return err
			}
			// Show each attachment under the containers that use it.
			users := map[string][]docker.Summary{}
			states := map[string]string{}
			dk := a.docker()
			if us, err := dk.List(ctx, docker.LabelHolder); err == nil {
				for _, u := range us {
					h := u.Labels[docker.LabelHolder]
					users[h] = append(users[h], u)
				}
			} else {
				a.log.Warn("cannot list containers", "err", err)
			}
			for i := range atts {
				if err := a.checkAttachment(ctx, dk, at, &atts[i], states, noCloud != nil); err != nil {
					return err
				}
			}
			atts = append(atts, a.holdersWithoutPort(ctx, dk, at, atts)...)
			return a.printAttachments(atts, users, states, lf)
		},
	}
	lf.add(cmd, "the containers' ids")
	return cmd
}

// noNetwork prefixes the STATUS of an attachment whose network does not
// work.
const noNetwork = "NO-NETWORK: "

// checkAttachment replaces x.Status by what is wrong, if anything.
// states gets the Docker state of the namespace's owner; local: check
// without Neutron.
func (a *app) checkAttachment(ctx context.Context, dk *docker.Client, at *attach.Attacher, x *attach.Attachment, states map[string]string, local bool) error {
	if x.State != "" && x.State != "ready" {
		return nil // an attach in progress (or crashed: gc removes it)
	}
	netns := x.NetnsPath
	if x.ContainerID != "" {
		c, err := dk.Inspect(ctx, x.ContainerID)
		if errors.Is(err, docker.ErrNoSuchContainer) {
			states[x.ContainerID] = "gone"
			x.Status = noNetwork + "its container is gone; run `ovn-docker gc`"
			return nil
		}
		if err != nil {
			return err
		}
		states[x.ContainerID] = c.Status
		if !c.Running {
			x.Status = noNetwork + "its network-holding container " + c.Name + " is " + c.Status + "; start it (`docker start " + c.Name + "`), then run `ovn-docker gc` to re-plug"
			return nil
		}
		netns = fmt.Sprintf("/proc/%d/ns/net", c.Pid)
	}
	check := at.Check
	if local {
		check = at.CheckLocal
	}
	problems, err := check(ctx, *x, netns)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		if local {
			x.Status = "UNKNOWN"
		}
		return nil
	}
	hint := "run `ovn-docker gc`"
	if replug, err := at.NeedsReplug(ctx, *x, netns); err == nil && replug && x.ContainerID != "" {
		hint = "run `ovn-docker gc` to re-plug it"
	}
	x.Status = noNetwork + strings.Join(problems, "; ") + "; " + hint
	return nil
}

// holdersWithoutPort: this VM's network-holding containers whose run is
// over and that have no attachment at all.
func (a *app) holdersWithoutPort(ctx context.Context, dk *docker.Client, at *attach.Attacher, atts []attach.Attachment) []attach.Attachment {
	hs, err := dk.List(ctx, docker.LabelRole+"="+docker.RoleHolder)
	if err != nil {
		a.log.Warn("cannot list containers", "err", err)
		return nil
	}
	has := map[string]bool{}
	for _, x := range atts {
		has[x.ContainerID] = true
	}
	var out []attach.Attachment
	for _, h := range hs {
		if has[h.ID] || h.Labels[docker.LabelVIF] != at.VM.VIFID {
			continue
		}
		if proc.Ref(h.Labels[docker.LabelPID]).Alive() {
			continue // its run is attaching it
		}
		out = append(out, attach.Attachment{ContainerID: h.ID, NetworkName: h.Labels[docker.LabelNetwork],
			Status: noNetwork + "no port; remove it (`ovn-docker rm`) and run it again"})
	}
	return out
}

type psRow struct {
	attach.Attachment
	// Containers are the user containers sharing the namespace (the
	// attachment's ContainerID is then their network-holding container).
	Containers []psContainer `json:"containers,omitempty"`
	// ID and Name are the first user container's (else the namespace
	// owner's); State is its Docker state ("gone" if it no longer exists).
	ID             string `json:"id,omitempty"`
	Name           string `json:"name,omitempty"`
	ContainerState string `json:"container_state,omitempty"`
}

type psContainer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state,omitempty"`
}

// psRows joins the attachments with the containers that use them.
func psRows(atts []attach.Attachment, users map[string][]docker.Summary, states map[string]string) []psRow {
	rows := make([]psRow, 0, len(atts))
	for _, at := range atts {
		row := psRow{Attachment: at, ID: at.ContainerID, ContainerState: states[at.ContainerID]}
		for i, u := range users[at.ContainerID] {
			row.Containers = append(row.Containers, psContainer{u.ID, u.Name, u.Status})
			if i == 0 {
				row.ID, row.Name, row.ContainerState = u.ID, u.Name, u.Status
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// shortStatus is STATUS in a table: the port's status, or NO-NETWORK
// without its cause (-o wide shows it).
func shortStatus(x psRow) string {
	st := x.Status
	if strings.HasPrefix(st, noNetwork) {
		st = strings.TrimSuffix(noNetwork, ": ")
	}
	if x.State != "" && x.State != "ready" {
		st += "(" + x.State + ")"
	}
	return st
}

func psListing(rows []psRow) listing {
	out := make([]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	row := func(r any) psRow { return r.(psRow) }
	short := func(id string) string {
		if len(id) > 12 {
			return id[:12]
		}
		return id
	}
	return listing{
		rows: out,
		id: func(r any) string {
			x := row(r)
			if x.ID == "" {
				return x.NetnsPath
			}
			return x.ID
		},
		cols: []column{
			{header: "CONTAINER ID", value: func(r any) string {
				x := row(r)
				if x.ID == "" {
					return x.NetnsPath
				}
				return short(x.ID)
			}},
			{header: "NAME", max: 16, value: func(r any) string {
				var ns []string
				for _, c := range row(r).Containers {
					ns = append(ns, c.Name)
				}
				return strings.Join(ns, ",")
			}},
			{header: "STATE", max: 10, value: func(r any) string { return row(r).ContainerState }},
			{header: "NETWORK", max: 12, value: func(r any) string {
				if n := row(r).NetworkName; n != "" {
					return n
				}
				return row(r).NetworkID
			}},
			{header: "IFACE", wide: true, value: func(r any) string { return row(r).IfName }},
			{header: "IP", max: 18, value: func(r any) string {
				var ips []string
				for _, p := range row(r).Addresses {
					ips = append(ips, p.String())
				}
				return strings.Join(ips, ",")
			}},
			{header: "VLAN", value: func(r any) string { return strconv.Itoa(row(r).VLAN) }},
			{header: "MAC", wide: true, value: func(r any) string { return row(r).MAC }},
			{header: "OVS PORT", wide: true, value: func(r any) string { return row(r).PortName }},
			{header: "PORT", wide: true, value: func(r any) string { return row(r).PortID }},
			{header: "HOLDER", wide: true, value: func(r any) string { return short(row(r).ContainerID) }},
			{header: "STATUS", max: 12, value: func(r any) string { return shortStatus(row(r)) }},
			{header: "CAUSE", wide: true, value: func(r any) string { return cause(row(r).Status) }},
		},
	}
}

// cause is what a NO-NETWORK status says is wrong, "" otherwise.
func cause(status string) string {
	c, ok := strings.CutPrefix(status, noNetwork)
	if !ok {
		return ""
	}
	return c
}

func (a *app) printAttachments(atts []attach.Attachment, users map[string][]docker.Summary, states map[string]string, lf listFlags) error {
	rows := psRows(atts, users, states)
	if err := a.printList(psListing(rows), lf); err != nil {
		return err
	}
	if a.output == outTable && !lf.quiet && lf.format == "" {
		broken := 0
		for _, r := range rows {
			if cause(r.Status) != "" {
				broken++
			}
		}
		if broken > 0 {
			fmt.Fprintf(a.stderr, "%d without network: `ovn-docker ps -o wide` says why\n", broken)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
