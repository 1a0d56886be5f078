package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

func newPsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "ps",
		Short: "List the VM's attached containers/namespaces with network, IP, MAC, VLAN and port status",
		Long: `List the VM's attachments. STATUS is Neutron's port status only when the
network works as far as the VM can tell: the owner (network-holding
container) runs, both ends of the veth exist (one in its namespace), OVS
has the VM end open with the VLAN Neutron knows the port by. Otherwise it
is "NO-NETWORK: <what is wrong>; <what to do>". Network-holding containers
of this VM that have no port at all are listed too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			at, _, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			atts, err := at.List(ctx, true)
			if err != nil {
				return err
			}
			// Show each attachment under the containers that use it.
			users := map[string][]docker.Summary{}
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
				if err := a.checkAttachment(ctx, dk, at, &atts[i]); err != nil {
					return err
				}
			}
			atts = append(atts, a.holdersWithoutPort(ctx, dk, at, atts)...)
			return a.printAttachments(atts, users)
		},
	}
}

// noNetwork prefixes the STATUS of an attachment whose network does not
// work.
const noNetwork = "NO-NETWORK: "

// checkAttachment replaces x.Status by what is wrong, if anything.
func (a *app) checkAttachment(ctx context.Context, dk *docker.Client, at *attach.Attacher, x *attach.Attachment) error {
	if x.State != "" && x.State != "ready" {
		return nil // an attach in progress (or crashed: gc removes it)
	}
	netns := x.NetnsPath
	if x.ContainerID != "" {
		c, err := dk.Inspect(ctx, x.ContainerID)
		if errors.Is(err, docker.ErrNoSuchContainer) {
			x.Status = noNetwork + "its container is gone; run `ovn-docker gc`"
			return nil
		}
		if err != nil {
			return err
		}
		if !c.Running {
			x.Status = noNetwork + "its network-holding container " + c.Name + " is " + c.Status + "; start it (`docker start " + c.Name + "`), then run `ovn-docker gc` to re-plug"
			return nil
		}
		netns = fmt.Sprintf("/proc/%d/ns/net", c.Pid)
	}
	problems, err := at.Check(ctx, *x, netns)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
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
		if pid, err := strconv.Atoi(h.Labels[docker.LabelPID]); err == nil && processExists(pid) {
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
}

type psContainer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *app) printAttachments(atts []attach.Attachment, users map[string][]docker.Summary) error {
	if a.output == "json" {
		rows := make([]psRow, 0, len(atts))
		for _, at := range atts {
			row := psRow{Attachment: at}
			for _, u := range users[at.ContainerID] {
				row.Containers = append(row.Containers, psContainer{u.ID, u.Name})
			}
			rows = append(rows, row)
		}
		return a.printJSON(rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tNAMES\tNETWORK\tIFACE\tIP\tMAC\tVLAN\tPORT\tSTATUS")
	for _, at := range atts {
		owner := at.ContainerID
		var names []string
		for i, u := range users[at.ContainerID] {
			if i == 0 {
				owner = u.ID
			}
			names = append(names, u.Name)
		}
		if len(owner) > 12 {
			owner = owner[:12]
		}
		if owner == "" {
			owner = at.NetnsPath
		}
		var ips []string
		for _, p := range at.Addresses {
			ips = append(ips, p.String())
		}
		netw := at.NetworkName
		if netw == "" {
			netw = at.NetworkID
		}
		status := at.Status
		if at.State != "" && at.State != "ready" {
			status += "(" + at.State + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", owner, dash(strings.Join(names, ",")), netw, at.IfName,
			dash(strings.Join(ips, ",")), dash(at.MAC), at.VLAN, dash(at.PortID), dash(status))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
