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

Configuration (a systemd unit and an example environment file are in
contrib/systemd/ of the source):
  credentials  never on the command line: the OS_* password variables
               (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,
               OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME), or a clouds.yaml
               entry with --os-cloud/OS_CLOUD (password or application
               credential), or a bare token (OVN_DOCKER_CRED, --cred-file),
               which cannot be renewed. A token the daemon obtained is
               renewed before it expires; a refused one is replaced at once.
  the VM       --vif-id/OS_VIF_ID (default: found by the NIC's MAC), --ovsdb,
               --bridge, as for every command.
  the pools    the pool of ready ports of a network it serves (ovn-docker
               pool fill --network N --size S) is refilled to S whenever it
               falls to S/2, checked every --pool-refill; other networks'
               pools are left to the command line.
  operations   logs are JSON on stderr, one line per engine call with its
               request id and duration. --metrics-listen serves Prometheus
               /metrics and /healthz (call latencies, cloud requests and
               errors, pool sizes, process memory). SIGTERM stops accepting
               calls and waits --drain for those in flight; at start, what a
               previous daemon left half made is freed, and every endpoint
               the engine still has keeps its port: a restart of the daemon
               or of dockerd loses no running container's network.
State lives in the VM's OVSDB, Neutron and Docker: no file of its own.`,
		Example: `  ovn-docker daemon --metrics-listen unix:/run/ovn-docker/metrics.sock &
  docker network create -d ovn --ipam-driver ovn -o network=LS1 LS1
  docker run --rm --network LS1 busybox ip addr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			level := slog.LevelInfo
			if a.debug {
				level = slog.LevelDebug
			}
			a.log = slog.New(daemon.WithRequestIDs(slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{Level: level})))
			at, cl, err := a.attacher(ctx)
			if err != nil {
				return err
			}
			sw, ok := at.Pool.(adapters.Switch)
			if !ok {
				return errNoBridgeRecords
			}
			s.Metrics = daemon.NewMetrics(at)
			cl.Observe(s.Metrics.ObserveCloud)
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
	cmd.Flags().StringVar(&s.MetricsListen, "metrics-listen", a.envDefault("OVN_DOCKER_METRICS_LISTEN", ""), "serve /metrics and /healthz on unix:PATH or a loopback HOST:PORT (\"\": not served); not in /run/docker/plugins, where Docker looks for plugins")
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
