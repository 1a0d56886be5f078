package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

func newPoolCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "pool",
		Short: "Keep Neutron ports ready for containers (run/attach then make no Neutron call)",
		Long: `The port pool: Neutron ports created ahead of need, already children of this
VM's port with a VLAN claimed in the VM's OVS and ACTIVE in OVN, so that run
and attach take one and make no Neutron call at all. rm and detach give a
pool port back while its network's pool is below its target, else delete it.
The pool lives in Neutron and the VM's OVSDB (not in memory or a file), so it
survives restarts; gc finishes or removes pool ports a crash left half made.`,
	}
	var size int
	fill := &cobra.Command{
		Use:   "fill --network NET --size N",
		Short: "Set the network's pool target to N ready ports and create the missing ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := needNetwork(a); err != nil {
				return err
			}
			if !cmd.Flags().Changed("size") {
				return errors.New("--size is required: how many ready ports the network's pool should keep")
			}
			at, _, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			st, err := at.FillPool(ctx, a.network, size)
			if perr := a.printPool([]attach.PoolStatus{st}); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	fill.Flags().IntVar(&size, "size", 0, fmt.Sprintf("ready ports to keep (0 to %d; 0 empties the pool)", attach.MaxPoolSize))
	status := &cobra.Command{
		Use:   "status",
		Short: "Per network: ready, in use and pending pool ports, and the target",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, _, err := a.attacher(cmd.Context())
			if err != nil {
				return err
			}
			st, err := at.PoolStatus(cmd.Context())
			if err != nil {
				return err
			}
			return a.printPool(st)
		},
	}
	drain := &cobra.Command{
		Use:   "drain [--network NET]",
		Short: "Delete the ready pool ports (of one network or all) and clear the target",
		Long: `Delete the ready pool ports of --network (default: every network) with their
Neutron ports, and clear the network's target, so that pool ports in use are
deleted, not given back, when their containers are removed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, _, err := a.attacher(cmd.Context())
			if err != nil {
				return err
			}
			n, err := at.DrainPool(cmd.Context(), a.network)
			if a.output == "json" {
				if perr := a.printJSON(struct {
					Deleted int `json:"deleted"`
				}{n}); perr != nil && err == nil {
					err = perr
				}
			} else {
				fmt.Fprintf(a.stdout, "deleted %d pool port(s)\n", n)
			}
			return err
		},
	}
	c.AddCommand(fill, status, drain)
	return c
}

func (a *app) printPool(st []attach.PoolStatus) error {
	if a.output == "json" {
		if st == nil {
			st = []attach.PoolStatus{}
		}
		return a.printJSON(st)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NETWORK\tID\tREADY\tIN USE\tPENDING\tTARGET")
	for _, s := range st {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", dash(s.Network), s.NetworkID, s.Ready, s.InUse, s.Pending, s.Target)
	}
	return tw.Flush()
}
