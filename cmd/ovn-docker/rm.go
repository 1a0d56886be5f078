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
Neutron ports, OVS ports (VLANs) and veths. A container that is already gone
is not an error.`,
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

// rm detaches first and removes the containers last, so a failure (Neutron
// unreachable) leaves the container in place and `rm` can be retried.
func (a *app) rm(ctx context.Context, dk *docker.Client, at *attach.Attacher, ref string) error {
	ct, err := dk.Inspect(ctx, ref)
	if errors.Is(err, docker.ErrNoSuchContainer) {
		// Gone already; clean up what may be left under its id.
		_, err := at.Detach(ctx, attach.Selector{ContainerID: ref})
		return err
	}
	if err != nil {
		return err
	}
	holderID := ct.Labels[docker.LabelHolder]
	if holderID != "" && ct.Labels[docker.LabelRole] != docker.RoleHolder {
		h, err := dk.Inspect(ctx, holderID)
		if err != nil && !errors.Is(err, docker.ErrNoSuchContainer) {
			return err
		}
		if v := h.Labels[docker.LabelVIF]; v != "" && v != at.VM.VIFID {
			return fmt.Errorf("its network hangs off VM port %s, not this VM's (%s): run `ovn-docker rm` in that VM", v, at.VM.VIFID)
		}
	} else if v := ct.Labels[docker.LabelVIF]; v != "" && v != at.VM.VIFID {
		return fmt.Errorf("its network hangs off VM port %s, not this VM's (%s): run `ovn-docker rm` in that VM", v, at.VM.VIFID)
	}
	victims := []string{ct.ID}
	if ct.Labels[docker.LabelRole] == docker.RoleHolder {
		// Removing a holder takes its containers' network: remove them too.
		holderID = ct.ID
		users, err := dk.List(ctx, docker.LabelHolder+"="+ct.ID)
		if err != nil {
			return err
		}
		for _, u := range users {
			victims = append(victims, u.ID)
		}
	} else if holderID != "" {
		// Keep a holder another container still shares.
		users, err := dk.List(ctx, docker.LabelHolder+"="+holderID)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.ID != ct.ID {
				holderID = ""
				break
			}
		}
	}
	for _, id := range append(victims, holderID) {
		if id == "" {
			continue
		}
		if _, err := at.Detach(ctx, attach.Selector{ContainerID: id}); err != nil {
			return err
		}
	}
	if holderID != "" && holderID != ct.ID {
		victims = append(victims, holderID)
	}
	return dk.Remove(ctx, victims...)
}
