// Package explain says what a pod needs and which nodes can run it, from the policy
// package's analysis: the verdicts, scores and reasons are the extender's.
package explain

import (
	"fmt"
	"slices"
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
	// RuntimeClass is the pod's spec.runtimeClassName and Handler its handler; both absent
	// for a pod of the default handler.
	RuntimeClass string `json:"runtimeClass,omitempty"`
	Handler      string `json:"handler,omitempty"`
	// MissingObjects are objects the pod names that do not exist (every node refuses it).
	MissingObjects []string `json:"missingObjects,omitempty"`
	// NodeSelection describes the pod's nodeSelector and required node affinity, e.g.
	// "nodeSelector rktsched.io/runtime=rkt"; absent when it has neither. With a node set,
	// only the nodes they select count (Class.Nodes; the others are Class.NotSelected):
	// kube-scheduler filters the rest out before it asks rktsched. Per class it is not
	// applied (classes have no labels).
	NodeSelection string `json:"nodeSelection,omitempty"`

	verdicts []*policy.Verdict // of Classes, in order
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
	Class string `json:"class"`
	// Name tells the class apart from others of the same runtime: the class, its version
	// where verdicts depend on it, and the handlers its nodes report ("containerd 2.1.4
	// [kata-qemu,runc]").
	Name    string `json:"name"`
	Runtime string `json:"runtime"`
	Stage1  string `json:"stage1"`
	// Version is the runtime version the class was judged on, where a capability names a
	// minimum version; Handlers the runtime handlers its nodes report (absent: none).
	Version  string   `json:"version,omitempty"`
	Handlers []string `json:"handlers,omitempty"`
	// Gaps say what lacks each missing or degraded capability, and why.
	Gaps []Gap `json:"gaps,omitempty"`
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

// Gap is one capability a class lacks for the pod: By lacks it ("containerd handler
// kata-qemu", "containerd 1.7.22", "node"), Note says why where By does not ("needs 2.1",
// "reported false", "not reported").
type Gap struct {
	Capability string `json:"capability"`
	By         string `json:"by"`
	Note       string `json:"note,omitempty"`
	Soft       bool   `json:"soft,omitempty"`
}

// Input is what a pod is judged with.
type Input struct {
	// Policy and its document (for pointing at lines in fixes; may be nil).
	Policy   *policy.Policy
	Document []byte
	// Nodes to judge on; nil means per class.
	Nodes []*v1.Node
	// Objects the pods name (RuntimeClasses, claims, ...); nil: none exist.
	Objects policy.Objects
}

// Classified is a node set grouped by the class a policy gives each node.
type Classified struct {
	classes []*policy.Class // with nodes, in the policy's order
	nodes   map[*policy.Class][]*v1.Node
	names   map[*policy.Class][]string // the same, by name
}

// GroupByClass groups nodes by the class p gives them.
func GroupByClass(p *policy.Policy, nodes []*v1.Node) *Classified {
	c := &Classified{nodes: map[*policy.Class][]*v1.Node{}, names: map[*policy.Class][]string{}}
	for _, n := range nodes {
		cl := p.Profile(n).Class
		if c.nodes[cl] == nil {
			c.classes = append(c.classes, cl)
		}
		c.nodes[cl] = append(c.nodes[cl], n)
	}
	sort.SliceStable(c.classes, func(i, j int) bool { return uint(c.classes[i].ID) < uint(c.classes[j].ID) })
	for cl, ns := range c.nodes {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Name < ns[j].Name })
		names := make([]string, len(ns))
		for i, n := range ns {
			names[i] = n.Name
		}
		c.names[cl] = names
	}
	return c
}

// selected splits the nodes of class cl into those sel selects and the others, by name.
func (c *Classified) selected(cl *policy.Class, sel *nodeselect.Selector) (in, out []string) {
	if sel == nil {
		return c.names[cl], nil
	}
	in = []string{}
	for _, n := range c.nodes[cl] {
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
		classified = GroupByClass(in.Policy, in.Nodes)
	}
	return ExplainClassified(pod, ref, kind, in, classified)
}

