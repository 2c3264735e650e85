package extender

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/version"
)

// Verbs are the extender calls kube-scheduler makes, as metric and log labels.
var verbs = []string{"filter", "prioritize", "preempt"}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	refused  *prometheus.CounterVec
	unknown  *prometheus.CounterVec
	inFlight prometheus.Gauge
	// tlsReloads counts loads of changed TLS files, by result (success, error).
	tlsReloads *prometheus.CounterVec
	// clientsRefused counts client certificates refused for their names.
	clientsRefused prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, buildVersion string, nodes *NodeCache, store *policy.Store, maxInFlight int, b *budget) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rktsched_extender_requests_total",
			Help: "Extender requests answered, by verb and HTTP status code (413: over a per-request bound; 429: over --max-requests-in-flight or --max-bytes-in-flight; 503: not ready yet).",
		}, []string{"verb", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rktsched_extender_request_duration_seconds",
			Help: "Time from a request's arrival to the end of its answer, by verb.",
			// 50µs .. 3.3s: a names request takes well under a millisecond, 5000 full Nodes tens of ms.
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 17),
		}, []string{"verb"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rktsched_extender_nodes_refused_total",
			Help: "Nodes refused by filter, by missing capability (a node lacking two counts under both; " +
				refusedUnknownNeed + ": the pod's rktsched.io/needs annotation names an unknown capability).",
		}, []string{"capability"}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rktsched_extender_nodes_not_cached_total",
			Help: "Node names a request carried that the node cache had not seen yet, by verb.",
		}, []string{"verb"}),
		tlsReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rktsched_extender_tls_reloads_total",
			Help: "Loads of --tls-cert-file, --tls-key-file and --client-ca-file after they changed on disk, by result (error: the last good files stay in force).",
		}, []string{"result"}),
		clientsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rktsched_extender_client_certificates_refused_total",
			Help: "TLS handshakes refused because the client certificate, though signed by --client-ca-file, names none of --client-allowed-names.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rktsched_extender_requests_in_flight",
			Help: "Verb requests being served now.",
		}),
	}
	maxInFlightGauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rktsched_extender_max_requests_in_flight",
		Help: "The cap on verb requests served at once (--max-requests-in-flight); past it they get 429.",
	})
	maxInFlightGauge.Set(float64(maxInFlight))
	bytesInFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rktsched_extender_bytes_in_flight",
		Help: "Memory the verb requests being served have reserved, in bytes (bodies, answers, what reading them holds).",
	}, func() float64 { return float64(b.used.Load()) })
	maxBytesInFlight := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "rktsched_extender_max_bytes_in_flight",
		Help: "The memory the verb requests being served may reserve together (--max-bytes-in-flight), in bytes; past it they wait their turn.",
	})
	maxBytesInFlight.Set(float64(b.limit))
	waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "rktsched_extender_requests_waiting_for_memory",
		Help: "Verb requests waiting for room in --max-bytes-in-flight (first come, first served; 429 after 10 s).",
	}, func() float64 { return float64(b.waiting.Load()) })
	all := []prometheus.Collector{
		m.requests, m.duration, m.refused, m.unknown, m.inFlight, m.tlsReloads, m.clientsRefused, maxInFlightGauge,
		bytesInFlight, maxBytesInFlight, waiting, version.BuildInfo(buildVersion),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if nodes != nil {
		all = append(all, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rktsched_extender_nodes_cached",
			Help: "Nodes in the node cache (names-mode requests are answered from it).",
		}, func() float64 { return float64(nodes.Len()) }))
	}
	all = append(all, policysource.Collectors(store)...)
	var errs []error
	for _, c := range all {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Series that exist from the start, so that rates and alerts work before the first event.
	for _, v := range verbs {
		m.requests.WithLabelValues(v, "200")
		m.duration.WithLabelValues(v)
	}
	for _, r := range []string{"success", "error"} {
		m.tlsReloads.WithLabelValues(r)
	}
	for _, c := range policy.AllCapabilities {
		m.refused.WithLabelValues(string(c))
	}
	return m, nil
}

func (m *metrics) observe(verb string, code int, d time.Duration) {
	m.requests.WithLabelValues(verb, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(verb).Observe(d.Seconds())
}
