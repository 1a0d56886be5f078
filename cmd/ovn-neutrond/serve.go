package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/ovn-docker/ovn-docker/internal/connlimit"
	"github.com/ovn-docker/ovn-docker/internal/keystone"
	"github.com/ovn-docker/ovn-docker/internal/neutron"
	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

type serveFlags struct {
	nb             string
	listen         string
	identity       string
	signingKey     string
	publicURL      string
	macBase        string
	dnsDomain      string
	defaultMTU     int
	flatNetworks   string
	vlanNetworks   string
	vniRange       string
	gatewayChassis string
	tokenTTL       time.Duration
	connectTimeout time.Duration
	logLevel       string
	requestTimeout time.Duration
	// HTTP hardening against slow and idle clients.
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	maxConns          int
	maxConnsPerHost   int
	// Operations.
	metricsListen   string
	tlsCert, tlsKey string
}

func newServe() *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Neutron (/v2.0) and Keystone (/v3) APIs",
		Long: `Serve the Neutron v2.0 API (/v2.0) and Keystone v3 tokens (/v3) on --listen,
keeping all state in OVN's northbound DB.

/healthz answers 200 while the process serves; /readyz answers 200 only
while NB is reachable (503 otherwise), on both --listen and
--metrics-listen. Prometheus metrics (per-route request counts and latency
histograms, NB transactions, IPAM, Go runtime) are at /metrics on
--metrics-listen only (default loopback), never on the tenant-facing
address. Every answer carries X-Openstack-Request-Id, which the access log
line of the request (JSON on stderr) names with the user and project.`,
		Example: `  ovn-neutrond serve --nb=unix:/var/run/ovn/ovnnb_db.sock --listen=0.0.0.0:9696 \
      --identity=/etc/ovn-neutrond/identity.yaml --signing-key=/etc/ovn-neutrond/signing.key
  ovn-neutrond serve --nb=tcp:10.0.0.1:6641,tcp:10.0.0.2:6641,tcp:10.0.0.3:6641 \
      --listen=0.0.0.0:9696 --tls-cert=/etc/ovn-neutrond/tls.crt --tls-key=/etc/ovn-neutrond/tls.key \
      --metrics-listen=127.0.0.1:9697 --identity=identity.yaml --signing-key=signing.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return serve(ctx, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.nb, "nb", os.Getenv("OVN_NB_DB"), "OVN Northbound DB: unix:/path, tcp:IP:PORT, or a comma-separated list of cluster members (env OVN_NB_DB)")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:9696", "address to serve HTTP on")
	fl.StringVar(&f.identity, "identity", "", "identity YAML file (domains, projects, users)")
	fl.StringVar(&f.signingKey, "signing-key", "", "file holding the token signing key (see gen-key)")
	fl.StringVar(&f.publicURL, "public-url", "", "base URL clients use to reach this server (default: from each request)")
	fl.StringVar(&f.macBase, "mac-base", "fa:16:3e", "first three octets of generated MAC addresses")
	fl.StringVar(&f.dnsDomain, "dns-domain", ovn.DefaultDNSDomain, "Neutron's dns_domain: ports' FQDNs are in it; with the default, ports' dns_name is ignored, as in Neutron")
	fl.IntVar(&f.defaultMTU, "default-mtu", 1442, "MTU of new networks (1500 minus Geneve overhead)")
	fl.StringVar(&f.flatNetworks, "flat-networks", "*", "physical networks flat provider networks may use, comma-separated (* any, as Neutron's flat_networks)")
	fl.StringVar(&f.vlanNetworks, "vlan-networks", "*", "physical networks VLAN provider networks may use, comma-separated (* any); provider:segmentation_id is required")
	fl.StringVar(&f.vniRange, "vni-range", "1:65536", "MIN:MAX geneve VNIs given to networks created without provider:segmentation_id (Neutron's vni_ranges)")
	fl.StringVar(&f.gatewayChassis, "gateway-chassis", "", "chassis names (comma-separated, highest priority first) that host routers' gateway ports (Gateway_Chassis); none: gateways are not scheduled and SNAT and floating IPs do not work")
	fl.DurationVar(&f.tokenTTL, "token-ttl", keystone.DefaultTokenTTL, "lifetime of issued tokens")
	fl.DurationVar(&f.connectTimeout, "connect-timeout", 10*time.Second, "how long to wait for NB at start")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.DurationVar(&f.requestTimeout, "request-timeout", 30*time.Second, "bound on one API request (503 past it, e.g. while NB is unreachable)")
	fl.DurationVar(&f.readHeaderTimeout, "read-header-timeout", 10*time.Second, "close a connection whose request headers take longer than this (slow clients)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", 60*time.Second, "close a keep-alive connection idle for longer than this")
	fl.IntVar(&f.maxConns, "max-connections", 8192, "connections open at once, in total (0: no limit); more are closed at once")
	fl.IntVar(&f.maxConnsPerHost, "max-connections-per-host", 512, "connections open at once from one client IP (0: no limit); more are closed at once")
	fl.StringVar(&f.metricsListen, "metrics-listen", "127.0.0.1:9697", "address to serve /metrics, /healthz and /readyz on (\"\": no metrics); keep it off the tenant-facing address")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate (chain) to serve --listen with HTTPS (with --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	return cmd
}

func serve(ctx context.Context, f *serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if f.nb == "" {
		return errors.New("--nb (or OVN_NB_DB) is required, e.g. --nb=unix:/var/run/ovn/ovnnb_db.sock or --nb=tcp:10.0.0.1:6641,tcp:10.0.0.2:6641")
	}
	if f.identity == "" || f.signingKey == "" {
		return errors.New("--identity and --signing-key are required (create a key with `ovn-neutrond gen-key PATH`)")
	}
	ident, err := keystone.LoadIdentity(f.identity)
	if err != nil {
		return fmt.Errorf("--identity %s: %w", f.identity, err)
	}
	key, err := keystone.LoadSigningKey(f.signingKey)
	if err != nil {
		return fmt.Errorf("--signing-key: %w", err)
	}

	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both (HTTPS) or neither (HTTP)")
	}
	if f.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey); err != nil {
			return fmt.Errorf("--tls-cert %s / --tls-key %s: %w", f.tlsCert, f.tlsKey, err)
		}
	}

	var endpoints []string
	for _, ep := range strings.Split(f.nb, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			endpoints = append(endpoints, ep)
		}
	}
	log.Info("connecting to NB", "endpoints", endpoints)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var vniMin, vniMax int
	if _, err := fmt.Sscanf(f.vniRange, "%d:%d", &vniMin, &vniMax); err != nil {
		return fmt.Errorf("--vni-range %q: want MIN:MAX, e.g. 1:65536", f.vniRange)
	}
	store, err := ovn.Open(ctx, ovn.Config{Endpoints: endpoints, Logger: log.With("component", "ovn"),
		MACBase: f.macBase, DefaultMTU: f.defaultMTU, ConnectTimeout: f.connectTimeout, Metrics: reg,
		FlatNetworks: physnetList(f.flatNetworks), VLANNetworks: physnetList(f.vlanNetworks), VNIMin: vniMin, VNIMax: vniMax,
		GatewayChassis: physnetList(f.gatewayChassis), DNSDomain: f.dnsDomain})
	if err != nil {
		return err
	}
	defer store.Close()

	// Revocations live in NB, so that every replica refuses a revoked token.
	ks, err := keystone.New(keystone.Config{Identity: ident, SigningKey: key, TokenTTL: f.tokenTTL,
		PublicURL: f.publicURL, Logger: log.With("component", "keystone"), Revocations: store})
	if err != nil {
		return err
	}

	api := neutron.Handler(neutron.Config{
		Store:          store,
		Logger:         log.With("component", "neutron"),
		RequestTimeout: f.requestTimeout,
		DNSDomain:      f.dnsDomain,
		CallerFrom: func(r *http.Request) (neutron.Caller, error) {
			p, ok := keystone.PrincipalFrom(r.Context())
			if !ok {
				return neutron.Caller{}, neutron.ErrUnauthenticated
			}
			return neutron.Caller{ProjectID: p.ProjectID, Admin: p.IsAdmin()}, nil
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/v3", ks.Handler())
	mux.Handle("/v3/", ks.Handler())
	mux.Handle("/v2.0", ks.Middleware(withPrincipal(api)))
	mux.Handle("/v2.0/", ks.Middleware(withPrincipal(api)))
	mux.Handle("/", api)
	health(mux, store)
	hm := newHTTPMetrics(reg)

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	srv := newHTTPServer(f, accessLog(log.With("component", "http"), hm, mux), log)
	lim := connlimit.Wrap(ln, connlimit.Config{Total: f.maxConns, PerHost: f.maxConnsPerHost, Logger: log.With("component", "http")})
	errc := make(chan error, 2)
	go func() {
		if f.tlsCert != "" {
			errc <- srv.ServeTLS(lim, f.tlsCert, f.tlsKey)
			return
		}
		errc <- srv.Serve(lim)
	}()
	log.Info("serving", "listen", ln.Addr().String(), "tls", f.tlsCert != "")
	servers := []*http.Server{srv}
	if f.metricsListen != "" {
		mln, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen %s: %w", f.metricsListen, err)
		}
		ops := http.NewServeMux()
		// Metrics carry no tenant data, but only operators need them: they
		// are not on the tenant-facing address.
		ops.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		health(ops, store)
		msrv := newHTTPServer(f, ops, log)
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("serving metrics", "listen", mln.Addr().String())
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	return nil
}

// readiness is what /readyz asks.
type readiness interface{ Ready() bool }

// health serves /healthz (the process answers) and /readyz (NB is
// reachable, so API requests can be answered) without a token.
func health(mux *http.ServeMux, r readiness) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !r.Ready() {
			http.Error(w, "NB not reachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}

// maxHeaderBytes bounds request headers: a token is at most 2 KiB.
const maxHeaderBytes = 64 << 10

// newHTTPServer bounds every phase of a connection, so that slow or idle
// clients cannot hold connections (and file descriptors) open: headers
// within --read-header-timeout, the whole request (bodies are at most
// 1 MiB) within twice that, the answer within the request timeout plus a
// margin for writing it, and idle keep-alive connections for at most
// --idle-timeout.
func newHTTPServer(f *serveFlags, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: f.readHeaderTimeout,
		ReadTimeout:       2 * f.readHeaderTimeout,
		WriteTimeout:      2*f.readHeaderTimeout + f.requestTimeout + 10*time.Second,
		IdleTimeout:       f.idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// physnetList reads a list of physical networks: "*" is any (nil).
func physnetList(s string) []string {
	if strings.TrimSpace(s) == "*" {
		return nil
	}
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
