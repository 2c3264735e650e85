package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/noopextender"
	"github.com/rktsched/rktsched/test/workload"
)

// policyAnswers are rktsched-extender's answers for the workload under the default policy,
// worked out before a run: the answers mode's extender (noopextender.StartAnswering) looks
// each up by the pod's kind (its name, "<kind>-<index>") and the node's name, and writes the
// bytes rktsched-extender would, so that its runs cost kube-scheduler what rktsched's
// answers cost it, with as little of an extender's own work as can be.
type policyAnswers struct {
	// verdicts is by kind, then node name.
	verdicts atomic.Pointer[map[string]map[string]*answer]
}

// answer is the policy's verdict on a node for a kind of pod, as rktsched-extender writes it.
type answer struct {
	fits   bool
	score  int64  // 0..policy.MaxScore, 0 where the pod does not fit
	reason []byte // quoted
}

// update works the answers out for the nodes classified so far.
func (a *policyAnswers) update(classOf map[string]*policy.Class) {
	p := policy.Default()
	table := map[string]map[string]*answer{}
	for i := range len(workload.Kinds) + 1 { // the special kinds, then "plain"
		analysis := p.AnalyzeWith(workload.Pod(i), workload.Objects)
		byNode := make(map[string]*answer, len(classOf))
		for name, c := range classOf {
			v := analysis.Verdict(c)
			an := &answer{fits: v.Fits}
			if v.Fits {
				an.score = min(max(v.Score, 0), policy.MaxScore)
			} else {
				an.reason, _ = json.Marshal(v.Reason)
			}
			byNode[name] = an
		}
		table[workload.KindOf(i)] = byNode
	}
	a.verdicts.Store(&table)
}

// of returns the answers for the pod's kind, nil if the pod is not the workload's.
func (a *policyAnswers) of(pod []byte) map[string]*answer {
	kind := pod
	if i := bytes.LastIndexByte(pod, '-'); i >= 0 {
		kind = pod[:i]
	}
	return (*a.verdicts.Load())[string(kind)]
}

// scratch is a request's answers, one per name, looked up once for both passes over them.
type scratch struct{ answers []*answer }

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// lookup returns the answer for each name (nil: none) in a scratch to give back.
func (a *policyAnswers) lookup(pod []byte, names [][]byte) *scratch {
	answers, sc := a.of(pod), scratches.Get().(*scratch)
	sc.answers = sc.answers[:0]
	for _, name := range names {
		sc.answers = append(sc.answers, answers[string(name)])
	}
	return sc
}

// AppendFilter passes the nodes that fit the pod and refuses the others, in
// FailedAndUnresolvableNodes with the policy's reason, as rktsched-extender does; a node or
// pod without an answer passes.
func (a *policyAnswers) AppendFilter(b, pod []byte, names [][]byte) []byte {
	sc := a.lookup(pod, names)
	defer scratches.Put(sc)
	b = append(b, `{"Nodes":null,"NodeNames":[`...)
	first := true
	for i, name := range names {
		if an := sc.answers[i]; an == nil || an.fits {
			b = noopextender.AppendName(b, name, first)
			first = false
		}
	}
	b = append(b, `],"FailedNodes":{},"FailedAndUnresolvableNodes":{`...)
	first = true
	for i, name := range names {
		if an := sc.answers[i]; an != nil && !an.fits {
			b = noopextender.AppendName(b, name, first)
			b = append(b, ':')
			b = append(b, an.reason...)
			first = false
		}
	}
	return append(b, `},"Error":""}`...)
}

// AppendPrioritize scores the nodes as rktsched-extender does: the policy's score where the
// pod fits, 0 elsewhere, less the lowest, the nodes left at 0 not listed.
func (a *policyAnswers) AppendPrioritize(b, pod []byte, names [][]byte) []byte {
	sc := a.lookup(pod, names)
	defer scratches.Put(sc)
	score := func(i int) int64 {
		if an := sc.answers[i]; an != nil {
			return an.score
		}
		return 0
	}
	lowest := int64(policy.MaxScore)
	for i := range names {
		lowest = min(lowest, score(i))
	}
	b = append(b, '[')
	first := true
	for i, name := range names {
		if s := score(i) - lowest; s > 0 {
			if !first {
				b = append(b, ',')
			}
			b = append(b, `{"Host":"`...)
			b = append(b, name...)
			b = append(b, `","Score":`...)
			b = strconv.AppendInt(b, s, 10)
			b = append(b, '}')
			first = false
		}
	}
	return append(b, ']')
}
