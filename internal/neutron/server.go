package neutron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/ovn-docker/ovn-docker/internal/ovn"
)

// Caller is who makes a request.
type Caller struct {
	ProjectID string
	Admin     bool
}

// ErrUnauthenticated is what CallerFrom returns when a request carries
// no valid identity.
var ErrUnauthenticated = errors.New("unauthenticated")

// Store is the storage the API needs (implemented by *ovn.Store).
type Store interface {
	ListNetworks(ctx context.Context, sc ovn.Scope) []*ovn.Network
	GetNetwork(ctx context.Context, sc ovn.Scope, id string) (*ovn.Network, error)
	CreateNetwork(ctx context.Context, spec ovn.NetworkSpec) (*ovn.Network, error)
	UpdateNetwork(ctx context.Context, sc ovn.Scope, id string, spec ovn.NetworkSpec) (*ovn.Network, error)
	DeleteNetwork(ctx context.Context, sc ovn.Scope, id string) error

	ListSubnets(ctx context.Context, sc ovn.Scope) []*ovn.Subnet
	GetSubnet(ctx context.Context, sc ovn.Scope, id string) (*ovn.Subnet, error)
	CreateSubnet(ctx context.Context, sc ovn.Scope, spec ovn.SubnetSpec) (*ovn.Subnet, error)
	UpdateSubnet(ctx context.Context, sc ovn.Scope, id string, upd ovn.SubnetUpdate) (*ovn.Subnet, error)
	DeleteSubnet(ctx context.Context, sc ovn.Scope, id string) error

	ListPorts(ctx context.Context, sc ovn.Scope, networkID string) []*ovn.Port
	GetPort(ctx context.Context, sc ovn.Scope, id string) (*ovn.Port, error)
	CreatePort(ctx context.Context, sc ovn.Scope, spec ovn.PortSpec) (*ovn.Port, error)
	UpdatePort(ctx context.Context, sc ovn.Scope, id string, spec ovn.PortSpec) (*ovn.Port, error)
	DeletePort(ctx context.Context, sc ovn.Scope, id string) error

	trunkStore
}

// Config configures the API handler.
type Config struct {
	Store Store
	// CallerFrom identifies the caller of a request (e.g. from a token
	// validated by middleware in front of this handler).
	CallerFrom func(*http.Request) (Caller, error)
	Logger     *slog.Logger
	// RequestTimeout bounds each request's work, e.g. while NB is
	// unreachable (default 30s); past it the client gets 503.
	RequestTimeout time.Duration
	// DNSDomain is Neutron's dns_domain (default "openstacklocal."): ports'
	// dns_assignment FQDNs are in it.
	DNSDomain string
}

type server struct {
	timeout    time.Duration
	store      Store
	tags       TagStore           // nil: the store keeps no tags
	pools      PoolStore          // nil: no subnet pools
	groups     SecurityGroupStore // nil: no security groups
	routers    RouterStore        // nil: no routers
	fips       FloatingIPStore    // nil: no floating IPs
	callerFrom func(*http.Request) (Caller, error)
	dnsDomain  string
	log        *slog.Logger
}

// maxBody bounds request bodies; Neutron requests are small.
const maxBody = 1 << 20

// Handler returns the Neutron API: "/" (version discovery) and
// "/v2.0/...".
func Handler(cfg Config) http.Handler {
	s := &server{store: cfg.Store, callerFrom: cfg.CallerFrom, log: cfg.Logger, timeout: cfg.RequestTimeout}
	s.dnsDomain = ovn.NormalizeDNSDomain(cfg.DNSDomain)
	if s.dnsDomain == "" {
		s.dnsDomain = ovn.DefaultDNSDomain
	}
	if s.timeout <= 0 {
		s.timeout = 30 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.tags, _ = cfg.Store.(TagStore)
	s.pools, _ = cfg.Store.(PoolStore)
	s.groups, _ = cfg.Store.(SecurityGroupStore)
	s.routers, _ = cfg.Store.(RouterStore)
	s.fips, _ = cfg.Store.(FloatingIPStore)
	mux := http.NewServeMux()
	s.tagRoutes(mux)
	s.poolRoutes(mux)
	mux.HandleFunc("GET /{$}", s.versions)
	mux.HandleFunc("GET /v2.0", s.authed(s.resources))
	mux.HandleFunc("GET /v2.0/{$}", s.authed(s.resources))
	mux.HandleFunc("GET /v2.0/extensions", s.authed(s.extensions))
	mux.HandleFunc("GET /v2.0/extensions/{alias}", s.authed(s.extension))

	mux.HandleFunc("GET /v2.0/networks", s.authed(s.listNetworks))
	mux.HandleFunc("POST /v2.0/networks", s.authed(s.createNetwork))
	mux.HandleFunc("GET /v2.0/networks/{id}", s.authed(s.showNetwork))
	mux.HandleFunc("PUT /v2.0/networks/{id}", s.authed(s.updateNetwork))
	mux.HandleFunc("DELETE /v2.0/networks/{id}", s.authed(s.deleteNetwork))

	mux.HandleFunc("GET /v2.0/subnets", s.authed(s.listSubnets))
	mux.HandleFunc("POST /v2.0/subnets", s.authed(s.createSubnet))
	mux.HandleFunc("GET /v2.0/subnets/{id}", s.authed(s.showSubnet))
	mux.HandleFunc("PUT /v2.0/subnets/{id}", s.authed(s.updateSubnet))
	mux.HandleFunc("DELETE /v2.0/subnets/{id}", s.authed(s.deleteSubnet))

	mux.HandleFunc("GET /v2.0/ports", s.authed(s.listPorts))
	mux.HandleFunc("POST /v2.0/ports", s.authed(s.createPort))
	mux.HandleFunc("GET /v2.0/ports/{id}", s.authed(s.showPort))
	mux.HandleFunc("PUT /v2.0/ports/{id}", s.authed(s.updatePort))
	mux.HandleFunc("DELETE /v2.0/ports/{id}", s.authed(s.deletePort))

	s.routeTrunks(mux)
	s.sgRoutes(mux)
	s.routerRoutes(mux)
	s.fipRoutes(mux)

	// Anything else under /v2.0 is a resource this server does not have.
	mux.HandleFunc("/v2.0/", s.authed(func(w http.ResponseWriter, r *http.Request, _ Caller) {
		writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found: "+r.URL.Path)
	}))
	return mux
}

type handlerFunc func(http.ResponseWriter, *http.Request, Caller)

// authed resolves the caller or answers 401.
func (s *server) authed(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := s.callerFrom(r)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
			return
		}
		if msg := checkContentType(r); msg != "" {
			writeError(w, http.StatusUnsupportedMediaType, "InvalidContentType", msg)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		ctx, err = ifMatch(ctx, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(ctx), c)
	}
}

func scope(c Caller) ovn.Scope { return ovn.Scope{ProjectID: c.ProjectID, Admin: c.Admin} }

// checkContentType refuses a request body that does not say it is JSON,
// as Neutron does (415), with the message to send; "" accepts. A body
// without Content-Type is taken as JSON.
func checkContentType(r *http.Request) string {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return ""
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		return ""
	}
	return fmt.Sprintf("Invalid content type %s: request bodies must be JSON (Content-Type: application/json).", clip(ct))
}
