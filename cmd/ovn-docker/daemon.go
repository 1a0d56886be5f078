package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/attach/adapters"
	"github.com/ovn-docker/ovn-docker/internal/cniapi"
	"github.com/ovn-docker/ovn-docker/internal/daemon"
)

func newDaemonCmd(a *app) *cobra.Command {
	s := &daemon.Server{}
	var cniSocket string
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Serve Docker's network and IPAM driver \"ovn\" (docker network create -d ovn --ipam-driver ovn)",
		Long: `Run inside the VM, next to its dockerd, as the Docker plugin "ovn": a network
driver and an IPAM driver on the unix socket --socket (Docker finds plugins
in /run/docker/plugins). Each container endpoint gets a Neutron port, a child
of the VM's port with a VLAN of its own, through the same attach core as
"ovn-docker run"; Neutron gives its address, MAC, gateway and MTU.

A Docker network names its Neutron network with -o network=NAME|ID (Docker
does not tell drivers the network's own name): the network of that name, or
a new one with the Docker network's --subnet (else a free 10.x.y.0/24).
docker network rm deletes a Neutron network only if this VM created it and
no port is left on it.

Credentials as for every command (never on the command line: OS_* password
variables, clouds.yaml with --os-cloud, OVN_DOCKER_CRED or --cred-file); the
token is renewed when Neutron refuses it. The pool of ready ports of a
network it serves (ovn-docker pool fill --network N --size S) is refilled
to S whenever it falls to S/2 (--pool-refill); other networks' pools are
left to the command line. Logs are JSON, one line per request
with its request id. SIGTERM stops accepting requests and waits --drain for
those in flight.`,
		Example: `  ovn-docker daemon &
  docker network create -d ovn --ipam-driver ovn -o network=LS1 LS1
  docker run --rm --network LS1 busybox ip addr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			level := slog.LevelInfo
			if a.debug {
				level = slog.LevelDebug
			}
			a.log = slog.New(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			at, cl, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			sw, ok := at.Pool.(adapters.Switch)
			if !ok {
				return errNoBridgeRecords
			}
			s.Driver = &daemon.Driver{Attach: at, Cloud: cl, Bridge: sw, BridgeName: at.VM.Bridge, Log: a.log}
			s.Log = a.log
			s.Pool = at
			s.Served = s.Driver.Served
			dk := a.docker()
			s.Endpoints = func(ctx context.Context) (map[string]bool, error) { return dk.NetworkEndpoints(ctx, "ovn") }
			return runWithCNI(ctx, s, cniSocket, &daemon.CNI{
				Attach: at, Switch: at.Switch, Cloud: at.Cloud, Netns: daemon.NetnsInterfaces{}, VIF: at.VM.VIFID, Log: a.log,
			})
		},
	}
	cmd.Flags().StringVar(&s.Socket, "socket", a.envDefault("OVN_DOCKER_PLUGIN_SOCKET", daemon.DefaultSocket), "the plugin's unix socket (Docker looks in /run/docker/plugins)")
	cmd.Flags().DurationVar(&s.Drain, "drain", 60*time.Second, "how long SIGTERM waits for requests in flight")
	cmd.Flags().DurationVar(&s.Refill, "pool-refill", 5*time.Second, "how often the pools (ovn-docker pool fill) are checked; one at half its target or below is filled up again (0: never)")
	cmd.Flags().StringVar(&cniSocket, "cni-socket", a.envDefault("OVN_DOCKER_CNI_SOCKET", cniapi.DefaultSocket), "the unix socket the CNI plugin ovn-cni calls (\"\": no CNI)")
	return cmd
}

// runWithCNI runs the Docker plugin server and, on cniSocket, the CNI
// endpoint; either failing stops both.
func runWithCNI(ctx context.Context, s *daemon.Server, cniSocket string, c *daemon.CNI) error {
	if cniSocket == "" {
		return s.Run(ctx)
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	cniDone := make(chan error, 1)
	go func() { cniDone <- daemon.ServeCNI(ctx, cniSocket, c, s.Drain, s.Log); stop() }()
	err := s.Run(ctx)
	stop()
	return errors.Join(err, <-cniDone)
}

// errNoBridgeRecords: the attacher's OVS has no bridge records (never
// with the real OVS).
var errNoBridgeRecords = errors.New("the VM's OVS does not keep bridge records")
