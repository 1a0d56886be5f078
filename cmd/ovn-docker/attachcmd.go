package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach"
	"github.com/ovn-docker/ovn-docker/internal/docker"
)

// target is the namespace to attach: a container's (recorded by its id, so
// rm and gc find it) or a bare one.
type target struct {
	netns       string
	containerID string
	// user is the container named on the command line (containerID is
	// then the namespace's owner, e.g. its network-holding container).
	user docker.Summary
	// unknown: Docker has no such container.
	unknown bool
}

type targetFlags struct {
	netns  string
	pid    int
	ifname string
}

func (f *targetFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.netns, "netns", "", "network namespace path (e.g. /var/run/netns/NAME)")
	cmd.Flags().IntVar(&f.pid, "pid", 0, "process whose network namespace to use")
	cmd.Flags().StringVar(&f.ifname, "ifname", "", "interface name in the namespace (attach default: the first free ethN)")
}

func (a *app) resolveTarget(ctx context.Context, f targetFlags, args []string) (target, error) {
	n := 0
	if len(args) == 1 {
		n++
	}
	if f.netns != "" {
		n++
	}
	if f.pid != 0 {
		n++
	}
	if n != 1 || len(args) > 1 {
		return target{}, errors.New("give exactly one of CONTAINER, --netns PATH, --pid PID")
	}
	switch {
	case f.netns != "":
		return target{netns: f.netns}, nil
	case f.pid != 0:
		return target{netns: fmt.Sprintf("/proc/%d/ns/net", f.pid)}, nil
	}
	dk := a.docker()
	ct, err := dk.Inspect(ctx, args[0])
	if err != nil {
		return target{}, err
	}
	user := docker.Summary{ID: ct.ID, Name: ct.Name, Status: ct.Status}
	// A container sharing another's namespace (ours: the holder) is
	// attached through the namespace's owner.
	if owner, ok := strings.CutPrefix(ct.NetMode, "container:"); ok {
		if ct, err = dk.Inspect(ctx, owner); err != nil {
			return target{}, err
		}
	}
	if !ct.Running || ct.Pid <= 0 {
		return target{}, fmt.Errorf("container %s is not running (%s): start it first", args[0], ct.Status)
	}
	return target{netns: fmt.Sprintf("/proc/%d/ns/net", ct.Pid), containerID: ct.ID, user: user}, nil
}

func newAttachCmd(a *app) *cobra.Command {
	var f targetFlags
	cmd := &cobra.Command{
		Use:   "attach --network NET (CONTAINER | --netns PATH | --pid PID) [--ifname NAME]",
		Short: "Give a container or any network namespace an interface on a network",
		Example: `  ovn-docker --network=LS2 attach web
  ovn-docker --network=LS2 --security-group web --security-group ssh attach web
  ovn-docker --network=LS2 attach web --ifname eth1
  ovn-docker --network=LS1 attach --netns /var/run/netns/blue`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := needNetwork(a); err != nil {
				return err
			}
			t, err := a.resolveTarget(ctx, f, args)
			if err != nil {
				return err
			}
			at, _, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			ifname := f.ifname
			if ifname == "" {
				if ifname, err = nextIfName(ctx, at, t); err != nil {
					return err
				}
			}
			att, err := at.Attach(ctx, attach.Request{NetnsPath: t.netns, IfName: ifname, Network: a.network, ContainerID: t.containerID, Name: t.user.Name,
				SecurityGroups: a.securityGroups})
			if err != nil {
				return err
			}
			users := map[string][]docker.Summary{}
			states := map[string]string{}
			if t.user.ID != "" {
				users[t.containerID] = []docker.Summary{t.user}
				states[t.containerID] = t.user.Status
			}
			return a.printAttachments([]attach.Attachment{att}, users, states, listFlags{})
		},
	}
	f.add(cmd)
	return cmd
}

// nextIfName: the first ethN the namespace has no attachment for.
func nextIfName(ctx context.Context, at *attach.Attacher, t target) (string, error) {
	atts, err := at.List(ctx, false)
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, x := range atts {
		if (t.containerID != "" && x.ContainerID == t.containerID) || x.NetnsPath == t.netns {
			used[x.IfName] = true
		}
	}
	for i := 0; ; i++ {
		if n := "eth" + strconv.Itoa(i); !used[n] {
			return n, nil
		}
	}
}

func newDetachCmd(a *app) *cobra.Command {
	var f targetFlags
	cmd := &cobra.Command{
		Use:   "detach [--network NET] (CONTAINER | --netns PATH | --pid PID) [--ifname NAME]",
		Short: "Remove a namespace's interfaces (all, or those on --network / named --ifname)",
		Long: `Remove a namespace's interfaces (all, or those on --network / named
--ifname) with their Neutron ports and VLANs. Detaching what has no
interface left is not an error (detach is idempotent); a CONTAINER that
neither exists nor has an interface recorded is: "No such container".`,
		Example: `  ovn-docker detach web
  ovn-docker --network=LS2 detach web
  ovn-docker detach --netns /var/run/netns/blue --ifname eth1`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeContainers,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			t, err := a.resolveTargetForDetach(ctx, f, args)
			if err != nil {
				return err
			}
			at, cl, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			sel := attach.Selector{ContainerID: t.containerID, IfName: f.ifname}
			if t.containerID == "" {
				sel.NetnsPath = t.netns
			}
			if a.network != "" {
				nw, err := cl.FindNetwork(ctx, a.network)
				if err != nil {
					return err
				}
				sel.NetworkID = nw.ID
			}
			n, err := at.Detach(ctx, sel)
			if err != nil {
				return err
			}
			if n == 0 && t.unknown {
				return &exitError{code: 1, err: fmt.Errorf("No such container: %s", args[0])}
			}
			if a.structured() {
				return a.printDoc(struct {
					Detached int `json:"detached"`
				}{n})
			}
			fmt.Fprintf(a.stdout, "detached %d interface(s)\n", n)
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// resolveTargetForDetach also works for a stopped container.
func (a *app) resolveTargetForDetach(ctx context.Context, f targetFlags, args []string) (target, error) {
	if len(args) == 1 && f.netns == "" && f.pid == 0 {
		dk := a.docker()
		ct, err := dk.Inspect(ctx, args[0])
		if errors.Is(err, docker.ErrNoSuchContainer) {
			// Gone: what may be left under its id is detached.
			return target{containerID: args[0], unknown: true}, nil
		}
		if err != nil {
			return target{}, err
		}
		if owner, ok := strings.CutPrefix(ct.NetMode, "container:"); ok {
			return target{containerID: owner}, nil
		}
		return target{containerID: ct.ID}, nil
	}
	return a.resolveTarget(ctx, f, args)
}
