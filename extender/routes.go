package extender

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"path"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/gorilla/mux"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/serving"
)

// routes is every route the extender serves: the three verbs kube-scheduler's
// KubeSchedulerConfiguration names (filterVerb: filter, prioritizeVerb: prioritize,
// preemptVerb: preempt) and the endpoints for probes, Prometheus and people.
func (s *Server) routes() http.Handler {
	r := s.probeRouter()
	r.Handle("/filter", s.verb("filter", s.filter)).Methods(http.MethodPost)
	r.Handle("/prioritize", s.verb("prioritize", s.prioritize)).Methods(http.MethodPost)
	r.Handle("/preempt", s.verb("preempt", s.preempt)).Methods(http.MethodPost)
	if s.profiling {
		r.HandleFunc("/debug/pprof/profile", pprof.Profile)
		r.HandleFunc("/debug/pprof/trace", pprof.Trace)
		r.PathPrefix("/debug/pprof/").HandlerFunc(pprof.Index)
	}
	return r
}

// probeRoutes are the routes of the --probe-address listener: the probes, /metrics and
// /version, which need no client certificate, and nothing else (no verb, no profile).
func (s *Server) probeRoutes() http.Handler { return s.probeRouter() }

func (s *Server) probeRouter() *mux.Router {
	r := mux.NewRouter()
	serving.Probes{Ready: s.ready, Metrics: s.registry}.Routes(r)
	r.HandleFunc("/version", s.versionInfo).Methods(http.MethodGet)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.methodNotAllowed)
	return r
}

// stats is what a verb reports about a request, for its log line.
type stats struct {
	pod                     klog.ObjectRef
	nodes, refused, unknown int
}

// verbFunc answers one verb; a returned error has not been answered yet (see httpError).
type verbFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// verb wraps a verb with the in-flight cap, the readiness gate, its metrics, its log line
// and its error answers.
func (s *Server) verb(name string, fn verbFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var st stats
		code := http.StatusOK
		err := s.admit()
		if err == nil {
			err = s.serveVerb(w, r, name, fn, &st)
		}
		if err != nil {
			code = http.StatusBadRequest
			if he := (*httpError)(nil); errors.As(err, &he) {
				code = he.code
			}
			// kube-scheduler logs only the status code: the reason is told here. Requests
			// turned away before they were read (429, 503) are counted, not logged each.
			if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
				s.logger.V(2).Info("Turned away an extender request", "verb", name, "code", code, "reason", err.Error())
			} else {
				s.logger.Error(err, "Refused an extender request", "verb", name, "pod", st.pod, "code", code)
			}
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

// serveVerb runs fn in the place admit took, and gives the place back however fn ends: a
// panic must not keep it (enough of them would turn every request away with 429). A panic
// is answered 500 and logged with its stack, and its call is not pooled again;
// http.ErrAbortHandler, which asks net/http to drop the connection, goes on up once the
// place is given back.
func (s *Server) serveVerb(w http.ResponseWriter, r *http.Request, name string, fn verbFunc, st *stats) (err error) {
	s.metrics.inFlight.Inc()
	c := s.getCall()
	c.stats, c.verb = st, name
	defer func() {
		p := recover()
		if p == nil {
			s.putCall(c)
		} else {
			s.end(c) // the call may be half done: it is left to the garbage collector, not pooled
		}
		s.metrics.inFlight.Dec()
		<-s.inFlight
		if p != nil {
			if abort, ok := p.(error); ok && errors.Is(abort, http.ErrAbortHandler) {
				panic(p)
			}
			s.logger.Error(fmt.Errorf("%v", p), "A verb panicked", "pod", st.pod, "stack", string(debug.Stack()))
			err = &httpError{code: http.StatusInternalServerError, err: fmt.Errorf("internal error: %v", p)}
		}
	}()
	if err := s.checkLength(r); err != nil {
		return err
	}
	if err := s.begin(r.Context(), c, r.ContentLength); err != nil {
		return err
	}
	return fn(w, r, c)
}

var errTooMany = &httpError{code: http.StatusTooManyRequests,
	err: errors.New("too many requests in flight (--max-requests-in-flight); retry")}

// admit takes a place among the requests in flight, or says why the request is not served:
// 429 past the cap, 503 while the server is not ready.
func (s *Server) admit() error {
	select {
	case s.inFlight <- struct{}{}:
	default:
		return errTooMany
	}
	if err := s.notReady(); err != nil {
		<-s.inFlight
		return &httpError{code: http.StatusServiceUnavailable, err: err}
	}
	return nil
}

// notReady says, in one line, what the server still waits for; nil once it is ready.
func (s *Server) notReady() error {
	if s.ready == nil {
		return nil
	}
	return s.ready()
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if v := path.Base(r.URL.Path); slices.Contains(verbs, v) {
		s.metrics.requests.WithLabelValues(v, "405").Inc()
	}
	http.Error(w, r.Method+" is not allowed on "+r.URL.Path, http.StatusMethodNotAllowed)
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
