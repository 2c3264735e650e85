package plugin

import (
	"sync"

	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/policy"
)

// nodeClasses caches each node's class, so that a Filter or Score call is a map lookup. An
// entry is good for the Node object it was made from (the scheduler's snapshot shares the
// informer's object, which an update replaces) and the policy it was made with. A new Node
// object whose policy inputs are Equal (a heartbeat, the labeler's own labels) keeps the
// class; after a policy change the class is worked out again from the inputs kept.
type nodeClasses struct {
	m sync.Map // node name -> *nodeClass
}

type nodeClass struct {
	node *v1.Node
	*policy.Profiled
}

func newNodeClasses() *nodeClasses { return &nodeClasses{} }

// classOf returns node's class under p.
func (n *nodeClasses) classOf(p *policy.Policy, node *v1.Node) *policy.Class {
	v, ok := n.m.Load(node.Name)
	if ok && v.(*nodeClass).node == node {
		return v.(*nodeClass).Profile(p).Class
	}
	var last *policy.Profiled
	if ok {
		last = v.(*nodeClass).Profiled
	}
	e := &nodeClass{node: node, Profiled: policy.Carry(last, policy.InputsOf(node))}
	n.m.Store(node.Name, e)
	return e.Profile(p).Class
}

// forget drops a deleted node's entry.
func (n *nodeClasses) forget(name string) { n.m.Delete(name) }
