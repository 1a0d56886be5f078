package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

func newRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm CONTAINER...",
		Short: "Remove containers and everything ovn-docker made for them",
		Long: `Remove containers (running or not) with their network-holding container,
Neutron ports, OVS ports (VLANs) and veths.

The containers go first, then their network-holding container, then the
network: wherever rm is interrupted, no container is left running without
its network, and ` + "`ovn-docker gc`" + ` finishes the rest. A container that
does not exist, or that has no network from ovn-docker, is an error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dk, at, err := a.dockerAndAttacher(ctx)
			if err != nil {
				return err
			}
			var errs []error
			for _, arg := range args {
				if err := a.rm(ctx, dk, at, arg); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", arg, err))
					continue
				}
				fmt.Fprintln(a.stdout, arg)
			}
			return errors.Join(errs...)
		},
	}
}

// errNotOurs: rm was given a container that ovn-docker did not connect.
var errNotOurs = errors.New("not connected by ovn-docker")

// rm removes the user containers first, then the holder, then detaches:
// a container never runs without its network, and whatever an interrupted
// rm leaves (a holder nobody uses, an access port whose owner is gone) is
// what gc removes.
func (a *app) rm(ctx context.Context, dk *docker.Client, at *attach.Attacher, ref string) error {
	ct, err := dk.Inspect(ctx, ref)
	if errors.Is(err, docker.ErrNoSuchContainer) {
		// Gone already: clean up what may be left under its id.
		n, err := at.Detach(ctx, attach.Selector{ContainerID: ref})
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w %q, and no network of ovn-docker's is recorded for it (see `ovn-docker ps`)", docker.ErrNoSuchContainer, ref)
		}
		return nil
	}
	if err != nil {
		return err
	}
	holderID := ct.Labels[docker.LabelHolder]
	isHolder := ct.Labels[docker.LabelRole] == docker.RoleHolder
	if isHolder {
		holderID = ct.ID
	}
	vif := ct.Labels[docker.LabelVIF]
	if holderID != "" && !isHolder {
		h, err := dk.Inspect(ctx, holderID)
		if err != nil && !errors.Is(err, docker.ErrNoSuchContainer) {
			return err
		}
		vif = h.Labels[docker.LabelVIF]
	}
	if vif != "" && vif != at.VM.VIFID {
		return fmt.Errorf("its network hangs off VM port %s, not this VM's (%s): run `ovn-docker rm` in that VM", vif, at.VM.VIFID)
	}
	if holderID == "" {
		// Attached with `ovn-docker attach`, or not ours at all.
		atts, err := at.List(ctx, false)
		if err != nil {
			return err
		}
		ours := false
		for _, x := range atts {
			ours = ours || x.ContainerID == ct.ID
		}
		if !ours {
			return fmt.Errorf("container %s (%.12s) was %w: it has no network from ovn-docker; remove it with `docker rm`", ct.Name, ct.ID, errNotOurs)
		}
	}
	users := []string{}
	if !isHolder {
		users = append(users, ct.ID)
	}
	if holderID != "" {
		us, err := dk.List(ctx, docker.LabelHolder+"="+holderID)
		if err != nil {
			return err
		}
		shared := false
		for _, u := range us {
			if isHolder {
				// Removing a holder takes its containers' network:
				// remove them too.
				users = append(users, u.ID)
			} else if u.ID != ct.ID {
				shared = true
			}
		}
		if shared {
			holderID = "" // another container still shares it
		}
	}
	if err := dk.Remove(ctx, users...); err != nil {
		return err
	}
	if holderID != "" {
		if err := dk.Remove(ctx, holderID); err != nil {
			return fmt.Errorf("the container is removed, its network-holding container %.12s is not (run `ovn-docker gc`): %w", holderID, err)
		}
	}
	var errs []error
	for _, id := range append(users, holderID) {
		if id == "" {
			continue
		}
		if _, err := at.Detach(ctx, attach.Selector{ContainerID: id}); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the container is removed, its network is not (run `ovn-docker gc` once the cause is fixed): %w", err)
	}
	return nil
}
