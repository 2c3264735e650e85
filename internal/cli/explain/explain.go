// Package explain says what a pod needs and which nodes can run it, from the policy
// package's analysis: the verdicts, scores and reasons are the extender's.
package explain

import (
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/internal/cli/nodeselect"
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
	// Fits: some class lets the pod run (with a node set: a class with nodes there that the
	// pod's nodeSelector and required node affinity select).
	Fits    bool    `json:"fits"`
	Needs   []Need  `json:"needs"`
	Classes []Class `json:"classes"`
	// UnknownNeeds are names in the rktsched.io/needs annotation that are no capability.
	UnknownNeeds []string `json:"unknownNeeds,omitempty"`
	// Fixes are ways to make the pod fit, one per missing capability.
	Fixes []string `json:"fixes"`
	// PerClass: judged per class of the policy, not on nodes.
	PerClass bool `json:"perClass"`
	// NodeSelection describes the pod's nodeSelector and required node affinity, e.g.
	// "nodeSelector rktsched.io/runtime=rkt"; absent when it has neither. With a node set,
	// only the nodes they select count (Class.Nodes; the others are Class.NotSelected):
	// kube-scheduler filters the rest out before it asks rktsched. Per class it is not
	// applied (classes have no labels).
	NodeSelection string `json:"nodeSelection,omitempty"`
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
	// Nodes are the class's nodes in the node set that the pod's nodeSelector and required
	// node affinity select (all of them for a pod with neither), by name; empty when judged
	// per class.
	Nodes    []string `json:"nodes"`
	Fits     bool     `json:"fits"`
	Score    int64    `json:"score"`
	Missing  []string `json:"missing"`
	Degraded []string `json:"degraded"`
	// Reason is the extender's reason for refusing these nodes, byte for byte; "" if they fit.
	// Fits, Score and Reason are the class's verdict, for NotSelected nodes too.
	Reason string `json:"reason"`
	// NotSelected are the class's nodes in the node set that the pod's nodeSelector or
	// required node affinity leaves out, by name: kube-scheduler never asks rktsched about
	// them, so they make the pod fit nowhere. Absent when there are none.
	NotSelected []string `json:"notSelected,omitempty"`
}

// Input is what a pod is judged with.
type Input struct {
	// Policy and its document (for pointing at lines in fixes; may be nil).
	Policy   *policy.Policy
	Document []byte
	// Nodes to judge on; nil means per class.
	Nodes []*v1.Node
}

// Classified is a node set grouped by the class a policy gives each node.
type Classified struct {
	nodes [][]*v1.Node // by Class.ID, sorted by name
	names [][]string   // the same, by name
}

// Classify groups nodes by the class p gives them.
func Classify(p *policy.Policy, nodes []*v1.Node) *Classified {
	c := &Classified{nodes: make([][]*v1.Node, len(p.Classes())), names: make([][]string, len(p.Classes()))}
	for _, n := range nodes {
		id := p.Profile(n).Class.ID
		c.nodes[id] = append(c.nodes[id], n)
	}
	for id, ns := range c.nodes {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
		names := make([]string, len(ns))
		for i, n := range ns {
			names[i] = n.Name
		}
		c.names[id] = names
	}
	return c
}

// selected splits the nodes of class id into those sel selects and the others, by name.
func (c *Classified) selected(id int, sel *nodeselect.Selector) (in, out []string) {
	if sel == nil {
		return c.names[id], nil
	}
	in = []string{}
	for _, n := range c.nodes[id] {
		if sel.Matches(n) {
			in = append(in, n.Name)
		} else {
			out = append(out, n.Name)
		}
	}
	return in, out
}

// Explain judges pod (named ref, of kind) against in.
func Explain(pod *v1.Pod, ref, kind string, in Input) *Explanation {
	var classified *Classified
	if in.Nodes != nil {
		classified = Classify(in.Policy, in.Nodes)
	}
	return ExplainClassified(pod, ref, kind, in, classified)
}

