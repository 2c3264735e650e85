package policysource

import (
	"context"
	"fmt"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/policy"
)

// configMapWatcher applies the policy ConfigMap to a store for as long as its context lives.
// Rejected and accepted documents are reported as Events on the ConfigMap.
type configMapWatcher struct {
	client   kubernetes.Interface
	opts     Options
	store    *policy.Store
	recorder record.EventRecorder
	// changed is called after a new policy is put in force (Source.changed).
	changed func(*policy.Policy)
	synced  cache.InformerSynced
	// seen: the ConfigMap was delivered at least once; loaded: a policy from it was accepted
	// at least once, or it was deleted (the built-in policy is then in force by design).
	seen, loaded atomic.Bool
}

// Start begins watching; HasSynced turns true once the ConfigMap's state has been applied.
func (w *configMapWatcher) Start(ctx context.Context) {
	factory := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
		informers.WithNamespace(w.opts.Namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.opts.Name).String()
		}))
	inf := factory.Core().V1().ConfigMaps().Informer()
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { w.apply(ctx, obj) },
		UpdateFunc: func(old, obj any) {
			if old.(*v1.ConfigMap).ResourceVersion != obj.(*v1.ConfigMap).ResourceVersion {
				w.apply(ctx, obj)
			}
		},
		DeleteFunc: func(any) { w.revertToDefault(ctx) },
	})
	if err != nil {
		panic(err) // only fails on a stopped informer, and this one is not started yet
	}
	// The registration's HasSynced also waits for the handler to have applied the ConfigMap.
	w.synced = reg.HasSynced
	factory.Start(ctx.Done())
}

// HasSynced reports whether the policy in force comes from the ConfigMap as the operator
// wants it: the ConfigMap has been read at least once and its policy accepted, or it did not
// exist (or was deleted), so that the built-in policy is in force by design. A ConfigMap whose
// document is rejected from the start keeps HasSynced false (the built-in policy is in force
// then, but only for lack of a good one) until a good document arrives; once true, it stays
// true, since a later rejected edit leaves the last good policy in force.
func (w *configMapWatcher) HasSynced() bool {
	return w.synced != nil && w.synced() && (w.loaded.Load() || !w.seen.Load())
}

func (w *configMapWatcher) apply(ctx context.Context, obj any) {
	cm := obj.(*v1.ConfigMap)
	w.seen.Store(true)
	logger := klog.FromContext(ctx).WithValues("configmap", klog.KObj(cm), "resourceVersion", cm.ResourceVersion)
	data, ok := cm.Data[policy.ConfigMapKey]
	var p *policy.Policy
	err := fmt.Errorf("key %q is missing", policy.ConfigMapKey)
	if ok {
		p, err = policy.Parse([]byte(data))
	}
	if err != nil {
		w.store.Reject()
		logger.Error(err, "Policy rejected; the last good policy stays in force", "generation", w.store.Generation())
		w.recorder.Eventf(cm, v1.EventTypeWarning, "PolicyRejected", "Policy rejected, the last good policy stays in force: %v", err)
		return
	}
	w.set(ctx, p, cm)
}

func (w *configMapWatcher) revertToDefault(ctx context.Context) {
	klog.FromContext(ctx).Info("Policy ConfigMap deleted; the built-in policy is in force", "configmap", klog.KRef(w.opts.Namespace, w.opts.Name))
	w.set(ctx, policy.Default(), nil)
}

func (w *configMapWatcher) set(ctx context.Context, p *policy.Policy, cm *v1.ConfigMap) {
	changed := w.store.Set(p)
	w.loaded.Store(true) // also when p is the policy in force already
	if !changed {
		return
	}
	klog.FromContext(ctx).Info("Policy in force", "generation", w.store.Generation(), "digest", p.Digest())
	if cm != nil {
		w.recorder.Eventf(cm, v1.EventTypeNormal, "PolicyLoaded", "Policy %s in force (generation %d)", p.Digest(), w.store.Generation())
	}
	if w.changed != nil {
		w.changed(p)
	}
}
