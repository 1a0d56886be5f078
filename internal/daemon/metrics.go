package daemon

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the daemon's Prometheus metrics: the engine's calls (an
// attach is IpamDriver.RequestAddress + NetworkDriver.CreateEndpoint +
// NetworkDriver.Join; a detach NetworkDriver.DeleteEndpoint +
// IpamDriver.ReleaseAddress), the cloud's requests and errors, the pools
// of ready ports, and the process (memory, file descriptors, Go runtime).
type Metrics struct {
	reg        *prometheus.Registry
	calls      *prometheus.HistogramVec
	cloud      *prometheus.HistogramVec
	cloudError *prometheus.CounterVec
}

// NewMetrics registers the metrics; pool, if set, is read at each scrape
// for the pool sizes.
func NewMetrics(pool Pool) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 15) // 1 ms … 16 s
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ovn_docker_daemon_call_seconds", Buckets: buckets,
			Help: "Time to answer the engine's driver calls, by call (NetworkDriver.Join, IpamDriver.RequestAddress, ...) and outcome (ok, error).",
		}, []string{"call", "outcome"}),
		cloud: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ovn_docker_cloud_request_seconds", Buckets: buckets,
			Help: "Round trip of requests to the cloud, by service (network: Neutron, identity: Keystone) and status code (unreachable: no answer).",
		}, []string{"service", "code"}),
		cloudError: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ovn_docker_cloud_errors_total",
			Help: "Requests to the cloud that failed (no answer, or a status code of 400 or more), by service and status code.",
		}, []string{"service", "code"}),
	}
	m.reg.MustRegister(m.calls, m.cloud, m.cloudError,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if pool != nil {
		m.reg.MustRegister(poolCollector{pool: pool})
	}
	return m
}

// ObserveCloud records one request to the cloud (a cloud.Observer).
func (m *Metrics) ObserveCloud(service, _ string, code string, took time.Duration) {
	m.cloud.WithLabelValues(service, code).Observe(took.Seconds())
	if n, err := strconv.Atoi(code); err != nil || n >= 400 {
		m.cloudError.WithLabelValues(service, code).Inc()
	}
}

// Calls wraps the plugin's handler: each call's duration and outcome
// (the protocol answers an error with a status other than 200).
func (m *Metrics) Calls(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		outcome := "ok"
		if rec.code != http.StatusOK {
			outcome = "error"
		}
		m.calls.WithLabelValues(strings.TrimPrefix(r.URL.Path, "/"), outcome).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// Handler serves /metrics, and /healthz (the daemon answers).
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// poolCollector reads the pools' sizes at each scrape, from where they
// live (the VM's OVSDB), so they are never stale.
type poolCollector struct{ pool Pool }

var poolDesc = prometheus.NewDesc("ovn_docker_pool_ports",
	"Pool ports of each network, by state: ready (can be taken), in_use, pending (being made or given back), and the target of ready ones.",
	[]string{"network_id", "network", "state"}, nil)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- poolDesc }

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.pool.PoolStatus(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(poolDesc, err)
		return
	}
	for _, p := range st {
		for state, n := range map[string]int{"ready": p.Ready, "in_use": p.InUse, "pending": p.Pending, "target": p.Target} {
			ch <- prometheus.MustNewConstMetric(poolDesc, prometheus.GaugeValue, float64(n), p.NetworkID, p.Network, state)
		}
	}
}
