package plugin

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/policy"
)

// nodeClasses keeps each node's class, so that a Filter or Score call is one map load. The
// key is the Node object itself: a pointer hashes without reading the node, where a 40-byte
// name hashed on every call cost kube-scheduler 13% of its CPU at 2500 nodes
// (docs/performance.md, "How the cost grows").
//
// The map follows the node informer, which hands the scheduler's snapshot the same objects:
// one entry per Node object the informer holds, moved to the new object on an update
// (keeping the inputs and profile when the policy inputs are Equal: a heartbeat, the
// labeler's own labels), dropped on delete, so it never holds more than the informer does.
// A Node the map does not hold (the snapshot a moment ahead of or behind this handler, or no
// informer at all) is classified on the spot.
type nodeClasses struct {
	m sync.Map // *v1.Node -> *policy.Profiled

	// mu guards held: the informer delivers a deleted Node as the watch decoded it, not the
	// object it held, so the entry to drop is found by name.
	mu   sync.Mutex
	held map[string]*v1.Node
}

func newNodeClasses() *nodeClasses { return &nodeClasses{held: map[string]*v1.Node{}} }

// classOf returns node's class under p.
func (n *nodeClasses) classOf(p *policy.Policy, node *v1.Node) *policy.Class {
	if v, ok := n.m.Load(node); ok {
		return v.(*policy.Profiled).Profile(p).Class
	}
	return p.Profile(node).Class
}

// add keeps a new node's inputs.
func (n *nodeClasses) add(node *v1.Node) { n.update(nil, node) }

// update moves old's entry to node, carrying its profile over when the inputs did not change.
// The entry of the object held under the node's name goes too, should it not be old (an
// event missed).
func (n *nodeClasses) update(old, node *v1.Node) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var last *policy.Profiled
	for _, prev := range [2]*v1.Node{old, n.held[node.Name]} {
		if v, ok := n.m.LoadAndDelete(prev); ok && last == nil {
			last = v.(*policy.Profiled)
		}
	}
	n.held[node.Name] = node
	n.m.Store(node, policy.Carry(last, policy.InputsOf(node)))
}

// forget drops a deleted node's entry.
func (n *nodeClasses) forget(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if prev := n.held[name]; prev != nil {
		n.m.Delete(prev)
		delete(n.held, name)
	}
}
