package labeler

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rktsched/rktsched/version"
)

// Metrics are the controller's counters. Each Metrics value has its own collectors, so tests
// and several controllers in one process never share counts.
type Metrics struct {
	nodeWrites   prometheus.Counter
	syncErrors   prometheus.Counter
	syncDuration prometheus.Histogram
}

// NewMetrics returns the controller's metrics, registered with reg unless reg is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		nodeWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rktsched_labeler_node_writes_total",
			Help: "Label patches sent to the API server. Stays flat while the cluster is steady.",
		}),
		syncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rktsched_labeler_sync_errors_total",
			Help: "Node syncs that failed and were requeued with backoff.",
		}),
		syncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rktsched_labeler_sync_duration_seconds",
			Help: "Time to sync one node, including its label patch if one was needed.",
			// From a lister read (~100µs) to a slow API server write (tens of seconds).
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.nodeWrites, m.syncErrors, m.syncDuration)
	}
	return m
}

// RegisterBuildInfo adds rktsched_build_info{version, goversion} = 1 to reg (version.BuildInfo,
// the same metric as the extender's).
func RegisterBuildInfo(reg prometheus.Registerer) {
	reg.MustRegister(version.BuildInfo(version.Version))
}
