package plugin

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
)

// Component names the scheduler in the Events it records on the policy ConfigMap.
const Component = "rktsched-scheduler"

// policySyncTimeout bounds the wait for the policy ConfigMap at start: scheduling with the
// built-in policy while an operator's policy exists but cannot be read would place pods the
// operator's policy refuses.
const policySyncTimeout = 2 * time.Minute

// source is the policy in force and who to tell when it changes.
type source struct {
	store *policy.Store
	args  Args

	mu          sync.Mutex
	last        *policy.Policy
	subscribers []func(old, cur *policy.Policy)
}

func newSource(store *policy.Store, args Args) *source {
	return &source{store: store, args: args, last: store.Load()}
}

// subscribe has fn called with the previous and the new policy after every change.
func (s *source) subscribe(fn func(old, cur *policy.Policy)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
}

// changed is the watcher's OnChange.
func (s *source) changed(cur *policy.Policy) {
	s.mu.Lock()
	old := s.last
	s.last = cur
	subs := s.subscribers
	s.mu.Unlock()
	for _, fn := range subs {
		fn(old, cur)
	}
}

// shared is the process's one policy source: kube-scheduler calls New once per profile.
var shared struct {
	sync.Mutex
	src *source
}

// sharedSource returns the process's policy source, starting it on first use.
func sharedSource(ctx context.Context, args Args, client kubernetes.Interface) (*source, error) {
	shared.Lock()
	defer shared.Unlock()
	if shared.src != nil {
		if shared.src.args != args {
			return nil, fmt.Errorf("profiles give different args (%+v, then %+v): one policy serves every profile", shared.src.args, args)
		}
		return shared.src, nil
	}
	src, err := startSource(ctx, args, client)
	if err != nil {
		return nil, err
	}
	policysource.Register(legacyregistry.Registerer(), src.store)
	shared.src = src
	return src, nil
}

// startSource loads the policy file, or starts watching the policy ConfigMap (rejected
// documents go to the log, a Warning Event and rktsched_policy_reload_errors_total; the last
// good policy stays) and waits until it has been read.
func startSource(ctx context.Context, args Args, client kubernetes.Interface) (*source, error) {
	logger := klog.FromContext(ctx)
	o := args.options()
	if o.File != "" {
		p, err := policysource.LoadFile(o.File)
		if err != nil {
			return nil, err
		}
		logger.Info("Policy loaded from file", "file", o.File, "digest", p.Digest())
		return newSource(policysource.NewStore(p), args), nil
	}
	if client == nil {
		return nil, errors.New("no API client to watch the policy ConfigMap")
	}
	src := newSource(policysource.NewStore(policy.Default()), args)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	context.AfterFunc(ctx, broadcaster.Shutdown)
	recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: Component})
	w := policysource.NewWatcher(client, o, src.store, recorder)
	w.OnChange = src.changed
	w.Start(ctx)
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, policySyncTimeout, true,
		func(context.Context) (bool, error) { return w.HasSynced(), nil })
	if err != nil {
		return nil, fmt.Errorf("the policy ConfigMap %s/%s was not read within %v: %w", o.Namespace, o.Name, policySyncTimeout, err)
	}
	logger.Info("Policy source synced", "configMap", klog.KRef(o.Namespace, o.Name), "digest", src.store.Load().Digest())
	return src, nil
}
