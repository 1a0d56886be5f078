package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func newCreateCmd(a *app) *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "create", Short: "Create a resource (network)",
		Example: "  ovn-docker create network LS1\n  ovn-docker create network LS2 --subnet 10.20.0.0/24 --ipv6-subnet fd00:20::/64"})
	var subnet, subnet6 string
	var allowOverlap bool
	nc := &cobra.Command{
		Use:   "network NAME",
		Short: "Create a network with an IPv4 (and optionally IPv6) subnet",
		Long: `Create a Neutron network with one IPv4 subnet and, with --ipv6-subnet, one IPv6
subnet. Without --subnet the first 10.x.y.0/24 (from 10.1.0.0/24 on) that
overlaps none of the networks your project can see is used, so a default
network never collides with another one of yours. A --subnet that overlaps a
subnet your project can see is refused (naming it), since containers on the
two networks could not reach each other's same addresses through a router;
--allow-overlap creates it anyway. Names must be non-empty and unique among
your networks, since commands take names.`,
		Example: `  ovn-docker create network LS1
  ovn-docker create network LS2 --subnet 10.2.0.0/24 --ipv6-subnet fd00:2::/64
  ovn-docker -o json create network LS3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			if strings.TrimSpace(name) == "" {
				return fmt.Errorf("%w: network name %q is empty: give a name (commands take it)", errUsage, name)
			}
			var o cloud.CreateNetworkOpts
			o.Name = name
			if subnet != "" {
				p, err := netip.ParsePrefix(subnet)
				if err != nil || !p.Addr().Is4() {
					return fmt.Errorf("--subnet %q is not an IPv4 CIDR like 10.1.0.0/24", subnet)
				}
				o.IPv4CIDR = p.Masked()
			}
			if subnet6 != "" {
				p, err := netip.ParsePrefix(subnet6)
				if err != nil || !p.Addr().Is6() {
					return fmt.Errorf("--ipv6-subnet %q is not an IPv6 CIDR like fd00:1::/64", subnet6)
				}
				o.IPv6CIDR = p.Masked()
			}
			cl, err := a.cloud(ctx)
			if err != nil {
				return err
			}
			all, err := cl.ListNetworks(ctx)
			if err != nil {
				return err
			}
			var used []netip.Prefix
			for _, n := range all {
				if n.Name == name {
					return fmt.Errorf("a network named %q already exists (id %s): choose another name, or delete it first", name, n.ID)
				}
				for _, s := range n.Subnets {
					used = append(used, s.CIDR)
				}
			}
			if !allowOverlap {
				if err := checkOverlap(all, o.IPv4CIDR, o.IPv6CIDR); err != nil {
					return err
				}
			}
			if !o.IPv4CIDR.IsValid() {
				if o.IPv4CIDR, err = cloud.FreeV4Subnet(used); err != nil {
					return fmt.Errorf("%w: pass --subnet", err)
				}
			}
			n, err := cl.CreateNetwork(ctx, o)
			if err != nil {
				return err
			}
			return a.printNetworks([]cloud.Network{n})
		},
	}
	nc.Flags().StringVar(&subnet, "subnet", "", "IPv4 subnet CIDR (default: a free 10.x.y.0/24)")
	nc.Flags().StringVar(&subnet6, "ipv6-subnet", "", "IPv6 subnet CIDR (default: none)")
	nc.Flags().BoolVar(&allowOverlap, "allow-overlap", false, "create the network even if --subnet/--ipv6-subnet overlaps a subnet your project can see")
	c.AddCommand(nc)
	return c
}

// checkOverlap refuses new subnets that overlap one of the networks'.
func checkOverlap(all []cloud.Network, v4, v6 netip.Prefix) error {
	for _, p := range []netip.Prefix{v4, v6} {
		if !p.IsValid() {
			continue
		}
		for _, n := range all {
			for _, s := range n.Subnets {
				if s.CIDR.Overlaps(p) {
					return fmt.Errorf("%w: subnet %s overlaps %s of network %s (%s): choose another subnet, or pass --allow-overlap", errUsage, p, s.CIDR, n.Name, n.ID)
				}
			}
		}
	}
	return nil
}

func newListCmd(a *app) *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "list", Short: "List resources (networks)",
		Example: "  ovn-docker list networks\n  ovn-docker list networks -o json"})
	var lf listFlags
	lc := &cobra.Command{
		Use:     "networks",
		Aliases: []string{"network"},
		Short:   "List the networks your project can see",
		Example: `  ovn-docker list networks
  ovn-docker list networks -q
  ovn-docker list networks --format '{{.Name}} {{.ID}}'
  ovn-docker -o yaml list networks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.cloud(cmd.Context())
			if err != nil {
				return err
			}
			ns, err := cl.ListNetworks(cmd.Context())
			if err != nil {
				return err
			}
			return a.printList(networkListing(ns), lf)
		},
	}
	lf.add(lc, "the networks' ids")
	c.AddCommand(lc)
	return c
}

