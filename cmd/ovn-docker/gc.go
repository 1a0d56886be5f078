package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

func newGCCmd(a *app) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove what belongs to nothing: holders, OVS ports/VLANs, veths and Neutron child ports",
		Long: `Reconcile Docker, the VM's OVSDB and Neutron:
  - network-holding containers no container uses any more (and whose run is
    over) are removed with their ports;
  - OVS access ports whose container or namespace is gone, whose attach
    never finished, or whose Neutron port is gone are removed (veth, VLAN);
  - pool ports left half-made by a crash are finished or removed, and so
    are pool ports whose Neutron port is gone;
  - Neutron child ports of this VM's port that no access port claims are
    deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			dk, at, err := a.dockerAndAttacher(ctx)
			if err != nil {
				return err
			}
			var errs []error
			holders, err := a.gcHolders(ctx, dk, at)
			if err != nil {
				errs = append(errs, err)
			}
			rep, err := at.GC(ctx, containerAlive(dk), grace)
			if err != nil {
				errs = append(errs, err)
			}
			images := a.gcPauseImages(ctx, dk)
			if a.output == "json" {
				if perr := a.printJSON(struct {
					Holders []string `json:"removed_holders"`
					Images  []string `json:"removed_images"`
					attach.GCReport
				}{holders, images, rep}); perr != nil {
					errs = append(errs, perr)
				}
			} else {
				for _, h := range holders {
					fmt.Fprintf(a.stdout, "removed holder container %s\n", h)
				}
				for _, p := range rep.Detached {
					fmt.Fprintf(a.stdout, "removed OVS port %s (with its veth and Neutron port)\n", p)
				}
				for _, p := range rep.OrphanedPorts {
					fmt.Fprintf(a.stdout, "deleted Neutron port %s\n", p)
				}
				for _, p := range rep.PoolRemoved {
					fmt.Fprintf(a.stdout, "removed pool port %s (with its Neutron port)\n", p)
				}
				for _, p := range rep.PoolRecovered {
					fmt.Fprintf(a.stdout, "returned pool port %s to the pool\n", p)
				}
				for _, i := range images {
					fmt.Fprintf(a.stdout, "removed image %s\n", i)
				}
				for _, p := range rep.ForeignChildren {
					fmt.Fprintf(a.stdout, "left alone: child of the VM's port not made by ovn-docker: %s\n", p)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "leave Neutron child ports younger than this alone")
	return cmd
}

// gcHolders removes holders that no container references and whose run
// process is over (a run in progress has a holder but no container yet).
func (a *app) gcHolders(ctx context.Context, dk *docker.Client, at *attach.Attacher) ([]string, error) {
	holders, err := dk.List(ctx, docker.LabelRole+"="+docker.RoleHolder)
	if err != nil {
		return nil, err
	}
	users, err := dk.List(ctx, docker.LabelHolder)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, u := range users {
		used[u.Labels[docker.LabelHolder]] = true
	}
	var removed []string
	var errs []error
	for _, h := range holders {
		// Another VM's holder (an engine shared by VMs) is not ours.
		if used[h.ID] || h.Labels[docker.LabelVIF] != at.VM.VIFID {
			continue
		}
		if pid, err := strconv.Atoi(h.Labels[docker.LabelPID]); err == nil && processExists(pid) {
			continue
		}
		if _, err := at.Detach(ctx, attach.Selector{ContainerID: h.ID}); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := dk.Remove(ctx, h.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, h.Name)
	}
	return removed, errors.Join(errs...)
}

// gcPauseImages removes pause images of other builds of the plugin; an
// image a container still uses is refused by the engine and kept.
func (a *app) gcPauseImages(ctx context.Context, dk *docker.Client) []string {
	current := a.pauseImage
	if current == "" {
		var err error
		if current, err = dk.PauseImageRef("/proc/self/exe"); err != nil {
			return nil
		}
	}
	refs, err := dk.Images(ctx, docker.PauseImageRepo)
	if err != nil {
		a.log.Warn("listing pause images", "err", err)
		return nil
	}
	var removed []string
	for _, ref := range refs {
		if ref == current {
			continue
		}
		if err := dk.RemoveImage(ctx, ref); err != nil {
			a.log.Debug("keeping pause image", "image", ref, "err", err)
			continue
		}
		removed = append(removed, ref)
	}
	return removed
}

// containerAlive: a container's attachment lives while the container runs;
// one without a container while its namespace exists.
func containerAlive(dk *docker.Client) attach.Alive {
	return func(ctx context.Context, at attach.Attachment) (bool, error) {
		if at.ContainerID == "" {
			return attach.NetnsAlive(ctx, at)
		}
		ct, err := dk.Inspect(ctx, at.ContainerID)
		if errors.Is(err, docker.ErrNoSuchContainer) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return ct.Running, nil
	}
}

func processExists(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil
}
