// Package policydiff previews a policy edit: the node labels the labeler would change, the
// running pods that would no longer fit their node, and the Pending pods that rktsched would
// stop or start refusing everywhere.
package policydiff

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/internal/cli/nodeselect"
	"github.com/rktsched/rktsched/policy"
)

// Result is the preview. Its JSON form is kubectl rktsched diff -o json.
type Result struct {
	OldDigest string `json:"oldPolicyDigest"`
	NewDigest string `json:"newPolicyDigest"`
	// Nodes and Pods count what was looked at.
	Nodes int `json:"nodes"`
	Pods  int `json:"pods"`
	// Labels are the label changes, grouped by class (before and after) and change.
	Labels []LabelChange `json:"labels"`
	// Stranded are running pods that fit their node now and would not after the edit.
	Stranded []PodChange `json:"stranded"`
	// Schedulable are Pending pods refused by every node now that some node would accept.
	// For a pod with a nodeSelector or required node affinity, only the nodes they match
	// count, as kube-scheduler asks the extender only about those: now, with the nodes'
	// labels as given; after the edit, with the labels the new policy makes
	// (nodeselect.Labelled).
	Schedulable []PodChange `json:"schedulable"`
	// Unschedulable are Pending pods some node accepts now that every node would refuse.
	Unschedulable []PodChange `json:"unschedulable"`
}

// LabelChange is one set of label changes shared by Count nodes of one class.
type LabelChange struct {
	// Class is the nodes' class now; NewClass after the edit.
	Class    string   `json:"class"`
	NewClass string   `json:"newClass"`
	Count    int      `json:"count"`
	Nodes    []string `json:"nodes"`
	Changes  []Change `json:"changes"`
}

// Change is one label key: its value now and after ("" with Present false: absent).
type Change struct {
	Key        string `json:"key"`
	Old        string `json:"old"`
	New        string `json:"new"`
	OldPresent bool   `json:"oldPresent"`
	NewPresent bool   `json:"newPresent"`
}

func (c Change) String() string {
	show := func(v string, present bool) string {
		if !present {
			return "(none)"
		}
		return v
	}
	return fmt.Sprintf("%s: %s -> %s", c.Key, show(c.Old, c.OldPresent), show(c.New, c.NewPresent))
}

// PodChange is a pod whose fate changes.
type PodChange struct {
	Pod string `json:"pod"`
	// Node is the node a running pod is on.
	Node string `json:"node,omitempty"`
	// Reason is the extender's reason after the edit (stranded) or now (schedulable).
	Reason string `json:"reason,omitempty"`
	// Classes are the classes that would accept a pod that becomes schedulable.
	Classes []string `json:"classes,omitempty"`
}

