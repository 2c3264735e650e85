package extender

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"
	"path"
	"runtime"
	"slices"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// routes is every route the extender serves: the three verbs kube-scheduler's
// KubeSchedulerConfiguration names (filterVerb: filter, prioritizeVerb: prioritize,
// preemptVerb: preempt) and the endpoints for probes, Prometheus and people.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.Handle("/filter", s.verb("filter", s.filter)).Methods(http.MethodPost)
	r.Handle("/prioritize", s.verb("prioritize", s.prioritize)).Methods(http.MethodPost)
	r.Handle("/preempt", s.verb("preempt", s.preempt)).Methods(http.MethodPost)
	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})).Methods(http.MethodGet)
	r.HandleFunc("/version", s.versionInfo).Methods(http.MethodGet)
	if s.profiling {
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
		r.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	}
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	return r
}

// stats is what a verb reports about a request, for its log line.
type stats struct {
	pod                     klog.ObjectRef
	nodes, refused, unknown int
}

// verbFunc answers one verb; a returned error has not been answered yet (see httpError).
type verbFunc func(w http.ResponseWriter, r *http.Request, st *stats) error

// verb wraps a verb with its metrics, its log line and its error answers.
func (s *Server) verb(name string, fn verbFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var st stats
		code := http.StatusOK
		if err := fn(w, r, &st); err != nil {
			code = http.StatusBadRequest
			if he := (*httpError)(nil); errors.As(err, &he) {
				code = he.code
			}
			// kube-scheduler logs only the status code: the reason is told here.
			s.logger.Error(err, "Refused an extender request", "verb", name, "pod", st.pod, "code", code)
			http.Error(w, err.Error(), code)
		}
		elapsed := time.Since(start)
		s.metrics.observe(name, code, elapsed)
		if logger := s.logger.V(4); logger.Enabled() {
			logger.Info("Extender request", "verb", name, "pod", st.pod, "nodes", st.nodes,
				"refused", st.refused, "notCached", st.unknown, "code", code, "micros", elapsed.Microseconds())
		}
	})
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if v := path.Base(r.URL.Path); slices.Contains(verbs, v) {
		s.metrics.requests.WithLabelValues(v, "405").Inc()
	}
	http.Error(w, r.Method+" is not allowed on "+r.URL.Path, http.StatusMethodNotAllowed)
}

// healthz is liveness: the process serves HTTP.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz is 200 once a policy is loaded and whatever Config.Ready waits for is there.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if s.store.Load() == nil {
		http.Error(w, "no policy loaded", http.StatusServiceUnavailable)
		return
	}
	if s.ready != nil {
		if err := s.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) versionInfo(w http.ResponseWriter, _ *http.Request) {
	p := s.store.Load()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"version":          s.version,
		"goVersion":        runtime.Version(),
		"policyDigest":     p.Digest(),
		"policyGeneration": s.store.Generation(),
	})
}
