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
			// Name each attachment after the containers that use it.
			names := map[string][]string{}
			dk := a.docker()
			if users, err := dk.List(ctx, docker.LabelHolder); err == nil {
				for _, u := range users {
					h := u.Labels[docker.LabelHolder]
					names[h] = append(names[h], u.Name)
				}
			} else {
				a.log.Warn("cannot list containers", "err", err)
			}
			return a.printAttachments(atts, names)
		},
	}
}

type psRow struct {
	attach.Attachment
	Containers []string `json:"containers,omitempty"`
}

func (a *app) printAttachments(atts []attach.Attachment, names map[string][]string) error {
	if a.output == "json" {
		rows := make([]psRow, 0, len(atts))
		for _, at := range atts {
			rows = append(rows, psRow{at, names[at.ContainerID]})
		}
		return a.printJSON(rows)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER\tNAMES\tNETWORK\tIFACE\tIP\tMAC\tVLAN\tPORT\tSTATUS")
	for _, at := range atts {
		owner := at.ContainerID
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", owner, dash(strings.Join(names[at.ContainerID], ",")), netw, at.IfName,
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
