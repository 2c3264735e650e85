package labeler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/kubeclient"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/version"
)

// Component names the labeler in Events and its client's user agent.
const Component = "rktsched-labeler"

// Run runs the labeler as opts say until ctx is done (nil) or it fails, e.g. by losing the
// leader Lease (an error: the process should exit non-zero and be restarted as a standby).
func Run(ctx context.Context, opts *Options, stdout io.Writer) error {
	client, err := kubeclient.New(kubeclient.Options{Kubeconfig: opts.Kubeconfig, Component: Component,
		QPS: float32(opts.APIQPS), Burst: opts.APIBurst})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return err
	}
	return run(ctx, client, opts, ln, stdout)
}

// run is Run on a client and a listener it is given, so that tests can drive it.
func run(parent context.Context, client kubernetes.Interface, opts *Options, ln net.Listener, stdout io.Writer) error {
	logger := klog.FromContext(parent)
	logger.Info("Starting", "component", Component, "version", version.Version, "dryRun", opts.DryRun)
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	RegisterBuildInfo(reg)

	recorder, stopEvents := newRecorder(ctx, client, opts.DryRun)
	defer stopEvents()

	// --policy-file or the policy ConfigMap, watched either way.
	source, err := policysource.Open(client, opts.Policy, recorder, podRef())
	if err != nil {
		return err
	}
	store := source.Store()
	policysource.Register(reg, store)
	// The labeler reads of a Node only what the policy reads and its name.
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(policy.SlimNode))
	ctrl, err := NewController(client, factory.Core().V1().Nodes(), store, recorder, ControllerOptions{
		DryRun:       opts.DryRun,
		Out:          stdout,
		Metrics:      NewMetrics(reg),
		PolicySynced: source.HasSynced,
	})
	if err != nil {
		return err
	}
	source.OnChange(func(*policy.Policy) { ctrl.EnqueueAll() })
	if err := source.Start(ctx); err != nil {
		return err
	}
	// Caches fill whether or not this replica leads: a standby takes over warm.
	factory.Start(ctx.Done())
	defer factory.Shutdown() // runs after cancel: deferred calls run last-in first-out
	defer cancel()

	watchdog := leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)
	srv := &http.Server{
		Handler:           newHTTPHandler(reg, watchdog.Check, ctrl.readiness),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	serveErr := make(chan error, 1)
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("serving %s: %w", ln.Addr(), err)
			cancel()
		}
	}()
	defer func() {
		shutdownCtx, done := context.WithTimeout(context.WithoutCancel(parent), 5*time.Second)
		defer done()
		_ = srv.Shutdown(shutdownCtx)
	}()
	logger.Info("Serving /healthz, /readyz and /metrics", "address", ln.Addr().String())

	lead := func(ctx context.Context) error { return ctrl.Run(ctx, opts.Workers) }
	if opts.leaderElection() {
		err = runAsLeader(ctx, client, opts, recorder, watchdog, lead)
	} else {
		if opts.LeaderElect {
			logger.Info("Dry run: not taking the leader lease")
		}
		err = lead(ctx)
	}
	select {
	case err := <-serveErr:
		return err
	default:
	}
	if parent.Err() != nil {
		return nil // asked to stop
	}
	return err
}

// newRecorder returns the recorder for Node and ConfigMap Events. Events are always logged;
// they are sent to the API server unless this is a dry run, which writes nothing.
func newRecorder(ctx context.Context, client kubernetes.Interface, dryRun bool) (record.EventRecorder, func()) {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	if !dryRun {
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	}
	return broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: Component}), broadcaster.Shutdown
}

// podRef is the labeler's own Pod from the downward API (POD_NAME, POD_NAMESPACE), which
// Events about --policy-file are recorded on; nil when either is unset.
func podRef() *v1.ObjectReference {
	name, ns := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || ns == "" {
		return nil
	}
	return &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: name}
}
