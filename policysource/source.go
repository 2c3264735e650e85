// Package policysource keeps a policy.Store in step with where the operator keeps the policy:
// a file, or a ConfigMap that is watched and hot-reloaded. A rejected document is reported
// (log, Warning Event on the ConfigMap, metric) and the last good policy stays in force.
package policysource

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
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

// Defaults for where the policy ConfigMap lives (manifests/ creates it there).
const (
	DefaultNamespace = "rktsched-system"
	DefaultName      = "rktsched-policy"
)

// Options say where the policy comes from.
type Options struct {
	Namespace string
	Name      string
	File      string
}

// AddFlags registers --policy-configmap-namespace, --policy-configmap-name and --policy-file.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "policy-configmap-namespace", DefaultNamespace, "namespace of the policy ConfigMap")
	fs.StringVar(&o.Name, "policy-configmap-name", DefaultName, "name of the policy ConfigMap (key "+policy.ConfigMapKey+"); built-in policy while it does not exist")
	fs.StringVar(&o.File, "policy-file", "", "read the policy from this file instead of the ConfigMap")
}

// Collectors are the policy metrics of store, read from it at scrape time:
// rktsched_policy_generation and rktsched_policy_reload_errors_total. Every binary registers
// them on its own registry (Register), so two stores never share counts.
func Collectors(store *policy.Store) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rktsched_policy_reload_errors_total",
			Help: "Policy documents rejected (from the ConfigMap or --policy-file); the last good policy stayed in force.",
		}, func() float64 { return float64(store.Rejected()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rktsched_policy_generation",
			Help: "How many policies have been in force since start (1 = the first one).",
		}, func() float64 { return float64(store.Generation()) }),
	}
}

// Register adds the policy metrics of store (Collectors) to reg.
func Register(reg prometheus.Registerer, store *policy.Store) {
	reg.MustRegister(Collectors(store)...)
}

// NewStore puts p in force in a new store (generation 1), whether a watcher follows the
// policy's source from there or p stays (the built-in policy).
func NewStore(p *policy.Policy) *policy.Store { return policy.NewStore(p) }

// LoadFile reads the policy document at path. The store is not touched on error.
func LoadFile(path string) (*policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Watcher applies the policy ConfigMap to a store for as long as its context lives.
type Watcher struct {
	client   kubernetes.Interface
	opts     Options
	store    *policy.Store
	recorder record.EventRecorder
	// OnChange, if set, is called after a new policy is put in force.
	OnChange func(*policy.Policy)
	synced   cache.InformerSynced
	// seen: the ConfigMap was delivered at least once; loaded: a policy from it was accepted
	// at least once, or it was deleted (the built-in policy is then in force by design).
	seen, loaded atomic.Bool
}

// NewWatcher returns a watcher for the ConfigMap opts name. The recorder reports rejected and
// accepted documents as Events on the ConfigMap.
func NewWatcher(client kubernetes.Interface, opts Options, store *policy.Store, recorder record.EventRecorder) *Watcher {
	return &Watcher{client: client, opts: opts, store: store, recorder: recorder}
}

// Start begins watching; HasSynced turns true once the ConfigMap's state has been applied.
func (w *Watcher) Start(ctx context.Context) {
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
func (w *Watcher) HasSynced() bool {
	return w.synced != nil && w.synced() && (w.loaded.Load() || !w.seen.Load())
}

func (w *Watcher) apply(ctx context.Context, obj any) {
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

func (w *Watcher) revertToDefault(ctx context.Context) {
	klog.FromContext(ctx).Info("Policy ConfigMap deleted; the built-in policy is in force", "configmap", klog.KRef(w.opts.Namespace, w.opts.Name))
	w.set(ctx, policy.Default(), nil)
}

func (w *Watcher) set(ctx context.Context, p *policy.Policy, cm *v1.ConfigMap) {
	changed := w.store.Set(p)
	w.loaded.Store(true) // also when p is the policy in force already
	if !changed {
		return
	}
	klog.FromContext(ctx).Info("Policy in force", "generation", w.store.Generation(), "digest", p.Digest())
	if cm != nil {
		w.recorder.Eventf(cm, v1.EventTypeNormal, "PolicyLoaded", "Policy %s in force (generation %d)", p.Digest(), w.store.Generation())
	}
	if w.OnChange != nil {
		w.OnChange(p)
	}
}
