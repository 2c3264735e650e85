package extender

import (
	"context"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/internal/objectcache"
	"github.com/rktsched/rktsched/policy"
)

// objectSource is what the extender reads of the objects pods name: the objects, and a
// generation that changes whenever they do (objectcache.Cache).
type objectSource interface {
	policy.Objects
	Generation() int64
}

// nodeEntry is all the node informer stores of a Node: ObjectMeta, which lets the informer
// key it, holds only the name and the resourceVersion; the policy's inputs and the node's
// profile are a policy.Profiled, shared with the entry of the previous version of the Node
// when its inputs did not change.
type nodeEntry struct {
	metav1.ObjectMeta
	*policy.Profiled
}

// nodeSlot is a node's entry in NodeCache's map, with its profile under the policy last
// classified kept in the slot itself: a lookup under that policy reads nothing but the map.
// (Going through the entry to its profile cost three dependent loads per name; at 5000
// nodes the per-name lookups were 43% of the extender's CPU, docs/performance.md.)
type nodeSlot struct {
	entry   *nodeEntry
	policy  *policy.Policy
	profile policy.NodeProfile // under policy
}

// NodeCache keeps, for every Node of the cluster, what the policy reads of it, fed by a Node
// informer so that node-name requests never wait on the API server. A request's names are
// looked up under one read lock; profiles are computed once per node and policy.
type NodeCache struct {
	factory informers.SharedInformerFactory
	synced  func() bool
	// objects are the other objects the policy reads, from the same informer factory;
	// objectsSynced says whether their informers have synced.
	objects       objectSource
	objectsSynced func() bool

	mu    sync.RWMutex
	nodes map[string]nodeSlot
	// classified is the policy new slots are profiled under: the last classifyAll's.
	classified *policy.Policy
}

// NewNodeCache returns a cache fed by a Node informer on client; Start runs it.
func NewNodeCache(client kubernetes.Interface) (*NodeCache, error) {
	c := &NodeCache{
		factory: informers.NewSharedInformerFactory(client, 0),
		nodes:   map[string]nodeSlot{},
	}
	inf := c.factory.Core().V1().Nodes().Informer()
	// The informer stores entries, not Nodes: 5000 full Nodes with their image lists would
	// cost hundreds of megabytes, and one copy of the labels is enough.
	if err := inf.SetTransform(c.transform); err != nil {
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
	objects, err := objectcache.New(c.factory)
	if err != nil {
		return nil, err
	}
	c.objects, c.objectsSynced = objects, objects.HasSynced
	return c, nil
}

// Start runs the informer until ctx ends.
func (c *NodeCache) Start(ctx context.Context) {
	klog.FromContext(ctx).V(2).Info("Starting the node cache")
	c.factory.Start(ctx.Done())
}

// HasSynced reports whether the cache holds every Node, RuntimeClass, DeviceClass,
// ResourceClaim and ResourceClaimTemplate the API server listed at start.
func (c *NodeCache) HasSynced() bool { return c.synced() && c.objectsSynced() }

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
	slot, ok := c.nodes[string(name)]
	c.mu.RUnlock()
	return slot.profileUnder(p), ok
}

// classes appends to dst the class under p of each named node, nil for a node the cache has
// not seen, taking the read lock once for them all.
func (c *NodeCache) classes(p *policy.Policy, names []wire.Name, dst []*policy.Class) []*policy.Class {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, name := range names {
		slot, ok := c.nodes[string(name.Key)]
		if !ok {
			dst = append(dst, nil)
			continue
		}
		dst = append(dst, slot.profileUnder(p).Class)
	}
	return dst
}

func (slot nodeSlot) profileUnder(p *policy.Policy) policy.NodeProfile {
	switch {
	case slot.entry == nil:
		return policy.NodeProfile{}
	case slot.policy == p:
		return slot.profile
	default:
		return slot.entry.Profile(p)
	}
}

// classifyAll profiles every node under p ahead of the requests that need it, and makes p
// the policy new nodes are profiled under. The profiles are worked out under the read lock,
// so that requests go on meanwhile; a node updated before they are written keeps its slot
// (its entry answers under p all the same).
func (c *NodeCache) classifyAll(p *policy.Policy) {
	c.mu.RLock()
	slots := make([]nodeSlot, 0, len(c.nodes))
	for _, slot := range c.nodes {
		slots = append(slots, nodeSlot{entry: slot.entry, policy: p, profile: slot.entry.Profile(p)})
	}
	c.mu.RUnlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.classified = p
	for _, slot := range slots {
		if c.nodes[slot.entry.Name].entry == slot.entry {
			c.nodes[slot.entry.Name] = slot
		}
	}
}

// transform turns the informer's Nodes into entries. An entry whose policy inputs did not
// change (heartbeats, status updates, rktsched's own labels) takes over the previous one's
// inputs and profile, so nothing is classified or kept twice.
func (c *NodeCache) transform(obj any) (any, error) {
	n, ok := obj.(*v1.Node)
	if !ok {
		return obj, nil // already an entry (transforms must be idempotent), or a tombstone
	}
	c.mu.RLock()
	old := c.nodes[n.Name].entry
	c.mu.RUnlock()
	var last *policy.Profiled
	if old != nil {
		last = old.Profiled
	}
	e := &nodeEntry{Profiled: policy.Carry(last, policy.InputsOf(n))}
	e.Name, e.ResourceVersion = compactName(old, n.Name), n.ResourceVersion
	return e, nil
}

// compactName is the name the map keys a node by: the previous entry's, or a copy of its own
// bytes. A decoded Node's name lies among the rest of the Node, a page apart from the next
// node's; the copies, made one after the other, share pages, and a request's lookups, which
// compare each name sent with the key's bytes, miss the cache and the TLB less (a Go map
// takes the key of every assignment, so the key must not change with each update).
func compactName(old *nodeEntry, name string) string {
	if old != nil && old.Name == name {
		return old.Name
	}
	return strings.Clone(name)
}

func (c *NodeCache) set(obj any) {
	e, ok := obj.(*nodeEntry)
	if !ok {
		return
	}
	c.mu.RLock()
	p := c.classified
	c.mu.RUnlock()
	slot := nodeSlot{entry: e}
	if p != nil {
		slot.policy, slot.profile = p, e.Profile(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nodes[e.Name] = slot
}

func (c *NodeCache) delete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	e, ok := obj.(*nodeEntry)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.nodes, e.Name)
}
