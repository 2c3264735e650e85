// Package nodeselect says which nodes a pod's nodeSelector and required node affinity let it
// go to. kube-scheduler's NodeAffinity filter runs before any extender, so rktsched is asked
// only about those nodes: the others can neither run the pod nor refuse it. The matching is
// k8s.io/component-helpers' nodeaffinity, the code that filter runs.
package nodeselect

import (
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/rktsched/rktsched/policy"
)

// Selector is a pod's nodeSelector and required node affinity. The nil Selector (a pod with
// neither) selects every node.
type Selector struct {
	required nodeaffinity.RequiredNodeAffinity
	spec     *v1.PodSpec
}

// Of returns the pod's selector, nil when the pod has no nodeSelector and no required node
// affinity.
func Of(pod *v1.Pod) *Selector {
	a := pod.Spec.Affinity
	if len(pod.Spec.NodeSelector) == 0 && (a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil) {
		return nil
	}
	return &Selector{required: nodeaffinity.GetRequiredNodeAffinity(pod), spec: &pod.Spec}
}

// Matches reports whether the pod may go to n. A term that does not parse (an unknown
// operator, a bad value) matches no node, as in kube-scheduler.
func (s *Selector) Matches(n *v1.Node) bool {
	if s == nil {
		return true
	}
	ok, err := s.required.Match(n)
	return err == nil && ok
}

// String describes the selector for people: "nodeSelector rktsched.io/runtime=rkt",
// "required node affinity rktsched.io/stage1 In [coreos, kvm] or kubernetes.io/hostname In
// [n1]", both separated by "; ". "" for the nil Selector.
func (s *Selector) String() string {
	if s == nil {
		return ""
	}
	var parts []string
	if ns := s.spec.NodeSelector; len(ns) > 0 {
		kv := make([]string, 0, len(ns))
		for k, v := range ns {
			kv = append(kv, k+"="+v)
		}
		sort.Strings(kv)
		parts = append(parts, "nodeSelector "+strings.Join(kv, ","))
	}
	if a := s.spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		ts := make([]string, len(terms))
		for i, t := range terms {
			var rs []string
			for _, r := range t.MatchExpressions {
				rs = append(rs, requirement(r))
			}
			for _, r := range t.MatchFields {
				rs = append(rs, requirement(r))
			}
			if len(rs) == 0 {
				rs = []string{"(empty term)"}
			}
			ts[i] = strings.Join(rs, ", ")
		}
		if len(ts) == 0 {
			ts = []string{"(no terms)"}
		}
		parts = append(parts, "required node affinity "+strings.Join(ts, " or "))
	}
	return strings.Join(parts, "; ")
}

func requirement(r v1.NodeSelectorRequirement) string {
	switch r.Operator {
	case v1.NodeSelectorOpExists, v1.NodeSelectorOpDoesNotExist:
		return r.Key + " " + string(r.Operator)
	}
	return r.Key + " " + string(r.Operator) + " [" + strings.Join(r.Values, ", ") + "]"
}

// Labelled returns nodes as the labeler labels them under p: each keeps its labels that
// rktsched does not own (policy.OwnedLabel) and gets those p gives its profile
// (policy.NodeProfile.Labels) instead of the owned ones it has. Previewing a policy, a pod's
// selectors are matched against these: they are the labels kube-scheduler will see once the
// labeler has applied it (a capability the policy drops takes its label away, one it adds
// brings one). The Nodes are shallow copies: nodes and their Nodes are left as they are.
func Labelled(p *policy.Policy, nodes []*v1.Node) []*v1.Node {
	out := make([]*v1.Node, len(nodes))
	for i, n := range nodes {
		labels := p.Profile(n).Labels()
		for k, v := range n.Labels {
			if !policy.OwnedLabel(k) {
				labels[k] = v
			}
		}
		c := *n
		c.Labels = labels
		out[i] = &c
	}
	return out
}