// ExplainClassified is Explain with the nodes already grouped by Classify (nil: per class).
func ExplainClassified(pod *v1.Pod, ref, kind string, in Input, classified *Classified) *Explanation {
	p := in.Policy
	a := p.AnalyzeWith(pod, in.Objects)
	sel := nodeselect.Of(pod)
	e := &Explanation{Pod: ref, Kind: kind, PolicyDigest: p.Digest(), PerClass: classified == nil,
		Needs: []Need{}, Classes: []Class{}, Fixes: []string{}, UnknownNeeds: a.Unknown, NodeSelection: sel.String(),
		RuntimeClass: a.RuntimeClass, Handler: a.Handler, MissingObjects: a.MissingObjects}
	for _, n := range a.Needs {
		action := p.Action(n.Capability)
		e.Needs = append(e.Needs, Need{
			Capability: string(n.Capability),
			Soft:       n.Soft || action == policy.ActionScore,
			Why:        n.Why,
			Action:     string(action),
		})
	}
	classes := p.DocumentClasses()
	if classified != nil {
		classes = classified.classes
	}
	for _, c := range classes {
		nodes, notSelected := []string{}, []string(nil)
		if classified != nil {
			nodes, notSelected = classified.selected(c, sel)
		}
		v := a.Verdict(c)
		cl := Class{
			Class: c.Name, Name: DisplayName(c), Runtime: c.Runtime, Stage1: c.Stage1, Version: c.Version, Handlers: c.Handlers, Nodes: nodes,
			Fits: v.Fits, Score: score(v), Missing: names(v.Missing), Degraded: names(v.Degraded),
			Reason: v.Reason, NotSelected: notSelected,
		}
		for _, g := range v.Gaps {
			cl.Gaps = append(cl.Gaps, Gap{Capability: string(g.Capability), By: g.By, Note: g.Note, Soft: g.Soft})
		}
		e.Fits = e.Fits || cl.Fits && e.Considered(&cl)
		e.Classes = append(e.Classes, cl)
		e.verdicts = append(e.verdicts, v)
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
	// The classes refusing the pod for each capability, in the design's order: only those
	// kube-scheduler asks rktsched about.
	refusing := map[string][]*policy.Class{}
	for i := range e.Classes {
		cl, v := &e.Classes[i], e.verdicts[i]
		if cl.Fits || !e.Considered(cl) {
			continue
		}
		for _, m := range cl.Missing {
			if !slices.Contains(refusing[m], v.Class) {
				refusing[m] = append(refusing[m], v.Class)
			}
		}
	}
	for _, c := range policy.AllCapabilities {
		classes, ok := refusing[string(c)]
		if !ok {
			continue
		}
		parts := []string{fmt.Sprintf("drop it from the pod (%s)", why[string(c)])}
		if where := elsewhere(p, a, e, c); where != "" {
			parts = append(parts, where)
		}
		var lines []string
		for _, cl := range classes {
			for _, l := range p.LackLines(cl, a.Handler, c) {
				if !slices.Contains(lines, l) {
					lines = append(lines, l)
				}
			}
		}
		action := "set "
		if len(lines) > 0 {
			action = "remove it from " + strings.Join(lines, ", ") + ", or set "
		}
		field, line := p.ActionLine(c)
		action += field + " to score or ignore"
		if line > 0 {
			action += fmt.Sprintf(" (line %d)", line)
		}
		parts = append(parts, "or in the policy "+action)
		out = append(out, fmt.Sprintf("%s: %s", c, strings.Join(parts, "; ")))
	}
	return out
}

// elsewhere says where the pod could go for capability c: per class, the classes of the
// policy that do not lack it for this pod; on a node set, those with nodes there (and whether
// the pod's nodeSelector/affinity leaves them out), then those to add nodes of.
func elsewhere(p *policy.Policy, a *policy.Analysis, e *Explanation, c policy.Capability) string {
	var run, add []string
	inSet := map[*policy.Class]*Class{}
	for i := range e.Classes {
		inSet[e.verdicts[i].Class] = &e.Classes[i]
	}
	for _, pc := range classesToSuggest(p, e) {
		if slices.Contains(a.Verdict(pc).Missing, c) {
			continue
		}
		cl := inSet[pc]
		switch {
		case e.PerClass:
			run = append(run, DisplayName(pc))
		case cl == nil:
			if !slices.Contains(add, DisplayName(pc)) {
				add = append(add, DisplayName(pc))
			}
		case len(cl.Nodes) > 0:
			run = append(run, fmt.Sprintf("%s (%s)", cl.Name, count(len(cl.Nodes))))
		default:
			run = append(run, fmt.Sprintf("%s (%s, left out by its nodeSelector/affinity)", cl.Name, count(len(cl.NotSelected))))
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

// DisplayName tells a class apart from the others of its runtime: its name, the runtime
// version where verdicts depend on it, and the handlers its nodes report.
func DisplayName(c *policy.Class) string {
	name := c.Name
	if c.Version != "" {
		name += " " + c.Version
	}
	if c.Handlers != nil {
		name += " [" + strings.Join(c.Handlers, ",") + "]"
	}
	return name
}

// classesToSuggest are the classes elsewhere looks at: those of the node set, then the
// document's (classes of nodes met elsewhere in the process are no suggestion).
func classesToSuggest(p *policy.Policy, e *Explanation) []*policy.Class {
	var out []*policy.Class
	for _, v := range e.verdicts {
		out = append(out, v.Class)
	}
	for _, c := range p.DocumentClasses() {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}
