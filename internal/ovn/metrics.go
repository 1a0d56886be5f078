package ovn

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of the store; registered on Config.Metrics when set.
type metrics struct {
	allocate  prometheus.Histogram
	transact  *prometheus.HistogramVec
	settle    prometheus.Histogram
	conflicts prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	buckets := prometheus.ExponentialBuckets(0.00001, 2, 20) // 10µs … 5s
	m := &metrics{
		allocate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ovn_neutrond_ipam_allocate_seconds", Buckets: buckets,
			Help: "Time to pick the addresses and MAC of a new port (in memory, before the NB transaction).",
		}),
		transact: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ovn_neutrond_nb_transaction_seconds", Buckets: buckets,
			Help: "Round trip of NB transactions, by outcome (ok, conflict, error).",
		}, []string{"outcome"}),
		settle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ovn_neutrond_nb_settle_seconds", Buckets: buckets,
			Help: "Time from a committed transaction until the monitor reports it back.",
		}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ovn_neutrond_guard_conflicts_total",
			Help: "Transactions refused because another writer changed a guarded row first (then retried).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.allocate, m.transact, m.settle, m.conflicts)
	}
	return m
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
