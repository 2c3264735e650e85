package labeler

import (
	"context"
	"io"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/kubeclient"
	"github.com/rktsched/rktsched/internal/serving"
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

	// --policy-file or the policy ConfigMap, watched either way. Its Event broadcaster records
	// the labeler's Events too; a dry run only logs them.
	source, err := policysource.Open(ctx, opts.Policy, policysource.Config{
		Client: client, Component: Component, EventRef: policysource.PodFromEnv(), LogEventsOnly: opts.DryRun})
	if err != nil {
		return err
	}
	store, recorder := source.Store(), source.Recorder()
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
	source.OnChange(func(_, _ *policy.Policy) { ctrl.EnqueueAll() })
	if err := source.Start(ctx); err != nil {
		return err
	}
	// Caches fill whether or not this replica leads: a standby takes over warm.
	factory.Start(ctx.Done())
	defer factory.Shutdown() // runs after cancel: deferred calls run last-in first-out
	defer cancel()

	watchdog := leaderelection.NewLeaderHealthzAdaptor(20 * time.Second)
	serveErr := make(chan error, 1)
	go func() {
		err := serving.Serve(ctx, ln, newHTTPHandler(reg, watchdog.Check, ctrl.readiness))
		if err != nil {
			cancel()
		}
		serveErr <- err
	}()
	logger.Info("Serving /healthz, /readyz and /metrics", "address", ln.Addr().String())

	lead := func(ctx context.Context) error { return ctrl.Run(ctx, opts.Workers) }
	if opts.leaderElection() {
		err = runAsLeader(ctx, client, opts, recorder, watchdog, lead)
	} else {
		if opts.LeaderElection.LeaderElect {
			logger.Info("Dry run: not taking the leader lease")
		}
		err = lead(ctx)
	}
	cancel()
	if err := <-serveErr; err != nil { // the server has shut down when run returns
		return err
	}
	if parent.Err() != nil {
		return nil // asked to stop
	}
	return err
}
