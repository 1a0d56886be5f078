package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
)

func newPoolCmd(a *app) *cobra.Command {
	c := groupCmd(&cobra.Command{
		Use:   "pool",
		Short: "Keep Neutron ports ready for containers (run/attach then make no Neutron call)",
		Long: `The port pool: Neutron ports created ahead of need, already children of this
VM's port with a VLAN claimed in the VM's OVS and ACTIVE in OVN, so that run
and attach take one and make no Neutron call at all. rm and detach give a
pool port back while its network's pool is below its target, else delete it.
The pool lives in Neutron and the VM's OVSDB (not in memory or a file), so it
survives restarts; gc finishes or removes pool ports a crash left half made.`,
		Example: `  ovn-docker --network=LS1 pool fill --size 8
  ovn-docker pool status
  ovn-docker pool drain --network LS1`,
	})
	var size int
	fill := &cobra.Command{
		Use:     "fill --network NET [--security-group SG]... --size N",
		Example: "  ovn-docker pool fill --network LS1 --size 8\n  ovn-docker pool fill --network LS1 --security-group web --size 4",
		Short:   "Set the network's pool target to N ready ports and create the missing ones",
		Long: `Set the target of the network's pool to N ready ports and create the missing
ones. Pools are kept per security group set, as run and attach ask for it:
ports made with --security-group (repeatable) are taken only by a run or
attach with exactly those groups, and ports made without it only by a run or
attach without it (the project's default group).`,
		Args: cobra.NoArgs,
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
			st, err := at.FillPool(ctx, a.network, a.securityGroups, size)
			if perr := a.printPool([]attach.PoolStatus{st}); perr != nil && err == nil {
				err = perr
			}
			return err
		},
	}
	fill.Flags().IntVar(&size, "size", 0, fmt.Sprintf("ready ports to keep (0 to %d; 0 empties the pool)", attach.MaxPoolSize))
	var lf listFlags
	status := &cobra.Command{
		Use:   "status",
		Short: "Per network: ready, in use and pending pool ports, and the target",
		Example: `  ovn-docker pool status
  ovn-docker pool status --format '{{.Network}}: {{.Ready}}/{{.Target}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, _, err := a.attacher(cmd.Context())
			if err != nil {
				return err
			}
			st, err := at.PoolStatus(cmd.Context())
			if err != nil {
				return err
			}
			return a.printList(poolListing(st), lf)
		},
	}
	lf.add(status, "the networks' ids")
	drain := &cobra.Command{
		Use:     "drain [--network NET]",
		Example: "  ovn-docker pool drain --network LS1\n  ovn-docker pool drain",
		Short:   "Delete the ready pool ports (of one network or all) and clear the target",
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
			if a.structured() {
				if perr := a.printDoc(struct {
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

func poolListing(st []attach.PoolStatus) listing {
	rows := make([]any, 0, len(st))
	for _, s := range st {
		rows = append(rows, s)
	}
	ps := func(r any) attach.PoolStatus { return r.(attach.PoolStatus) }
	num := func(f func(attach.PoolStatus) int) func(any) string {
		return func(r any) string { return strconv.Itoa(f(ps(r))) }
	}
	return listing{
		rows: rows,
		id:   func(r any) string { return ps(r).NetworkID },
		cols: []column{
			{header: "NETWORK", value: func(r any) string { return ps(r).Network }},
			{header: "ID", value: func(r any) string { return ps(r).NetworkID }},
			{header: "SECURITY GROUPS", value: func(r any) string {
				if g := ps(r).SecurityGroups; len(g) > 0 {
					return strings.Join(g, ",")
				}
				return "default"
			}},
			{header: "READY", value: num(func(s attach.PoolStatus) int { return s.Ready })},
			{header: "IN USE", value: num(func(s attach.PoolStatus) int { return s.InUse })},
			{header: "PENDING", value: num(func(s attach.PoolStatus) int { return s.Pending })},
			{header: "TARGET", value: num(func(s attach.PoolStatus) int { return s.Target })},
		},
	}
}

func (a *app) printPool(st []attach.PoolStatus) error {
	return a.printList(poolListing(st), listFlags{})
}
