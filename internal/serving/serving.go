// Package serving is how rktsched's daemons (the extender and the labeler) serve HTTP: the
// /healthz, /readyz and /metrics routes on a gorilla/mux router, a readiness message written
// one way, and a server with timeouts that shuts down gracefully when its context ends.
package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/klog/v2"
)

// Timeouts of the server. kube-scheduler's extender calls time out after 5 s by default
// (httpTimeout); a body of 5000 full Nodes takes a few hundred ms on loopback.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 30 * time.Second
	IdleTimeout       = 2 * time.Minute
	// ShutdownTimeout is how long requests in flight get to finish once the context ends.
	ShutdownTimeout = 10 * time.Second
)

// Probes are what a daemon's /healthz, /readyz and /metrics answer from.
type Probes struct {
	// Live is liveness: a non-nil error answers 503 with its message and the kubelet restarts
	// the container (e.g. the labeler's leader cannot renew its Lease). Nil means alive while
	// the process serves HTTP.
	Live func(*http.Request) error
	// Ready says in one line what the daemon still waits for (NotReady); a non-nil error
	// answers 503 with its message. Nil means ready.
	Ready func() error
	// Metrics is served on /metrics.
	Metrics prometheus.Gatherer
}

// Routes adds GET and HEAD /healthz and /readyz, and GET /metrics, to r.
func (p Probes) Routes(r *mux.Router) {
	r.HandleFunc("/healthz", func(w http.ResponseWriter, req *http.Request) {
		var err error
		if p.Live != nil {
			err = p.Live(req)
		}
		reply(w, err)
	}).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		var err error
		if p.Ready != nil {
			err = p.Ready()
		}
		reply(w, err)
	}).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", promhttp.HandlerFor(p.Metrics, promhttp.HandlerOpts{})).Methods(http.MethodGet)
}

func reply(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(err.Error() + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// Awaited is one thing a daemon waits for before it is ready.
type Awaited struct {
	// What names it after "waiting for", e.g. "the node cache".
	What string
	// Done reports whether it is there.
	Done func() bool
}

// NotReady says in one line what is still awaited, "not ready: waiting for A and B", or nil
// once every Done reports true.
func NotReady(awaited ...Awaited) error {
	var missing []string
	for _, a := range awaited {
		if !a.Done() {
			missing = append(missing, a.What)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errors.New("not ready: waiting for " + strings.Join(missing, " and "))
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: requests in flight get
// ShutdownTimeout to finish. Requests' contexts carry ctx's values (its logger), not its end.
// It returns nil after a clean shutdown, and the error when serving fails.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          klog.NewStandardLogger("WARNING"),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	klog.FromContext(ctx).Info("Shutting down the HTTP server", "address", ln.Addr().String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
