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
	node   *v1.Node
	inputs policy.NodeInputs
	policy *policy.Policy
	class  *policy.Class
}

func newNodeClasses() *nodeClasses { return &nodeClasses{} }

// classOf returns node's class under p.
func (n *nodeClasses) classOf(p *policy.Policy, node *v1.Node) *policy.Class {
	v, ok := n.m.Load(node.Name)
	if !ok {
		return n.store(p, node, policy.InputsOf(node))
	}
	e := v.(*nodeClass)
	if e.node == node {
		if e.policy == p {
			return e.class
		}
		return n.store(p, node, e.inputs)
	}
	in := policy.InputsOf(node)
	if e.policy == p && e.inputs.Equal(in) {
		n.m.Store(node.Name, &nodeClass{node: node, inputs: in, policy: p, class: e.class})
		return e.class
	}
	return n.store(p, node, in)
}

func (n *nodeClasses) store(p *policy.Policy, node *v1.Node, in policy.NodeInputs) *policy.Class {
	c := p.ProfileOf(in).Class
	n.m.Store(node.Name, &nodeClass{node: node, inputs: in, policy: p, class: c})
	return c
}

// forget drops a deleted node's entry.
func (n *nodeClasses) forget(name string) { n.m.Delete(name) }
