package main

import (
	"fmt"
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
		Args:  cobra.NoArgs,
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
			return a.printAttachments(atts, users)
		},
	}
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
