package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ovn-docker/ovn-docker/internal/keystone"
)

// requestIDHeader is the header Neutron and Keystone answer every request
// with, so that an operator can find a client's request in the log.
const requestIDHeader = "X-Openstack-Request-Id"

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// who is filled in by withPrincipal deep in the handler chain (after the
// token was validated) and read by the access log at the end.
type who struct{ user, project string }

type whoKey struct{}

// withPrincipal records the request's principal for the access log.
func withPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := keystone.PrincipalFrom(r.Context()); ok {
			if wh, ok := r.Context().Value(whoKey{}).(*who); ok {
				wh.user, wh.project = p.UserID, p.ProjectID
			}
		}
		next.ServeHTTP(w, r)
	})
}

// httpMetrics are the per-route request figures.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovn_neutrond_http_requests_total",
			Help: "API requests answered, by method, route (ids replaced by {id}) and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ovn_neutrond_http_request_duration_seconds",
			Help:    "Time to answer an API request, by method and route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5ms … 16s
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// routeWords are the path segments kept in a route label; any other
// segment (an id, a tag, a name) becomes {id}, so that the label's values
// stay few whatever clients send.
var routeWords = map[string]bool{
	"v2.0": true, "v3": true, "networks": true, "subnets": true, "ports": true, "subnetpools": true,
	"address-scopes": true, "trunks": true, "tags": true, "extensions": true, "add_subports": true,
	"remove_subports": true, "get_subports": true, "auth": true, "tokens": true, "projects": true,
	"users": true, "domains": true, "healthz": true, "readyz": true, "metrics": true,
}

// route is the request path with its variable segments replaced.
func route(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		s = strings.TrimSuffix(s, ".json")
		if !routeWords[s] && s != "" {
			s = "{id}"
		}
		segs[i] = s
	}
	return "/" + strings.Join(segs, "/")
}

// accessLog gives every request a request id (answered in
// X-Openstack-Request-Id, as Neutron does), counts and times it by route,
// and logs it: request id, method, path, status, duration, remote, and
// the user and project its token speaks for. Query strings and headers
// are left out so that no token (X-Auth-Token) or password can reach the
// log.
func accessLog(log *slog.Logger, m *httpMetrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := "req-" + uuid.NewString()
		w.Header().Set(requestIDHeader, id)
		wh := &who{}
		r = r.WithContext(context.WithValue(r.Context(), whoKey{}, wh))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		took := time.Since(start)
		rt := route(r.URL.Path)
		if m != nil {
			m.requests.WithLabelValues(r.Method, rt, strconv.Itoa(sw.status)).Inc()
			m.latency.WithLabelValues(r.Method, rt).Observe(took.Seconds())
		}
		log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", float64(took.Microseconds())/1000, "remote", r.RemoteAddr,
			"user", wh.user, "project", wh.project)
	})
}
