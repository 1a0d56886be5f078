package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
)

func newCreateCmd(a *app) *cobra.Command {
	c := &cobra.Command{Use: "create", Short: "Create a resource (network)"}
	var subnet, subnet6 string
	nc := &cobra.Command{
		Use:   "network NAME",
		Short: "Create a network with an IPv4 (and optionally IPv6) subnet",
		Long: `Create a Neutron network with one IPv4 subnet and, with --ipv6-subnet, one IPv6
subnet. Without --subnet the first 10.x.y.0/24 (from 10.1.0.0/24 on) that
overlaps none of the networks your project can see is used, so a default
network never collides with another one of yours. Names must be unique among
your networks, since commands take names.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
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
	c.AddCommand(nc)
	return c
}

func newListCmd(a *app) *cobra.Command {
	c := &cobra.Command{Use: "list", Short: "List resources (networks)"}
	c.AddCommand(&cobra.Command{
		Use:     "networks",
		Aliases: []string{"network"},
		Short:   "List the networks your project can see",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.cloud(cmd.Context())
			if err != nil {
				return err
			}
			ns, err := cl.ListNetworks(cmd.Context())
			if err != nil {
				return err
			}
			return a.printNetworks(ns)
		},
	})
	return c
}

func newDeleteCmd(a *app) *cobra.Command {
	c := &cobra.Command{Use: "delete", Short: "Delete resources (networks)"}
	c.AddCommand(&cobra.Command{
		Use:   "network NAME|ID...",
		Short: "Delete networks (they must have no ports left)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := a.cloud(ctx)
			if err != nil {
				return err
			}
			var errs []error
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
				fmt.Fprintln(a.stdout, arg)
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

func (a *app) printNetworks(ns []cloud.Network) error {
	if a.output == "json" {
		if ns == nil {
			ns = []cloud.Network{}
		}
		return a.printJSON(ns)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSUBNETS\tMTU\tSTATUS")
	for _, n := range ns {
		var subs []string
		for _, s := range n.Subnets {
			subs = append(subs, s.CIDR.String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", n.Name, n.ID, strings.Join(subs, ","), n.MTU, n.Status)
	}
	return tw.Flush()
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
