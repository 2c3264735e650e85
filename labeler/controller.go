package labeler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/serving"
	"github.com/rktsched/rktsched/policy"
)

// FieldManager is the manager name the labeler's patches are recorded under in managedFields.
const FieldManager = "rktsched-labeler"

// ReasonRuntimeChanged is the reason of the Event recorded on a Node whose runtime profile
// changed, e.g. after a re-install from docker to rkt.
const ReasonRuntimeChanged = "RuntimeChanged"

// ControllerOptions tune a Controller. The zero value writes labels, prints nothing, keeps
// its metrics unregistered and treats the policy as loaded.
type ControllerOptions struct {
	// DryRun computes the labels but writes nothing: no patches, no Events. Each node whose
	// labels would change gets one line on Out (again only if what it would write changes).
	DryRun bool
	// Out receives the dry-run lines; nil means os.Stdout.
	Out io.Writer
	// Metrics counts writes, errors and sync durations; nil means unregistered ones.
	Metrics *Metrics
	// PolicySynced reports whether the policy source has been read (e.g. the policy
	// ConfigMap watcher's HasSynced). No node is written before it returns true. Nil means the
	// policy was loaded before the controller was made (built-in or --policy-file).
	PolicySynced cache.InformerSynced
}

// Controller keeps the owned labels of every Node equal to what the policy computes for it.
type Controller struct {
	client       kubernetes.Interface
	nodes        corelisters.NodeLister
	nodesSynced  cache.InformerSynced
	policySynced cache.InformerSynced
	store        *policy.Store
	recorder     record.EventRecorder
	queue        workqueue.TypedRateLimitingInterface[string]
	metrics      *Metrics
	dryRun       bool

	outMu   sync.Mutex
	out     io.Writer
	printed map[string]string // node -> last dry-run line, so a node is printed once per change
}

// NewController wires a controller to a node informer. Start the informer's factory, then call
// Run; until Run's caches have synced, events are only queued.
func NewController(client kubernetes.Interface, nodeInformer coreinformers.NodeInformer, store *policy.Store,
	recorder record.EventRecorder, opts ControllerOptions) (*Controller, error) {
	c := &Controller{
		client:       client,
		nodes:        nodeInformer.Lister(),
		policySynced: opts.PolicySynced,
		store:        store,
		recorder:     recorder,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "rktsched-labeler"}),
		metrics: opts.Metrics,
		dryRun:  opts.DryRun,
		out:     opts.Out,
		printed: map[string]string{},
	}
	if c.policySynced == nil {
		c.policySynced = func() bool { return true }
	}
	if c.metrics == nil {
		c.metrics = NewMetrics(nil)
	}
	if c.out == nil {
		c.out = os.Stdout
	}
	reg, err := nodeInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.addNode,
		UpdateFunc: c.updateNode,
		DeleteFunc: c.deleteNode,
	})
	if err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	// The registration, not the informer, says whether this handler has seen the initial list.
	c.nodesSynced = reg.HasSynced
	return c, nil
}

// HasSynced reports whether the node cache and the policy are loaded: the labeler is ready
// (also while it stands by without the leader lease).
func (c *Controller) HasSynced() bool { return c.readiness() == nil }

// readiness says what the labeler still waits for, or nil when it is ready.
func (c *Controller) readiness() error {
	return serving.NotReady(
		serving.Awaited{What: "a policy loaded from its source", Done: c.policySynced},
		serving.Awaited{What: "the node cache to sync", Done: c.nodesSynced})
}

// EnqueueAll queues every node, e.g. after the policy changed. Only nodes whose labels differ
// from the new policy's are then written.
func (c *Controller) EnqueueAll() {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		utilruntime.HandleError(fmt.Errorf("listing nodes from the cache: %w", err))
		return
	}
	for _, n := range nodes {
		c.queue.Add(n.Name)
	}
}

func (c *Controller) addNode(obj any) { c.queue.Add(obj.(*v1.Node).Name) }

// updateNode queues a node only when something the labels are computed from changed. Kubelet
// heartbeats (status updates every few seconds) and informer resyncs change none of it, so a
// steady cluster costs no work at all; sync still diffs before writing.
func (c *Controller) updateNode(oldObj, newObj any) {
	old, node := oldObj.(*v1.Node), newObj.(*v1.Node)
	if old.ResourceVersion == node.ResourceVersion {
		return // a resync: nothing happened
	}
	// What the policy reads, and the owned labels sync compares with what it computes (someone
	// removing or changing one gets it written back).
	if policy.InputsOf(old).Equal(policy.InputsOf(node)) && ownedLabelsEqual(old.Labels, node.Labels) {
		return
	}
	c.queue.Add(node.Name)
}