func newDeleteCmd(a *app) *cobra.Command {
	c := groupCmd(&cobra.Command{Use: "delete", Short: "Delete resources (networks)",
		Example: "  ovn-docker delete network LS1"})
	c.AddCommand(&cobra.Command{
		Use:   "network NAME|ID...",
		Short: "Delete networks (they must have no ports left)",
		Long: `Delete networks, by name, id or unique id prefix. This VM's pool ports on
them are drained first. Prints each deleted network (-o json/yaml: a list
of {name, id}).`,
		Example: `  ovn-docker delete network LS1 LS2
  ovn-docker -o json delete network 3f2a`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeNetworks,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := a.cloud(ctx)
			if err != nil {
				return err
			}
			var errs []error
			deleted := []deletedNetwork{}
			defer func() {
				if a.structured() {
					if err := a.printDoc(deleted); err != nil {
						a.log.Warn("printing", "err", err)
					}
				}
			}()
			for _, arg := range args {
				n, err := cl.FindNetwork(ctx, arg)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				err = cl.DeleteNetwork(ctx, n.ID)
				if errors.Is(err, cloud.ErrConflict) && a.drainLocalPool(ctx, cl, n.ID) > 0 {
					// This VM's pool held ports on it: try again without.
					err = cl.DeleteNetwork(ctx, n.ID)
				}
				if err != nil {
					if errors.Is(err, cloud.ErrConflict) {
						err = fmt.Errorf("%w (remove its containers first: `ovn-docker ps`; pool ports of other VMs: `ovn-docker pool drain` there)", err)
					}
					errs = append(errs, err)
					continue
				}
				deleted = append(deleted, deletedNetwork{Name: n.Name, ID: n.ID})
				if !a.structured() {
					fmt.Fprintln(a.stdout, arg)
				}
			}
			return errors.Join(errs...)
		},
	})
	return c
}

// drainLocalPool drains this VM's pool of a network about to be deleted,
// if this runs in a VM with the plugin's OVS (else there is nothing to
// drain here). It returns how many pool ports it deleted.
func (a *app) drainLocalPool(ctx context.Context, cl *cloud.Client, networkID string) int {
	at, err := a.attacherWith(ctx, cl)
	if err != nil {
		a.log.Debug("no local pool to drain", "err", err)
		return 0
	}
	n, err := at.DrainPool(ctx, networkID)
	if err != nil {
		a.log.Warn("draining the pool", "network", networkID, "err", err)
	}
	return n
}

// deletedNetwork is one line of `delete network -o json`.
type deletedNetwork struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

func networkListing(ns []cloud.Network) listing {
	rows := make([]any, 0, len(ns))
	for _, n := range ns {
		rows = append(rows, n)
	}
	nw := func(r any) cloud.Network { return r.(cloud.Network) }
	return listing{
		rows: rows,
		id:   func(r any) string { return nw(r).ID },
		cols: []column{
			{header: "NAME", value: func(r any) string { return nw(r).Name }},
			{header: "ID", value: func(r any) string { return nw(r).ID }},
			{header: "SUBNETS", value: func(r any) string {
				var subs []string
				for _, s := range nw(r).Subnets {
					subs = append(subs, s.CIDR.String())
				}
				return strings.Join(subs, ",")
			}},
			{header: "MTU", value: func(r any) string { return strconv.Itoa(nw(r).MTU) }},
			{header: "STATUS", value: func(r any) string { return nw(r).Status }},
		},
	}
}

func (a *app) printNetworks(ns []cloud.Network) error {
	return a.printList(networkListing(ns), listFlags{})
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
