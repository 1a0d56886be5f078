// Command ovn-docker-proxy runs on each hypervisor and lets the tenant VMs
// there manage their containers' Neutron ports without holding any
// credential: it serves a Neutron-compatible subset of the API at
// 169.254.169.254 through one OVN localport per network, tells the calling
// VM by the network and source address of the request, and acts for it
// with the proxy's own service credential on the children of the VM's own
// port only.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/cloud"
	"github.com/ovn-docker/ovn-docker/internal/manpage"
	"github.com/ovn-docker/ovn-docker/internal/version"
	"github.com/ovn-docker/ovn-docker/internal/vmproxy"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ovn-docker-proxy:", err)
		os.Exit(1)
	}
}

type options struct {
	osCloud, netnsDir, prefix string
	logFile                   string
	port                      int
	cfg                       vmproxy.Config
	debug                     bool
}

func newRoot() *cobra.Command {
	o := options{}
	root := &cobra.Command{
		Use:   "ovn-docker-proxy",
		Short: "Act for the VMs of this hypervisor on their own containers' ports, so that VMs hold no credentials",
		Long: `ovn-docker-proxy serves, inside each network namespace named PREFIX<network-id>
(made with the network's OVN localport bound in it, as the OVN metadata agent
does), a subset of Neutron's API on --port. A request is taken to come from the
VM port that has its source address on that network (OVN port security drops
anything else) and is done with the proxy's own credential, read from the OS_*
variables or a clouds.yaml entry (--os-cloud), never from arguments, and never
logged. A VM may learn its port and project (GET /ovn-docker/whoami), list the
networks its project may use, and create, list, show and delete the children of
its own port (binding:profile children or subports of its own trunk); anything
else is refused with 403. Every request is logged (VM port, project, action,
result).`,
		Example: `  # the service credential from the environment (not the command line):
  set -a; . /etc/ovn-docker-proxy/service.env; set +a
  ovn-docker-proxy --netns-prefix ovnmeta- --port 9696
  # let VMs also create networks of their own project:
  ovn-docker-proxy --netns-prefix ovnmeta- --allow-network-create`,
		Version:       version.String(),
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), o)
		},
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	f := root.Flags()
	f.StringVar(&o.osCloud, "os-cloud", "", "clouds.yaml entry of the service credential (default $OS_CLOUD; else the OS_* variables)")
	f.StringVar(&o.netnsDir, "netns-dir", "/run/netns", "where the network namespaces are")
	f.StringVar(&o.prefix, "netns-prefix", "", "name prefix of the per-network namespaces: PREFIX<network id> (required)")
	f.IntVar(&o.port, "port", 9696, "TCP port served in each namespace")
	f.BoolVar(&o.cfg.AllowNetworkCreate, "allow-network-create", false, "let VMs create and delete networks and subnets of their own project")
	f.IntVar(&o.cfg.MaxChildren, "max-children", vmproxy.DefaultMaxChildren, "most child ports one VM port may have (1-4094)")
	f.Float64Var(&o.cfg.Rate, "rate", vmproxy.DefaultRate, "requests a second one VM may make on average (0: no limit)")
	f.IntVar(&o.cfg.Burst, "burst", vmproxy.DefaultBurst, "requests one VM may make at once")
	f.DurationVar(&o.cfg.IdentityTTL, "identity-ttl", vmproxy.DefaultIdentityTTL, "how long the VM port behind an address is remembered")
	f.BoolVar(&o.debug, "debug", false, "log more")
	f.StringVar(&o.logFile, "log-file", "", "append the log (the audit trail) to this file (mode 0600) instead of stderr")
	root.AddCommand(manpage.Command())
	return root
}

func run(ctx context.Context, o options) error {
	if o.prefix == "" {
		return fmt.Errorf("--netns-prefix is required: the per-network namespaces are named PREFIX<network id>")
	}
	if o.port < 1 || o.port > 65535 {
		return fmt.Errorf("--port %d: use 1-65535", o.port)
	}
	if o.cfg.MaxChildren < 1 || o.cfg.MaxChildren > vmproxy.DefaultMaxChildren {
		return fmt.Errorf("--max-children %d: use 1-%d (the VLAN space)", o.cfg.MaxChildren, vmproxy.DefaultMaxChildren)
	}
	if o.cfg.Rate < 0 || o.cfg.Burst < 1 {
		return fmt.Errorf("--rate %g / --burst %d: the rate must be >= 0 and the burst >= 1", o.cfg.Rate, o.cfg.Burst)
	}
	level := slog.LevelInfo
	if o.debug {
		level = slog.LevelDebug
	}
	out := os.Stderr
	if o.logFile != "" {
		f, err := os.OpenFile(o.logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("--log-file: %w", err)
		}
		defer f.Close()
		out = f
	}
	log := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cl, err := connect(ctx, o.osCloud, log)
	if err != nil {
		return fmt.Errorf("the service credential: %w", err)
	}
	log.Info("started", "network_url", cl.NetworkURL(), "netns_prefix", o.prefix, "port", o.port,
		"allow_network_create", o.cfg.AllowNetworkCreate, "max_children", o.cfg.MaxChildren, "rate", o.cfg.Rate, "burst", o.cfg.Burst)
	ns := &vmproxy.Namespaces{Dir: o.netnsDir, Prefix: o.prefix, Port: o.port, Server: vmproxy.New(cl, o.cfg, log), Log: log}
	return ns.Run(ctx)
}

// connect authenticates with the service credential, trying again while
// the identity service cannot be reached or answers too slowly (a proxy may
// start before the cloud's API does); a credential refused, or missing, is
// final.
func connect(ctx context.Context, osCloud string, log *slog.Logger) (*cloud.Client, error) {
	wait := time.Second
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		cl, err := cloud.Connect(cctx, cloud.Options{Cloud: osCloud}, log)
		cancel()
		if err == nil || errors.Is(err, cloud.ErrAuth) || errors.Is(err, cloud.ErrNoCredentials) {
			return cl, err
		}
		log.Warn("authenticating with the service credential failed; trying again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
