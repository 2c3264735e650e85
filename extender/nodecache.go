package extender

import (
	"context"
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/policy"
)

// nodeEntry is what the policy reads of a node, and its profile under the last policy that
// asked. When any field the policy reads changes, the entry is replaced, not changed.
type nodeEntry struct {
	resourceVersion string
	runtimeVersion  string
	labels          map[string]string
	stage1Image     string
	classified      atomic.Pointer[classified]
}

type classified struct {
	policy  *policy.Policy
	profile policy.NodeProfile
}

// profile returns the node's profile under p, classifying it once per policy.
func (e *nodeEntry) profile(p *policy.Policy) policy.NodeProfile {
	if c := e.classified.Load(); c != nil && c.policy == p {
		return c.profile
	}
	np := p.Classify(e.runtimeVersion, e.labels, e.stage1Image)
	e.classified.Store(&classified{policy: p, profile: np})
	return np
}

func entryOf(n *v1.Node) *nodeEntry {
	return &nodeEntry{
		resourceVersion: n.ResourceVersion,
		runtimeVersion:  n.Status.NodeInfo.ContainerRuntimeVersion,
		labels:          n.Labels,
		stage1Image:     n.Annotations[policy.AnnotationStage1Image],
	}
}

func (e *nodeEntry) sameFields(o *nodeEntry) bool {
	if e.runtimeVersion != o.runtimeVersion || e.stage1Image != o.stage1Image || len(e.labels) != len(o.labels) {
		return false
	}
	for k, v := range e.labels {
		if w, ok := o.labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// NodeCache keeps, for every Node of the cluster, what the policy reads of it, fed by a Node
// informer so that node-name requests never wait on the API server. A lookup is a map read
// under a read lock; profiles are computed once per node and policy.
type NodeCache struct {
	factory informers.SharedInformerFactory
	synced  func() bool

	mu    sync.RWMutex
	nodes map[string]*nodeEntry
}

// NewNodeCache returns a cache fed by a Node informer on client; Start runs it.
func NewNodeCache(client kubernetes.Interface) (*NodeCache, error) {
	c := &NodeCache{
		factory: informers.NewSharedInformerFactory(client, 0),
		nodes:   map[string]*nodeEntry{},
	}
	inf := c.factory.Core().V1().Nodes().Informer()
	// The informer's own store only needs what the policy reads: 5000 full Nodes with their
	// image lists would cost hundreds of megabytes.
	if err := inf.SetTransform(cachedNode); err != nil {
		return nil, err
	}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.set(obj) },
		UpdateFunc: func(_, obj any) { c.set(obj) },
		DeleteFunc: c.delete,
	})
	if err != nil {
		return nil, err
	}
	c.synced = reg.HasSynced
	return c, nil
}

// Start runs the informer until ctx ends.
func (c *NodeCache) Start(ctx context.Context) {
	klog.FromContext(ctx).V(2).Info("Starting the node cache")
	c.factory.Start(ctx.Done())
}

// HasSynced reports whether the cache holds every Node the API server listed at start.
func (c *NodeCache) HasSynced() bool { return c.synced() }

// Len is how many nodes the cache holds.
func (c *NodeCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.nodes)
}

// Lookup returns the profile of the named node under p; ok is false if the cache has not
// seen the node (yet).
func (c *NodeCache) Lookup(p *policy.Policy, name string) (np policy.NodeProfile, ok bool) {
	return c.lookup(p, []byte(name))
}

// lookup is Lookup on a name's bytes, without allocating.
func (c *NodeCache) lookup(p *policy.Policy, name []byte) (policy.NodeProfile, bool) {
	c.mu.RLock()
	e := c.nodes[string(name)]
	c.mu.RUnlock()
	if e == nil {
		return policy.NodeProfile{}, false
	}
	return e.profile(p), true
}

// classifyAll computes every node's profile under p ahead of the requests that need it.
func (c *NodeCache) classifyAll(p *policy.Policy) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, e := range c.nodes {
		e.profile(p)
	}
}

func (c *NodeCache) set(obj any) {
	n, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	e := entryOf(n)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.nodes[n.Name]; old != nil {
		if old.resourceVersion == e.resourceVersion {
			return // a resync: nothing changed
		}
		if old.sameFields(e) {
			// Heartbeats and status updates: keep the entry and its profiles.
			old.resourceVersion = e.resourceVersion
			return
		}
	}
	c.nodes[n.Name] = e
}

func (c *NodeCache) delete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, ok := obj.(*v1.Node)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, n.Name)
}

// cachedNode is policy.SlimNode without the labels rktsched writes: the policy never
// classifies by them (a document may not match runtimes on them), they are more than half of
// a labelled node's labels, and without them the labeler's writes leave the cache alone.
func cachedNode(obj any) (any, error) {
	obj, err := policy.SlimNode(obj)
	n, ok := obj.(*v1.Node)
	if err != nil || !ok {
		return obj, err
	}
	kept := 0
	for k := range n.Labels {
		if !policy.OwnedLabel(k) {
			kept++
		}
	}
	labels := make(map[string]string, kept)
	for k, v := range n.Labels {
		if !policy.OwnedLabel(k) {
			labels[k] = v
		}
	}
	n.Labels = labels
	return n, nil
}
