package vmproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// Config says what VMs may do beyond the fixed rules.
type Config struct {
	// AllowNetworkCreate lets a VM create (and delete) networks and
	// subnets of its own project.
	AllowNetworkCreate bool
	// MaxChildren bounds the child ports of one VM port (at most 4094, the
	// VLAN space).
	MaxChildren int
	// Rate and Burst limit the requests of one VM (Rate per second on
	// average, Burst at once); Rate 0: no limit.
	Rate  float64
	Burst int
	// MaxBody bounds a request body.
	MaxBody int64
	// IdentityTTL is how long the VM behind an address is remembered.
	IdentityTTL time.Duration
}

// Defaults of Config.
const (
	DefaultMaxChildren = 4094
	DefaultRate        = 50
	DefaultBurst       = 100
	DefaultMaxBody     = 64 << 10
	DefaultIdentityTTL = 30 * time.Second
)

// Server answers VMs.
type Server struct {
	up  Upstream
	cfg Config
	log *slog.Logger
	ids *Identifier
	lim *Limiter
}

// New makes a server that calls Neutron through up. Zero fields of cfg
// take the defaults.
func New(up Upstream, cfg Config, log *slog.Logger) *Server {
	if cfg.MaxChildren <= 0 || cfg.MaxChildren > DefaultMaxChildren {
		cfg.MaxChildren = DefaultMaxChildren
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.IdentityTTL <= 0 {
		cfg.IdentityTTL = DefaultIdentityTTL
	}
	if cfg.Burst <= 0 {
		cfg.Burst = max(1, int(cfg.Rate))
	}
	return &Server{
		up: up, cfg: cfg, log: log,
		ids: &Identifier{Up: up, TTL: cfg.IdentityTTL, Now: time.Now},
		lim: &Limiter{Rate: cfg.Rate, Burst: cfg.Burst, Now: time.Now},
	}
}

// reply is an answer to a VM and what it was, for the audit log.
type reply struct {
	status int
	body   []byte
	action string
}

// Audit log keys.
const (
	keyVMPort  = "vm_port"
	keyProject = "project"
	keyNetwork = "network"
	keySource  = "src"
	keyMethod  = "method"
	keyPath    = "path"
	keyAction  = "action"
	keyStatus  = "status"
	keyReason  = "reason"
	keyMillis  = "ms"
)

// Handler serves the VMs on networkID: every request it gets must have
// arrived on that network's localport.
func (s *Server) Handler(networkID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c, rep := s.serve(w, r, networkID)
		w.Header().Set("Content-Type", "application/json")
		if rep.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.body)
		attrs := []any{keyVMPort, c.VIFID, keyProject, c.ProjectID, keyNetwork, networkID, keySource, r.RemoteAddr,
			keyMethod, r.Method, keyPath, r.URL.Path, keyAction, rep.action, keyStatus, rep.status, keyMillis, time.Since(start).Milliseconds()}
		if rep.status >= 400 {
			attrs = append(attrs, keyReason, neutronMessage(rep.body))
		}
		s.log.Info("audit", attrs...)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, networkID string) (Caller, reply) {
	ctx := r.Context()
	src, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return Caller{}, refuse(http.StatusForbidden, "identify", "cannot tell the source address %q", r.RemoteAddr)
	}
	c, err := s.ids.Identify(ctx, networkID, src.Addr().Unmap())
	if errors.Is(err, ErrNotAVM) {
		return Caller{}, refuse(http.StatusForbidden, "identify", "the VM proxy answers VMs only, through their own port: %v", err)
	}
	if err != nil {
		return Caller{}, upstreamFailure("identify", err)
	}
	if !s.lim.Allow(c.VIFID) {
		return c, refuse(http.StatusTooManyRequests, "rate_limit", "too many requests from VM port %s: at most %g a second (bursts of %d); retry later", c.VIFID, s.cfg.Rate, s.cfg.Burst)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return c, refuse(http.StatusRequestEntityTooLarge, "read_body", "the request body is over %d bytes", s.cfg.MaxBody)
	}
	if err != nil {
		return c, refuse(http.StatusBadRequest, "read_body", "reading the request body: %v", err)
	}
	if r.URL.Path == "/"+WhoAmIPath {
		if r.Method != http.MethodGet {
			return c, refuse(http.StatusMethodNotAllowed, "whoami", "only GET is allowed on /%s", WhoAmIPath)
		}
		b, _ := json.Marshal(c)
		return c, reply{http.StatusOK, b, "whoami"}
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/v2.0/")
	if !ok {
		return c, forbidden("other", "the VM proxy serves /v2.0/ (a subset of Neutron's API) and /%s only, not %s", WhoAmIPath, r.URL.Path)
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	for _, s := range segs[1:] {
		if !safeSegment.MatchString(s) {
			return c, refuse(http.StatusNotFound, "other", "no resource %s", r.URL.Path)
		}
	}
	rq := request{caller: c, method: r.Method, segs: segs, query: r.URL.Query(), body: body}
	rep, err := s.route(ctx, rq)
	if err != nil {
		return c, upstreamFailure(rep.action, err)
	}
	return c, rep
}

// WhoAmIPath is the proxy's own resource that tells a VM its port and
// project (cloud.WhoAmIPath).
const WhoAmIPath = "ovn-docker/whoami"

// safeSegment: what ids and action names look like; anything else never
// reaches Neutron's URL.
var safeSegment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

type request struct {
	caller Caller
	method string
	segs   []string
	query  map[string][]string
	body   []byte
}

func (rq request) is(method string, segs ...string) bool {
	if rq.method != method || len(rq.segs) != len(segs) {
		return false
	}
	for i, s := range segs {
		if s != "*" && s != rq.segs[i] {
			return false
		}
	}
	return true
}

func (s *Server) route(ctx context.Context, rq request) (reply, error) {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	switch {
	case rq.is(get, "extensions"), rq.is(get, "extensions", "*"):
		return s.pass(ctx, "list_extensions", get, strings.Join(rq.segs, "/"), nil)
	case rq.is(get, "networks"):
		return s.listNetworks(ctx, rq)
	case rq.is(get, "networks", "*"):
		return s.showNetwork(ctx, rq)
	case rq.is(post, "networks"):
		return s.createNetwork(ctx, rq)
	case rq.is(del, "networks", "*"):
		return s.deleteNetwork(ctx, rq)
	case rq.is(get, "subnets"):
		return s.listSubnets(ctx, rq)
	case rq.is(get, "subnets", "*"):
		return s.showSubnet(ctx, rq)
	case rq.is(post, "subnets"):
		return s.createSubnet(ctx, rq)
	case rq.is(get, "ports"):
		return s.listPorts(ctx, rq)
	case rq.is(get, "ports", "*"):
		return s.showPort(ctx, rq)
	case rq.is(post, "ports"):
		return s.createPort(ctx, rq)
	case rq.is(del, "ports", "*"):
		return s.deletePort(ctx, rq)
	case rq.is(get, "security-groups"):
		return s.listSecurityGroups(ctx, rq)
	case rq.is(get, "trunks"):
		return s.listTrunks(ctx, rq)
	case rq.is(get, "trunks", "*"):
		return s.showTrunk(ctx, rq)
	case rq.is(post, "trunks"):
		return s.createTrunk(ctx, rq)
	case rq.is(put, "trunks", "*", "add_subports"), rq.is(put, "trunks", "*", "remove_subports"):
		return s.changeSubports(ctx, rq)
	}
	return forbidden("other", "a VM may not %s /v2.0/%s through the VM proxy: it may learn its port (/%s), list networks and its project's security groups, "+
		"and create, list, show and delete the child ports of its own port (and its own trunk's subports)", rq.method, strings.Join(rq.segs, "/"), WhoAmIPath), nil
}

// pass forwards a request as it is.
func (s *Server) pass(ctx context.Context, action, method, path string, body []byte) (reply, error) {
	st, b, err := s.up.Forward(ctx, method, path, body)
	if err != nil {
		return reply{action: action}, err
	}
	return reply{st, b, action}, nil
}

func neutronError(typ, msg string) []byte {
	b, _ := json.Marshal(map[string]any{"NeutronError": map[string]string{"type": typ, "message": msg, "detail": ""}})
	return b
}

func refuse(status int, action, format string, args ...any) reply {
	typ := map[int]string{
		http.StatusForbidden: "PolicyNotAuthorized", http.StatusNotFound: "NotFound", http.StatusBadRequest: "BadRequest",
		http.StatusTooManyRequests: "OverLimit", http.StatusRequestEntityTooLarge: "RequestEntityTooLarge", http.StatusConflict: "Conflict",
	}[status]
	if typ == "" {
		typ = http.StatusText(status)
	}
	return reply{status, neutronError(typ, fmt.Sprintf(format, args...)), action}
}

func forbidden(action, format string, args ...any) reply {
	return refuse(http.StatusForbidden, action, format, args...)
}

func upstreamFailure(action string, err error) reply {
	return refuse(http.StatusBadGateway, action, "the VM proxy could not complete the request with Neutron: %v", err)
}

// neutronMessage: NeutronError.message of a body (for the audit log).
func neutronMessage(b []byte) string {
	var e struct {
		NeutronError struct {
			Message string `json:"message"`
		} `json:"NeutronError"`
	}
	if json.Unmarshal(b, &e) == nil && e.NeutronError.Message != "" {
		return e.NeutronError.Message
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
