// Package explain says what a pod needs and which nodes can run it, from the policy
// package's analysis: the verdicts, scores and reasons are the extender's.
package explain

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/policy"
)

// Explanation is the answer for one pod. Its JSON form is a contract (kubectl rktsched
// explain -o json); fields are only ever added.
type Explanation struct {
	// Pod is namespace/name (for a workload, the workload's).
	Pod string `json:"pod"`
	// Kind is what was judged: Pod, or the workload whose pod template was judged.
	Kind         string `json:"kind"`
	PolicyDigest string `json:"policyDigest"`
	// Fits: some class lets the pod run (with a node set: a class that has nodes there).
	Fits    bool    `json:"fits"`
	Needs   []Need  `json:"needs"`
	Classes []Class `json:"classes"`
	// UnknownNeeds are names in the rktsched.io/needs annotation that are no capability.
	UnknownNeeds []string `json:"unknownNeeds,omitempty"`
	// Fixes are ways to make the pod fit, one per missing capability.
	Fixes []string `json:"fixes"`
	// PerClass: judged per class of the policy, not on nodes.
	PerClass bool `json:"perClass"`
}

// Need is one capability the pod relies on.
type Need struct {
	Capability string `json:"capability"`
	// Soft needs only lower a node's score.
	Soft bool   `json:"soft"`
	Why  string `json:"why"`
	// Action is the capability's action in the policy: filter, score or ignore.
	Action string `json:"action"`
}

// Class is the verdict for the nodes of one class.
type Class struct {
	Class   string `json:"class"`
	Runtime string `json:"runtime"`
	Stage1  string `json:"stage1"`
	// Nodes are the class's nodes in the node set, by name; empty when judged per class.
	Nodes    []string `json:"nodes"`
	Fits     bool     `json:"fits"`
	Score    int64    `json:"score"`
	Missing  []string `json:"missing"`
	Degraded []string `json:"degraded"`
	// Reason is the extender's reason for refusing these nodes, byte for byte; "" if they fit.
	Reason string `json:"reason"`
}

// Input is what a pod is judged with.
type Input struct {
	// Policy and its document (for pointing at lines in fixes; may be nil).
	Policy   *policy.Policy
	Document []byte
	// Nodes to judge on; nil means per class.
	Nodes []*v1.Node
}

// Classify groups nodes by the class p gives them, by Class.ID, names sorted.
func Classify(p *policy.Policy, nodes []*v1.Node) [][]string {
	byClass := make([][]string, len(p.Classes()))
	for _, n := range nodes {
		id := p.Profile(n).Class.ID
		byClass[id] = append(byClass[id], n.Name)
	}
	for _, names := range byClass {
		sort.Strings(names)
	}
	return byClass
}

// Explain judges pod (named ref, of kind) against in.
func Explain(pod *v1.Pod, ref, kind string, in Input) *Explanation {
	var byClass [][]string
	if in.Nodes != nil {
		byClass = Classify(in.Policy, in.Nodes)
	}
	return ExplainClassified(pod, ref, kind, in, byClass)
}

// ExplainClassified is Explain with the nodes already grouped by Classify (nil: per class).
func ExplainClassified(pod *v1.Pod, ref, kind string, in Input, byClass [][]string) *Explanation {
	p := in.Policy
	a := p.Analyze(pod)
	e := &Explanation{Pod: ref, Kind: kind, PolicyDigest: p.Digest(), PerClass: byClass == nil,
		Needs: []Need{}, Classes: []Class{}, Fixes: []string{}, UnknownNeeds: a.Unknown}
	for _, n := range a.Needs {
		action := p.Action(n.Capability)
		e.Needs = append(e.Needs, Need{
			Capability: string(n.Capability),
			Soft:       n.Soft || action == policy.ActionScore,
			Why:        n.Why,
			Action:     string(action),
		})
	}
	for _, c := range p.Classes() {
		nodes := []string{}
		if byClass != nil {
			if len(byClass[c.ID]) == 0 {
				continue
			}
			nodes = byClass[c.ID]
		}
		v := a.Verdict(c)
		cl := Class{
			Class: c.Name, Runtime: c.Runtime, Stage1: c.Stage1, Nodes: nodes,
			Fits: v.Fits, Score: score(v), Missing: names(v.Missing), Degraded: names(v.Degraded),
			Reason: v.Reason,
		}
		e.Fits = e.Fits || cl.Fits
		e.Classes = append(e.Classes, cl)
	}
	e.Fixes = fixes(a, in, e)
	return e
}

// score is the score the extender gives: 0..10, 0 when the pod does not fit.
func score(v *policy.Verdict) int64 {
	if !v.Fits {
		return 0
	}
	return min(max(v.Score, 0), policy.MaxScore)
}

func names(cs []policy.Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

// fixes says, per capability that refuses some class, how to make the pod fit there: drop
// what in the pod needs it, run it on nodes of a class that has it, or change the policy.
func fixes(a *policy.Analysis, in Input, e *Explanation) []string {
	out := []string{}
	if len(a.Unknown) > 0 {
		known := make([]string, len(policy.AllCapabilities))
		for i, c := range policy.AllCapabilities {
			known[i] = string(c)
		}
		out = append(out, fmt.Sprintf("%s: the annotation %s names %s, which no capability is: correct it (known: %s)",
			strings.Join(a.Unknown, ", "), policy.AnnotationNeeds, strings.Join(a.Unknown, ", "), strings.Join(known, ", ")))
		return out
	}
	p := in.Policy
	why := map[string]string{}
	for _, n := range a.Needs {
		why[string(n.Capability)] = n.Why
	}
	loc := newLocator(in.Document)
	// The classes refusing the pod for each capability, in the design's order.
	refusing := map[string][]*policy.Class{}
	for _, cl := range e.Classes {
		if cl.Fits {
			continue
		}
		eff := effectiveClass(p, cl.Reason)
		for _, m := range cl.Missing {
			if eff != nil && !containsClass(refusing[m], eff) {
				refusing[m] = append(refusing[m], eff)
			}
		}
	}
	for _, c := range policy.AllCapabilities {
		classes, ok := refusing[string(c)]
		if !ok {
			continue
		}
		var have []string
		for _, cl := range p.Classes() {
			if !cl.Lacks(c) {
				have = append(have, cl.Name)
			}
		}
		parts := []string{fmt.Sprintf("drop it from the pod (%s)", why[string(c)])}
		if len(have) > 0 {
			parts = append(parts, "or run the pod on nodes of "+strings.Join(have, ", "))
		}
		var lines []string
		for _, cl := range classes {
			lines = append(lines, loc.lacks(cl, c))
		}
		parts = append(parts, "or in the policy remove it from "+strings.Join(lines, ", ")+", or set "+loc.action(c))
		out = append(out, fmt.Sprintf("%s: %s", c, strings.Join(parts, "; ")))
	}
	return out
}

// effectiveClass is the class a reason names ("rkt stage1-fly lacks ..."): the node's own,
// or the one the pod's stage1 override makes it.
func effectiveClass(p *policy.Policy, reason string) *policy.Class {
	for _, cl := range p.Classes() {
		if strings.HasPrefix(reason, cl.Name+" lacks ") {
			return cl
		}
	}
	return nil
}

func containsClass(cs []*policy.Class, c *policy.Class) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}
