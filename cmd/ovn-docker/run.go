package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/docker"
	"github.com/ovn-docker/ovn-docker/internal/run"
)

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run [docker run options] IMAGE [COMMAND [ARG...]]",
		Short: "docker run, with the container on --network",
		Long: `Run a container like "docker run" does, with its eth0 on --network.

The container's own process never runs without its network: first a small
network-holding container (made from this executable, "pause") is started
with no network, its namespace gets eth0 (a Neutron port nested in the VM's
port, a VLAN access port of the VM bridge), ovn-docker waits until Neutron
reports the port ACTIVE, and only then is the user's container started with
--net=container:<holder>. The OVN network is --network (or
OVN_DOCKER_NETWORK) before "run", or --net/--network after it as docker users
write it (docker's own modes host, bridge and container:X are refused;
"none" means: the one given before "run"). --hostname, --dns*, --add-host go
to the holder, whose settings the container shares. The container's
resolvers are the dns_nameservers of its subnet (as Neutron gives a VM's
port), unless --dns is given; a subnet without any keeps the engine's.

The port's security groups are --security-group (before or after "run"; name or id
of a group of your project, repeatable), else the project's default group.
A pooled port is taken only if it was made for exactly those groups
("ovn-docker pool fill --security-group ...").

The container's hostname is its --hostname, else its name; /etc/hosts maps
it to its addresses (hostname -i works). A container run without --name
gets one (ovd-<10 hex digits>), which also names its network-holding
container (NAME-net) and its Neutron port (ovn-docker-NAME-eth0).

Signals that ovn-docker receives while a foreground container runs
(SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) are forwarded to it, as
docker run's --sig-proxy does (--sig-proxy=false turns that off). The exit
status is the container's, as with docker run.

If any step fails, everything done before is undone.`,
		Example: `  ovn-docker --network=LS1 run -d busybox:local sleep 1d
  ovn-docker run --network LS1 --name web -d busybox:local httpd -f -p 80
  ovn-docker --network=LS1 --security-group web run -d busybox:local httpd -f -p 80
  ovn-docker run --rm -it --net=LS1 busybox:local sh
  OVN_DOCKER_NETWORK=LS1 ovn-docker run --rm busybox:local hostname -i`,
		// Main splits the docker run arguments off before cobra parses
		// the global flags, which come before "run".
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if wantsHelp(a.runArgs) {
				return cmd.Help()
			}
			// OVN_DOCKER_NETWORK gives way to a --network after run.
			a.networkFromEnv = !cmd.Flags().Changed("network")
			return a.run(cmd.Context(), a.runArgs)
		},
	}
}

// wantsHelp: the run line asks for help: --help among the options before
// the image (after it, it is the container command's), or a lone -h
// (otherwise docker's short --hostname).
func wantsHelp(args []string) bool {
	if len(args) == 1 && args[0] == "-h" {
		return true
	}
	if rl, err := docker.ParseRun(args); err == nil {
		return rl.Bool("help")
	}
	// No image: any --help.
	return slices.Contains(args, "--help")
}

// forwardedSignals are the signals a foreground run forwards to its
// container, as docker run's sig-proxy does.
var forwardedSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

func subscribeSignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, forwardedSignals...)
	return ch, func() { signal.Stop(ch) }
}

func (a *app) run(ctx context.Context, args []string) error {
	rl, err := docker.ParseRun(args)
	if err != nil {
		return err
	}
	if err := rl.CheckNetwork(); err != nil {
		return err
	}
	// --security-group after run too, as --network.
	rl, groups := rl.TakeOpts(docker.OptSecurityGroup)
	a.securityGroups = append(a.securityGroups, groups...)
	if n := rl.Network(); n != "" {
		if a.network != "" && a.network != n && !a.networkFromEnv {
			return fmt.Errorf("%w: --network %s before run and --network %s after it name different networks: give one (connect more with `ovn-docker --network=NET attach CONTAINER`)", docker.ErrRunLine, a.network, n)
		}
		a.network = n
	}
	if err := needNetwork(a); err != nil {
		return err
	}
	dk := a.docker()
	if err := dk.Ping(ctx); err != nil {
		return err
	}
	// A Docker network of `ovn-docker daemon`: the engine attaches the
	// container itself, no holder is needed.
	if drv, err := dk.NetworkDriver(ctx, a.network); err == nil && drv == daemonDriver {
		if len(a.securityGroups) > 0 {
			return fmt.Errorf("--security-group %s: %s is a Docker network of `ovn-docker daemon`, whose ports get the groups the network was created with "+
				"(docker network create -d ovn -o security_groups=SG1,SG2): create such a network, or give the Neutron network instead", strings.Join(a.securityGroups, ","), a.network)
		}
		return a.runOnDockerNetwork(ctx, dk, rl)
	}
	connect := func(ctx context.Context) (run.Network, string, error) {
		at, cl, err := a.attacher(ctx)
		if err != nil {
			return nil, "", err
		}
		// Fail early on a bad network, before attaching; with a pooled
		// port ready the attach asks Neutron nothing, and neither do we.
		if !at.HasPoolPort(ctx, a.network, a.securityGroups) {
			if _, err := cl.FindNetwork(ctx, a.network); err != nil {
				return nil, "", err
			}
		}
		return at, at.VM.VIFID, nil
	}
	r := run.New(run.Options{
		Line: rl, Network: a.network, SecurityGroups: a.securityGroups, VIFID: a.vifID, PauseImage: a.pauseImage,
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Log: a.log,
		Subscribe: subscribeSignals,
	}, dk, connect)
	code, err := r.Do(ctx)
	switch {
	case errors.Is(err, run.ErrDockerRun):
		return &exitError{code: code, err: err}
	case err != nil:
		return err
	case code != 0:
		return &exitError{code: code}
	}
	return nil
}

// daemonDriver is the Docker driver name of `ovn-docker daemon`.
const daemonDriver = "ovn"

// runOnDockerNetwork is `docker run --network NETWORK …` on a network of
// the daemon; the exit status is the container's.
func (a *app) runOnDockerNetwork(ctx context.Context, dk *docker.Client, rl docker.RunLine) error {
	std := docker.Stdio{In: a.stdin, Out: a.stdout, Err: a.stderr}
	if v, set := rl.Last("sig-proxy"); !rl.Bool("detach") && (!set || (v != "false" && v != "0")) {
		sigs, stop := subscribeSignals()
		defer stop()
		std.Signals = sigs
	}
	a.log.Debug("network is the daemon's: plain docker run", "network", a.network)
	code, err := dk.RunAttached(context.WithoutCancel(ctx), std, rl.WithNetwork(a.network)...)
	switch {
	case err != nil:
		return err
	case code != 0:
		return &exitError{code: code}
	}
	return nil
}
