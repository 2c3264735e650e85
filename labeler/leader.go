package labeler

import (
	"context"
	"errors"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
)

// errLostLease is returned when another replica may now be labeling: the process must exit.
var errLostLease = errors.New("lost the leader lease")

// runAsLeader runs lead while this replica holds the Lease. It returns nil when ctx ends
// (after lead has stopped and the Lease was released, so a standby takes over at once) and
// errLostLease when the Lease could not be renewed (after lead has stopped).
func runAsLeader(ctx context.Context, client kubernetes.Interface, opts *Options, recorder record.EventRecorder,
	watchdog *leaderelection.HealthzAdaptor, lead func(context.Context) error) error {
	logger := klog.FromContext(ctx)
	le := opts.LeaderElection
	work := &leaderWork{}
	// The elector has its own context: on shutdown, what the Lease guards must stop before the
	// Lease is released (ReleaseOnCancel), or the next leader could overlap with this one.
	electorCtx, stopElector := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElector()
	defer context.AfterFunc(ctx, func() { work.stop(); stopElector() })()

	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta: metav1.ObjectMeta{Namespace: le.ResourceNamespace, Name: le.ResourceName},
			Client:    client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{
				Identity:      opts.LeaderElectIdentity,
				EventRecorder: recorder,
			},
		},
		LeaseDuration:   le.LeaseDuration.Duration,
		RenewDeadline:   le.RenewDeadline.Duration,
		RetryPeriod:     le.RetryPeriod.Duration,
		ReleaseOnCancel: true,
		Name:            le.ResourceName,
		WatchDog:        watchdog,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				logger.Info("Leading: labeling nodes", "identity", opts.LeaderElectIdentity)
				workCtx, cancel := context.WithCancel(leading)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)() // shutdown ends the work before the elector
				work.run(workCtx, lead)
			},
			OnStoppedLeading: func() { logger.Info("Stopped leading", "identity", opts.LeaderElectIdentity) },
			OnNewLeader: func(identity string) {
				if identity != opts.LeaderElectIdentity {
					logger.Info("Standing by: another replica leads", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	watchdog.SetLeaderElection(elector)
	logger.Info("Waiting for the leader lease", "lease", klog.KRef(le.ResourceNamespace, le.ResourceName), "identity", opts.LeaderElectIdentity)
	elector.Run(electorCtx)
	work.stop()
	if ctx.Err() != nil {
		return nil
	}
	return errLostLease
}

// leaderWork runs the work a Lease guards at most once, and lets the elector wait for it to end.
type leaderWork struct {
	mu      sync.Mutex
	stopped bool
	done    chan struct{}
}

func (w *leaderWork) run(ctx context.Context, work func(context.Context) error) {
	w.mu.Lock()
	if w.stopped || w.done != nil {
		w.mu.Unlock()
		return
	}
	w.done = make(chan struct{})
	w.mu.Unlock()
	defer close(w.done)
	if err := work(ctx); err != nil && ctx.Err() == nil {
		klog.FromContext(ctx).Error(err, "Labeler stopped")
	}
}

// stop keeps work from starting and waits for a running one to return.
func (w *leaderWork) stop() {
	w.mu.Lock()
	w.stopped = true
	done := w.done
	w.mu.Unlock()
	if done != nil {
		<-done
	}
}