// Diff compares what old and new make of nodes and pods. Labels compared are those the
// labeler writes under each policy (policy.NodeProfile.Labels). Pods' selectors are matched
// against nodes' labels as given for old (the caller passes nodeselect.Labelled(old, …) when
// old is not the policy in force), and against the labels new makes for new.
// Pods are analysed with the objects they name read from objs (nil: none exist).
func Diff(old, new *policy.Policy, nodes []*v1.Node, pods []*v1.Pod, objs policy.Objects) *Result {
	r := &Result{OldDigest: old.Digest(), NewDigest: new.Digest(), Nodes: len(nodes), Pods: len(pods),
		Labels: []LabelChange{}, Stranded: []PodChange{}, Schedulable: []PodChange{}, Unschedulable: []PodChange{}}
	type nodeClasses struct{ old, new *policy.Class }
	byName := make(map[string]nodeClasses, len(nodes))
	oldCount, newCount := classCount{}, classCount{}
	groups := map[string]*LabelChange{}
	for _, n := range nodes {
		op, np := old.Profile(n), new.Profile(n)
		byName[n.Name] = nodeClasses{op.Class, np.Class}
		oldCount[op.Class]++
		newCount[np.Class]++
		changes := labelChanges(op.Labels(), np.Labels())
		if len(changes) == 0 {
			continue
		}
		key := op.Class.Name + "\x00" + np.Class.Name
		for _, c := range changes {
			key += "\x00" + c.String()
		}
		g := groups[key]
		if g == nil {
			g = &LabelChange{Class: op.Class.Name, NewClass: np.Class.Name, Changes: changes}
			groups[key] = g
		}
		g.Count++
		g.Nodes = append(g.Nodes, n.Name)
	}
	for _, g := range groups {
		sort.Strings(g.Nodes)
		r.Labels = append(r.Labels, *g)
	}
	sort.Slice(r.Labels, func(i, j int) bool {
		a, b := r.Labels[i], r.Labels[j]
		if a.Class != b.Class {
			return a.Class < b.Class
		}
		return a.Nodes[0] < b.Nodes[0]
	})

	var newLabelled []*v1.Node // nodes as labelled under new, made for the first selector
	for _, pod := range pods {
		ref := pod.Namespace + "/" + pod.Name
		switch {
		case pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed:
		case pod.Spec.NodeName != "":
			nc, ok := byName[pod.Spec.NodeName]
			if !ok {
				continue // on a node not in the set
			}
			before := old.AnalyzeWith(pod, objs).Verdict(nc.old)
			after := new.AnalyzeWith(pod, objs).Verdict(nc.new)
			if before.Fits && !after.Fits {
				r.Stranded = append(r.Stranded, PodChange{Pod: ref, Node: pod.Spec.NodeName, Reason: after.Reason})
			}
		default:
			oa, na := old.AnalyzeWith(pod, objs), new.AnalyzeWith(pod, objs)
			oc, nc := oldCount, newCount
			sel := nodeselect.Of(pod)
			if sel != nil {
				if newLabelled == nil {
					newLabelled = nodeselect.Labelled(new, nodes)
				}
				oc, nc = selectedCounts(old, new, sel, nodes, newLabelled)
			}
			before, _ := fitting(old, oa, oc)
			after, accepting := fitting(new, na, nc)
			switch {
			case !before && after:
				r.Schedulable = append(r.Schedulable, PodChange{Pod: ref, Reason: firstReason(old, oa, oc, sel), Classes: accepting})
			case before && !after:
				r.Unschedulable = append(r.Unschedulable, PodChange{Pod: ref, Reason: firstReason(new, na, nc, sel)})
			}
		}
	}
	for _, l := range [][]PodChange{r.Stranded, r.Schedulable, r.Unschedulable} {
		sort.Slice(l, func(i, j int) bool { return l[i].Pod < l[j].Pod })
	}
	return r
}

// selectedCounts counts by class, under each policy, the nodes the pod's nodeSelector and
// required node affinity let it go to (kube-scheduler asks the extender only about those):
// under old, nodes as they are; under new, as newLabelled has them.
func selectedCounts(old, new *policy.Policy, sel *nodeselect.Selector, nodes, newLabelled []*v1.Node) (oldCount, newCount classCount) {
	oldCount, newCount = classCount{}, classCount{}
	for i, n := range nodes {
		if sel.Matches(n) {
			oldCount[old.Profile(n).Class]++
		}
		if sel.Matches(newLabelled[i]) {
			newCount[new.Profile(n).Class]++
		}
	}
	return oldCount, newCount
}

// classCount counts nodes by class.
type classCount map[*policy.Class]int

// fitting reports whether a class with nodes accepts the pod, and which do.
func fitting(p *policy.Policy, a *policy.Analysis, count classCount) (bool, []string) {
	var out []string
	for _, c := range p.Classes() {
		if count[c] > 0 && a.Verdict(c).Fits {
			out = append(out, c.Name)
		}
	}
	return len(out) > 0, out
}

// firstReason is the reasons of the classes with nodes that refuse the pod; when its
// selectors (sel, nil for none) leave it no node at all, that.
func firstReason(p *policy.Policy, a *policy.Analysis, count classCount, sel *nodeselect.Selector) string {
	var reasons []string
	any := false
	for _, c := range p.Classes() {
		any = any || count[c] > 0
		if v := a.Verdict(c); count[c] > 0 && !v.Fits {
			reasons = append(reasons, v.Reason)
		}
	}
	if !any && sel != nil {
		return "no node matches its " + sel.String()
	}
	return strings.Join(reasons, "; ")
}

// labelChanges lists the keys whose value differs between before and after, sorted.
func labelChanges(before, after map[string]string) []Change {
	var out []Change
	for k, ov := range before {
		nv, ok := after[k]
		if !ok || nv != ov {
			out = append(out, Change{Key: k, Old: ov, New: nv, OldPresent: true, NewPresent: ok})
		}
	}
	for k, nv := range after {
		if _, ok := before[k]; !ok {
			out = append(out, Change{Key: k, New: nv, NewPresent: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