// deleteNode queues the name so that sync forgets what it remembered about the node.
func (c *Controller) deleteNode(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if node, ok := obj.(*v1.Node); ok {
		c.queue.Add(node.Name)
	}
}

// Run waits for the node cache and the policy, then syncs nodes with the given number of
// workers until ctx is done, and returns once the workers have stopped. Call it once.
func (c *Controller) Run(ctx context.Context, workers int) error {
	defer utilruntime.HandleCrashWithContext(ctx)
	defer c.queue.ShutDown()
	logger := klog.FromContext(ctx)
	logger.Info("Starting node labeler", "dryRun", c.dryRun)

	// Nothing is written, and above all nothing removed, before the caches are complete.
	if !cache.WaitForNamedCacheSyncWithContext(ctx, c.nodesSynced, c.policySynced) {
		return errors.New("stopped before the node cache and the policy were loaded")
	}
	logger.Info("Starting workers", "count", workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { wait.UntilWithContext(ctx, c.runWorker, time.Second) })
	}
	<-ctx.Done()
	logger.Info("Shutting down workers")
	c.queue.ShutDown() // wakes workers blocked in Get
	wg.Wait()
	return nil
}

func (c *Controller) runWorker(ctx context.Context) {
	for c.processNextWorkItem(ctx) {
	}
}

func (c *Controller) processNextWorkItem(ctx context.Context) bool {
	name, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	defer c.queue.Done(name)
	if ctx.Err() != nil {
		return false // stopping (e.g. the lease was lost): write nothing more
	}
	if err := c.sync(ctx, name); err != nil {
		c.metrics.syncErrors.Inc()
		utilruntime.HandleErrorWithContext(ctx, err, "Syncing node labels failed; retrying with backoff", "node", klog.KRef("", name))
		c.queue.AddRateLimited(name)
		return true
	}
	c.queue.Forget(name)
	return true
}

// sync brings the owned labels of one node to what the policy in force computes for it.
func (c *Controller) sync(ctx context.Context, name string) error {
	defer func(start time.Time) { c.metrics.syncDuration.Observe(time.Since(start).Seconds()) }(time.Now())
	logger := klog.FromContext(ctx)
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		logger.V(4).Info("Node is gone", "node", klog.KRef("", name))
		c.forget(name)
		return nil
	}
	if err != nil {
		return err
	}
	logger = logger.WithValues("node", klog.KObj(node))

	desired := c.store.Load().Profile(node).Labels()
	change := diffOwned(node.Labels, desired)
	if change.empty() {
		logger.V(4).Info("Labels up to date", "runtime", runtimeName(desired))
		return nil
	}
	if c.dryRun {
		c.printDryRun(logger, node.Name, desired, change)
		return nil
	}

	patch, err := change.mergePatch()
	if err != nil {
		return err
	}
	logger.V(4).Info("Patching node labels", "patch", string(patch))
	_, err = c.client.CoreV1().Nodes().Patch(ctx, node.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: FieldManager})
	if apierrors.IsNotFound(err) {
		return nil // deleted meanwhile; the delete event follows
	}
	if err != nil {
		return fmt.Errorf("patching labels of node %s: %w", node.Name, err)
	}
	c.metrics.nodeWrites.Inc()
	logger.Info("Labeled node", "runtime", runtimeName(desired), "set", change.setKeys(), "removed", change.remove)

	// Only a node that already carried our runtime label has a profile to change from.
	if from, to := runtimeName(node.Labels), runtimeName(desired); node.Labels[policy.LabelRuntime] != "" && from != to {
		c.recorder.Eventf(node, v1.EventTypeNormal, ReasonRuntimeChanged, "runtime changed from %s to %s", from, to)
	}
	return nil
}

// printDryRun reports the labels a node would get: a klog line and a plain stdout line
// "node=<name> labels=<k=v,...>" (the full owned set, sorted), with " remove=<k,...>" when
// stale owned labels would go. A node is printed again only when that line would change.
func (c *Controller) printDryRun(logger klog.Logger, name string, desired map[string]string, change labelChange) {
	line := "node=" + name + " labels=" + formatLabels(desired)
	if len(change.remove) > 0 {
		line += " remove=" + strings.Join(change.remove, ",")
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.printed[name] == line {
		return
	}
	c.printed[name] = line
	logger.Info("Dry run: would label node", "set", change.set, "removed", change.remove)
	fmt.Fprintln(c.out, line)
}

func (c *Controller) forget(name string) {
	c.outMu.Lock()
	delete(c.printed, name)
	c.outMu.Unlock()
}
