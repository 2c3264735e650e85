package plugin

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/rktsched/rktsched/policy"
)

const stateKey fwk.StateKey = "PreFilter" + Name

// state is the pod's analysis for one scheduling cycle. It is immutable: Clone returns it.
type state struct {
	analysis *policy.Analysis
	// refuses: some class of node does not fit the pod (else Filter is skipped).
	refuses bool
	// scoresDiffer: the classes that fit do not all score the same (else Score is skipped).
	scoresDiffer bool
}

// Clone implements fwk.StateData.
func (s *state) Clone() fwk.StateData { return s }

// newState judges the pod on every class the policy has met, and on the classes of nodes
// the policy had not met yet (classes are made as nodes are classified).
func newState(a *policy.Analysis, classOf func(*v1.Node) *policy.Class, nodes []fwk.NodeInfo) *state {
	s := &state{analysis: a}
	known := a.Policy().Classes()
	first, score := true, int64(0)
	judge := func(c *policy.Class) {
		v := a.Verdict(c)
		if !v.Fits {
			s.refuses = true
			return
		}
		if !first && v.Score != score {
			s.scoresDiffer = true
		}
		first, score = false, v.Score
	}
	for _, c := range known {
		judge(c)
	}
	if s.refuses || classOf == nil {
		return s
	}
	// Every known class fits: Filter is skipped only if no node is of a class met since.
	for _, ni := range nodes {
		if n := ni.Node(); n != nil {
			if c := classOf(n); c.ID < 0 || c.ID >= len(known) {
				judge(c)
			}
		}
	}
	return s
}

func readState(cs fwk.CycleState) (*state, error) {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil, fmt.Errorf("reading %q from cycle state: %w", stateKey, err)
	}
	s, ok := d.(*state)
	if !ok {
		return nil, fmt.Errorf("%q in cycle state is a %T, want %T", stateKey, d, &state{})
	}
	return s, nil
}

// PreFilter analyses the pod with the policy in force, once per cycle. It returns Skip when
// no class of node refuses the pod, so that Filter is not called at all.
func (pl *Plugin) PreFilter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	p := pl.src.store.Load()
	s := newState(p.AnalyzeWith(pod, pl.objects), func(n *v1.Node) *policy.Class { return pl.nodes.classOf(p, n) }, nodes)
	cs.Write(stateKey, s)
	if !s.refuses {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	return nil, nil
}

// PreFilterExtensions returns nil: other pods on a node do not change its runtime.
func (pl *Plugin) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter refuses a node whose class does not fit the pod, with the policy's reason (the same
// string the extender answers, the same for every node of the class), as
// UnschedulableAndUnresolvable: preempting pods cannot give a runtime a capability.
func (pl *Plugin) Filter(_ context.Context, cs fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	node := ni.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	v := s.analysis.Verdict(pl.nodes.classOf(s.analysis.Policy(), node))
	if v.Fits {
		return nil
	}
	return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, v.Reason)
}
