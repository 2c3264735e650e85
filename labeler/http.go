package labeler

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rktsched/rktsched/internal/serving"
)

// newHTTPHandler serves /healthz (liveness: fails only when the leader cannot renew its Lease,
// so the kubelet restarts it), /readyz (the policy is loaded and the node cache synced; a
// standby replica is ready too, since it takes over with warm caches) and /metrics.
func newHTTPHandler(gatherer prometheus.Gatherer, live func(*http.Request) error, ready func() error) http.Handler {
	r := mux.NewRouter()
	serving.Probes{Live: live, Ready: ready, Metrics: gatherer}.Routes(r)
	return r
}
