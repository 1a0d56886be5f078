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
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [-f] CONTAINER...",
		Short: "Remove containers and everything ovn-docker made for them",
		Long: `Remove containers (running or not: -f/--force is accepted as docker users
write it, and a running container is always stopped and removed) with their
network-holding container, Neutron ports, OVS ports (VLANs) and veths.

The containers go first, then their network-holding container, then the
network: wherever rm is interrupted, no container is left running without
its network, and ` + "`ovn-docker gc`" + ` finishes the rest. A container that
does not exist ("No such container: X", exit 1), or that has no network from
ovn-docker, is an error.

Without the cloud (no or invalid credentials, Neutron unreachable) rm still
removes the containers and the veths, keeps the VM's OVS port (the record of
the Neutron port and its VLAN), and says so: a later ` + "`ovn-docker gc`" + `
with the cloud deletes the Neutron port and frees the VLAN.

Prints each container removed; -o json/yaml: a list of {container, removed,
error}.`,
		Example: `  ovn-docker rm web
  ovn-docker rm -f web db
  ovn-docker -o json rm web`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			dk := a.docker()
			if err := dk.Ping(ctx); err != nil {
				return err
			}
			at, noCloud, err := a.attacherOrLocal(ctx)
			if err != nil {
				return err
			}
			var errs []error
			results := []rmResult{}
			unknown := 0
			for _, arg := range args {
				err := a.rm(ctx, dk, at, arg)
				res := rmResult{Container: arg, Removed: err == nil || errors.Is(err, errNetworkLeft)}
				if err != nil {
					res.Error = err.Error()
				}
				results = append(results, res)
				switch {
				case errors.Is(err, docker.ErrNoSuchContainer):
					unknown++
					errs = append(errs, fmt.Errorf("No such container: %s", arg))
					continue
				case err != nil:
					errs = append(errs, fmt.Errorf("%s: %w", arg, err))
				}
				if res.Removed && !a.structured() {
					fmt.Fprintln(a.stdout, arg)
				}
			}
			if a.structured() {
				if err := a.printDoc(results); err != nil {
					errs = append(errs, err)
				}
			}
			if noCloud != nil && len(errs) > 0 {
				errs = append(errs, fmt.Errorf("Neutron could not be reached (%v): the Neutron ports and VLANs stay recorded in the VM's OVS; run `ovn-docker gc` with the cloud to finish", noCloud))
			}
			return errors.Join(errs...)
		},
	}
	// Accepted as docker's: a running container is removed anyway.
	cmd.Flags().BoolVarP(&force, "force", "f", false, "accepted for docker compatibility: running containers are always stopped and removed")
	return cmd
}

// rmResult is one line of `rm -o json`.
type rmResult struct {
	Container string `json:"container"`
	Removed   bool   `json:"removed"`
	Error     string `json:"error,omitempty"`
}

// errNetworkLeft: the container is removed, (part of) its network is not.
var errNetworkLeft = errors.New("the container is removed, its network is not")

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
			return fmt.Errorf("%w: %s", docker.ErrNoSuchContainer, ref)
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
			return fmt.Errorf("%w: its network-holding container %.12s is not removed (run `ovn-docker gc`): %w", errNetworkLeft, holderID, err)
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
		return fmt.Errorf("%w (run `ovn-docker gc` once the cause is fixed): %w", errNetworkLeft, err)
	}
	return nil
}
