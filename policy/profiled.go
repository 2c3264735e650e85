package policy

import "sync/atomic"

// Profiled is a node's inputs and its profile under the last policy that asked: the one
// cache of a node's class, shared by the extender's node cache and remembered nodes and by
// the scheduler plugin. A policy change makes the next Profile work the class out again from
// the inputs kept; the inputs never change (new inputs are a new Profiled, which may take
// over an old one's profile with Carry when they are Equal).
type Profiled struct {
	inputs NodeInputs
	last   atomic.Pointer[profiledUnder]
}

type profiledUnder struct {
	policy  *Policy
	profile NodeProfile
}

// NewProfiled returns the cache of a node with these inputs.
func NewProfiled(in NodeInputs) *Profiled { return &Profiled{inputs: in} }

// Inputs are the node's inputs.
func (pr *Profiled) Inputs() NodeInputs { return pr.inputs }

// Profile returns the node's profile under p, worked out once per policy.
func (pr *Profiled) Profile(p *Policy) NodeProfile {
	if last := pr.last.Load(); last != nil && last.policy == p {
		return last.profile
	}
	np := p.ProfileOf(pr.inputs)
	pr.last.Store(&profiledUnder{policy: p, profile: np})
	return np
}

// Carry returns old when its inputs are Equal to in (a heartbeat, the labeler's own labels):
// its inputs and profile serve on; else a new Profiled of in.
func Carry(old *Profiled, in NodeInputs) *Profiled {
	if old != nil && old.inputs.Equal(in) {
		return old
	}
	return NewProfiled(in)
}
