package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/proc"
)

func newGCCmd(a *app) *cobra.Command {
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "gc",
		Short: "Remove what belongs to nothing: holders, OVS ports/VLANs, veths and Neutron child ports",
		Long: `Reconcile Docker, the VM's OVSDB and Neutron:
  - containers created by a run that was interrupted before it started
    them are removed;
  - network-holding containers no container uses any more (and whose run is
    over) are removed with their ports;
  - a running network-holding container whose veth is gone (restarted, e.g.
    with dockerd, in a new namespace) gets its network back: the same
    Neutron port, VLAN, MAC and addresses, plugged into its new namespace;
    one whose veth's VM end is down (ovs-vswitchd can set it down) gets it
    set up;
  - OVS access ports whose container or namespace is gone, whose attach
    never finished, or whose Neutron port is gone are removed (veth, VLAN);
  - pool ports left half-made by a crash are finished or removed, and so
    are pool ports whose Neutron port is gone;
  - Neutron child ports of this VM's port that no access port claims are
    deleted.

Without the cloud (no or invalid credentials, Neutron unreachable) gc does
the local part (containers and holders, veths) and says what it left for a
later gc with the cloud.`,
		Example: `  ovn-docker gc
  ovn-docker gc --grace=0s
  ovn-docker -o json gc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			if noCloud != nil {
				defer fmt.Fprintf(a.stderr, "ovn-docker: Neutron could not be reached (%v): only local clean-up was done; the Neutron ports (and their VLANs, kept as their record) are left for a later `ovn-docker gc` with the cloud\n", noCloud)
			}
			holders, err := a.gcHolders(ctx, dk, at, grace)
			if err != nil {
				errs = append(errs, err)
			}
			rep, err := at.GC(ctx, containerAlive(dk), grace)
			if err != nil {
				errs = append(errs, err)
			}
			images := a.gcPauseImages(ctx, dk)
			if a.structured() {
				if perr := a.printDoc(struct {
					holderReport
					Images []string `json:"removed_images"`
					attach.GCReport
				}{holders, images, rep}); perr != nil {
					errs = append(errs, perr)
				}
			} else {
				for _, c := range holders.Containers {
					fmt.Fprintf(a.stdout, "removed container %s (its run was interrupted before it started)\n", c)
				}
				for _, h := range holders.Holders {
					fmt.Fprintf(a.stdout, "removed holder container %s\n", h)
				}
				for _, h := range holders.Replugged {
					fmt.Fprintf(a.stdout, "re-plugged the network of holder %s\n", h)
				}
				for _, h := range holders.Raised {
					fmt.Fprintf(a.stdout, "set up the VM end of the veth of holder %s (it was down: no packet left)\n", h)
				}
				for _, c := range holders.Restarted {
					fmt.Fprintf(a.stdout, "started container %s again (restart policy always; the engine started it before its holder)\n", c)
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
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "leave Neutron child ports, holders and never-started containers younger than this alone")
	return cmd
}

// holderReport is what gcHolders did.
type holderReport struct {
	Holders    []string `json:"removed_holders"`
	Containers []string `json:"removed_never_started,omitempty"`
	Replugged  []string `json:"replugged,omitempty"`
	Raised     []string `json:"veth_set_up,omitempty"`
	Restarted  []string `json:"restarted,omitempty"`
}

// gcHolders reconciles the network-holding containers of this VM:
//   - a user container that was created but never started, by a run that
//     is over (killed inside docker run), is removed;
//   - a holder no container uses any more, whose run is over, is removed
//     with its network;
//   - a running holder whose veth is gone (it was restarted, e.g. with the
//     engine, in a new namespace) gets its network back (re-plugged with
//     the same port, VLAN and addresses), and its user containers with the
//     restart policy "always" that are not running are started: the engine
//     restarting after a crash starts them only if their holder happens to
//     be up first, and never tries again.
//
// A run is in progress while the process recorded on its holder lives;
// anything younger than grace is left alone too.
func (a *app) gcHolders(ctx context.Context, dk *docker.Client, at *attach.Attacher, grace time.Duration) (holderReport, error) {
	var rep holderReport
	holders, err := dk.List(ctx, docker.LabelRole+"="+docker.RoleHolder)
	if err != nil {
		return rep, err
	}
	users, err := dk.List(ctx, docker.LabelHolder)
	if err != nil {
		return rep, err
	}
	now := time.Now()
	runOver := func(h docker.Summary) bool {
		if proc.Ref(h.Labels[docker.LabelPID]).Alive() {
			return false
		}
		return now.Sub(h.Created) >= grace
	}
	byID := map[string]docker.Summary{}
	for _, h := range holders {
		byID[h.ID] = h
	}
	var errs []error
	used := map[string]bool{}
	for _, u := range users {
		hid := u.Labels[docker.LabelHolder]
		h, ok := byID[hid]
		if u.Status == "created" && (!ok || runOver(h)) && now.Sub(u.Created) >= grace {
			if ok && h.Labels[docker.LabelVIF] != at.VM.VIFID {
				used[hid] = true
				continue // another VM's run
			}
			a.log.Info("gc: removing a container its run never started", "container", u.ID, "name", u.Name)
			if err := dk.Remove(ctx, u.ID); err != nil {
				errs = append(errs, err)
				used[hid] = true
				continue
			}
			rep.Containers = append(rep.Containers, u.Name)
			continue
		}
		used[hid] = true
	}
	atts, err := at.List(ctx, false)
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	for _, h := range holders {
		// Another VM's holder (an engine shared by VMs) is not ours.
		if h.Labels[docker.LabelVIF] != at.VM.VIFID {
			continue
		}
		if used[h.ID] {
			if h.Status == "running" {
				rp, raised, err := a.replugHolder(ctx, dk, at, h, atts)
				rep.Replugged = append(rep.Replugged, rp...)
				rep.Raised = append(rep.Raised, raised...)
				if err != nil {
					errs = append(errs, err)
				}
				if len(rp) > 0 {
					started, err := startAlwaysUsers(ctx, dk, h, users)
					rep.Restarted = append(rep.Restarted, started...)
					if err != nil {
						errs = append(errs, err)
					}
				}
			}
			continue
		}
		if !runOver(h) {
			continue
		}
		if err := dk.Remove(ctx, h.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := at.Detach(ctx, attach.Selector{ContainerID: h.ID}); err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Holders = append(rep.Holders, h.Name)
	}
	return rep, errors.Join(errs...)
}

// startAlwaysUsers starts the stopped user containers of holder h whose
// restart policy is "always", as the engine would have at its start had
// the holder been up.
func startAlwaysUsers(ctx context.Context, dk *docker.Client, h docker.Summary, users []docker.Summary) ([]string, error) {
	var started []string
	var errs []error
	for _, u := range users {
		if u.Labels[docker.LabelHolder] != h.ID || u.Status == "running" {
			continue
		}
		c, err := dk.Inspect(ctx, u.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Running || c.RestartPolicy != "always" {
			continue
		}
		if err := dk.Start(ctx, u.ID); err != nil {
			errs = append(errs, fmt.Errorf("starting %s again: %w", u.Name, err))
			continue
		}
		started = append(started, u.Name)
	}
	return started, errors.Join(errs...)
}

// replugHolder re-plugs the attachments of a running holder that lost
// their veth, and sets up the VM end of those whose veth is down.
func (a *app) replugHolder(ctx context.Context, dk *docker.Client, at *attach.Attacher, h docker.Summary, atts []attach.Attachment) (replugged, raised []string, _ error) {
	var errs []error
	for _, x := range atts {
		if x.ContainerID != h.ID {
			continue
		}
		c, err := dk.Inspect(ctx, h.ID)
		if err != nil || !c.Running || c.Pid <= 0 {
			return replugged, raised, err
		}
		netns := fmt.Sprintf("/proc/%d/ns/net", c.Pid)
		need, err := at.NeedsReplug(ctx, x, netns)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !need {
			was, err := at.RaiseVMEnd(ctx, x)
			if err != nil {
				errs = append(errs, fmt.Errorf("setting up the veth %s of %s: %w", x.PortName, h.Name, err))
			} else if was {
				raised = append(raised, h.Name+" ("+x.PortName+")")
			}
			continue
		}
		a.log.Info("gc: re-plugging", "holder", h.Name, "ovs_port", x.PortName)
		if _, err := at.Replug(ctx, x.PortName, netns); err != nil {
			errs = append(errs, fmt.Errorf("re-plugging %s of %s: %w", x.PortName, h.Name, err))
			continue
		}
		replugged = append(replugged, h.Name+" ("+x.PortName+")")
	}
	return replugged, raised, errors.Join(errs...)
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
// a holder's also while it is stopped but a container still uses it (they
// may be started again, e.g. by the engine's restart policy: the port
// stays theirs and gc re-plugs it); one without a container while its
// namespace exists.
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
		if ct.Running || ct.Labels[docker.LabelRole] != docker.RoleHolder {
			return ct.Running, nil
		}
		users, err := dk.List(ctx, docker.LabelHolder+"="+ct.ID)
		return len(users) > 0, err
	}
}
