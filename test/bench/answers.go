package main

import (
	"strings"
	"sync/atomic"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/workload"
)

// policyAnswers are rktsched-extender's answers for the workload under the default policy,
// worked out before a run: the answers mode's extender (noopextender.StartAnswering) looks
// each up by the pod's kind (its name, "<kind>-<index>") and the node's name, so that its
// runs cost kube-scheduler what rktsched's answers cost it, without rktsched's work.
type policyAnswers struct {
	// verdicts is by kind, then node name.
	verdicts atomic.Pointer[map[string]map[string]*policy.Verdict]
}

// update works the answers out for the nodes classified so far.
func (a *policyAnswers) update(classOf map[string]*policy.Class) {
	p := policy.Default()
	table := map[string]map[string]*policy.Verdict{}
	for i := range len(workload.Kinds) + 1 { // the special kinds, then "plain"
		pod := workload.Pod(i)
		analysis := p.AnalyzeWith(pod, workload.Objects)
		byNode := make(map[string]*policy.Verdict, len(classOf))
		for name, c := range classOf {
			byNode[name] = analysis.Verdict(c)
		}
		table[workload.KindOf(i)] = byNode
	}
	a.verdicts.Store(&table)
}

// of returns the verdicts for the pod's kind, nil if the pod is not the workload's.
func (a *policyAnswers) of(pod string) map[string]*policy.Verdict {
	kind := pod
	if i := strings.LastIndexByte(pod, '-'); i >= 0 {
		kind = pod[:i]
	}
	return (*a.verdicts.Load())[kind]
}

// Filter passes the nodes that fit the pod and fails the others with the policy's reason,
// as rktsched-extender does; a node or pod without a verdict passes.
func (a *policyAnswers) Filter(pod string, names []string) ([]string, extenderv1.FailedNodesMap) {
	verdicts := a.of(pod)
	passed, failed := make([]string, 0, len(names)), extenderv1.FailedNodesMap{}
	for _, name := range names {
		if v, ok := verdicts[name]; ok && !v.Fits {
			failed[name] = v.Reason
			continue
		}
		passed = append(passed, name)
	}
	return passed, failed
}

// Prioritize scores the nodes as rktsched-extender does: the policy's score where the pod
// fits, 0 elsewhere, less the lowest, nodes left at 0 not listed.
func (a *policyAnswers) Prioritize(pod string, names []string) extenderv1.HostPriorityList {
	verdicts := a.of(pod)
	scores := make([]int64, len(names))
	lowest := int64(policy.MaxScore)
	for i, name := range names {
		if v, ok := verdicts[name]; ok && v.Fits {
			scores[i] = min(max(v.Score, 0), policy.MaxScore)
		}
		lowest = min(lowest, scores[i])
	}
	var out extenderv1.HostPriorityList
	for i, name := range names {
		if scores[i] > lowest {
			out = append(out, extenderv1.HostPriority{Host: name, Score: scores[i] - lowest})
		}
	}
	return out
}
