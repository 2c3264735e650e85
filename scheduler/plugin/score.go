package plugin

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/rktsched/rktsched/policy"
)

// scoreScale maps the policy's 0..MaxScore onto the framework's 0..MaxNodeScore, as
// kube-scheduler scales an extender's 0..10 prioritize scores (times 10), so that the plugin
// at weight w ranks nodes as the extender at weight w does.
const scoreScale = fwk.MaxNodeScore / policy.MaxScore

// PreScore returns Skip when every class that fits the pod scores the same: Score would add
// the same number to every node.
func (pl *Plugin) PreScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if !s.scoresDiffer {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

// Score is the policy's score for the node's class (soft needs it lacks take their weight
// off), times scoreScale.
func (pl *Plugin) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, ni fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := readState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	node := ni.Node()
	if node == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	return s.analysis.Verdict(pl.nodes.classOf(s.analysis.Policy(), node)).Score * scoreScale, nil
}

// ScoreExtensions returns nil: scores are already in 0..MaxNodeScore.
func (pl *Plugin) ScoreExtensions() fwk.ScoreExtensions { return nil }
