package main

import (
	"context"
	"errors"

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
--net=container:<holder>. --net/--network must be none or absent; --hostname,
--dns*, --add-host go to the holder, whose settings the container shares.
If any step fails, everything done before is undone.`,
		// Main splits the docker run arguments off before cobra parses
		// the global flags, which come before "run".
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd.Context(), a.runArgs)
		},
	}
}

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) == 1 && (args[0] == "--help" || args[0] == "-h") {
		return errors.New(`usage: ovn-docker --network=NET [--vif-id=ID] run [docker run options] IMAGE [COMMAND [ARG...]]`)
	}
	rl, err := docker.ParseRun(args)
	if err != nil {
		return err
	}
	if err := rl.CheckNetwork(); err != nil {
		return err
	}
	if err := needNetwork(a); err != nil {
		return err
	}
	dk := a.docker()
	if err := dk.Ping(ctx); err != nil {
		return err
	}
	connect := func(ctx context.Context) (run.Network, string, error) {
		at, cl, err := a.attacher(ctx)
		if err != nil {
			return nil, "", err
		}
		// Fail early on a bad network, before attaching; with a pooled
		// port ready the attach asks Neutron nothing, and neither do we.
		if !at.HasPoolPort(ctx, a.network) {
			if _, err := cl.FindNetwork(ctx, a.network); err != nil {
				return nil, "", err
			}
		}
		return at, at.VM.VIFID, nil
	}
	r := run.New(run.Options{
		Line: rl, Network: a.network, VIFID: a.vifID, PauseImage: a.pauseImage,
		Stdin: a.stdin, Stdout: a.stdout, Stderr: a.stderr, Log: a.log,
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