// ExplainClassified is Explain with the nodes already grouped by Classify (nil: per class).
func ExplainClassified(pod *v1.Pod, ref, kind string, in Input, classified *Classified) *Explanation {
	p := in.Policy
	a := p.Analyze(pod)
	sel := nodeselect.Of(pod)
	e := &Explanation{Pod: ref, Kind: kind, PolicyDigest: p.Digest(), PerClass: classified == nil,
		Needs: []Need{}, Classes: []Class{}, Fixes: []string{}, UnknownNeeds: a.Unknown, NodeSelection: sel.String()}
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
		nodes, notSelected := []string{}, []string(nil)
		if classified != nil {
			if len(classified.nodes[c.ID]) == 0 {
				continue
			}
			nodes, notSelected = classified.selected(c.ID, sel)
		}
		v := a.Verdict(c)
		cl := Class{
			Class: c.Name, Runtime: c.Runtime, Stage1: c.Stage1, Nodes: nodes,
			Fits: v.Fits, Score: score(v), Missing: names(v.Missing), Degraded: names(v.Degraded),
			Reason: v.Reason, NotSelected: notSelected,
		}
		e.Fits = e.Fits || cl.Fits && e.Considered(&cl)
		e.Classes = append(e.Classes, cl)
	}
	e.Fixes = fixes(a, in, e)
	return e
}

// Selected counts the nodes of the node set that the pod's nodeSelector and required node
// affinity select, and all the nodes of the set.
func (e *Explanation) Selected() (selected, total int) {
	for _, c := range e.Classes {
		selected += len(c.Nodes)
		total += len(c.Nodes) + len(c.NotSelected)
	}
	return selected, total
}

// Considered reports whether kube-scheduler would ask rktsched about some of the class's
// nodes: judged per class, or some of its nodes are selected.
func (e *Explanation) Considered(c *Class) bool { return e.PerClass || len(c.Nodes) > 0 }

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

// fixes says, per capability that refuses some class kube-scheduler asks rktsched about, how
// to make the pod fit there: drop the field of the pod that needs it, run it on nodes of a
// class that has it (or add such nodes), or change the policy. A nodeSelector/affinity that
// selects no node of the set comes first: no runtime matters until it selects some.
func fixes(a *policy.Analysis, in Input, e *Explanation) []string {
	out := []string{}
	if e.NodeSelection != "" && !e.PerClass {
		selected, total := e.Selected()
		if selected == 0 && total > 0 {
			out = append(out, fmt.Sprintf("nodeSelector/affinity: selects none of the %d nodes (%s): change it, or label nodes to match",
				total, e.NodeSelection))
		}
	}
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
	// The classes refusing the pod for each capability, in the design's order: only those
	// kube-scheduler asks rktsched about.
	refusing := map[string][]*policy.Class{}
	byName := map[string]*Class{}
	for i := range e.Classes {
		cl := &e.Classes[i]
		byName[cl.Class] = cl
		if cl.Fits || !e.Considered(cl) {
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
		parts := []string{fmt.Sprintf("drop it from the pod (%s)", why[string(c)])}
		if where := elsewhere(p, e, byName, c); where != "" {
			parts = append(parts, where)
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

// elsewhere says where the pod could go for capability c: per class, the classes of the
// policy that have it; on a node set, those with nodes there (and whether the pod's
// nodeSelector/affinity leaves them out), then those to add nodes of.
func elsewhere(p *policy.Policy, e *Explanation, byName map[string]*Class, c policy.Capability) string {
	var run, add []string
	for _, pc := range p.Classes() {
		if pc.Lacks(c) {
			continue
		}
		cl := byName[pc.Name]
		switch {
		case e.PerClass:
			run = append(run, pc.Name)
		case cl == nil:
			add = append(add, pc.Name)
		case len(cl.Nodes) > 0:
			run = append(run, fmt.Sprintf("%s (%s)", pc.Name, count(len(cl.Nodes))))
		default:
			run = append(run, fmt.Sprintf("%s (%s, left out by its nodeSelector/affinity)", pc.Name, count(len(cl.NotSelected))))
		}
	}
	var parts []string
	if len(run) > 0 {
		parts = append(parts, "run the pod on nodes of "+strings.Join(run, ", "))
	}
	if len(add) > 0 {
		parts = append(parts, "add nodes of "+strings.Join(add, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "or " + strings.Join(parts, ", or ")
}

func count(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
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
