package extender

import (
	"encoding/json"
	"errors"

	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

// reference answers the way a straightforward extender would: encoding/json into the
// extender/v1 types, policy.Profile on each decoded Node, encoding/json out. The extender
// must give the same answers (tests decode both and compare), only faster.
type reference struct {
	policy *policy.Policy
	nodes  *NodeCache // nil: standalone
}

var errReference = errors.New("reference refuses the request")

func (r reference) args(body []byte) (*extenderv1.ExtenderArgs, *policy.Analysis, error) {
	var args extenderv1.ExtenderArgs
	if err := json.Unmarshal(body, &args); err != nil {
		return nil, nil, err
	}
	if args.Pod == nil || (args.Nodes == nil) == (args.NodeNames == nil) || (args.NodeNames != nil && r.nodes == nil) {
		return nil, nil, errReference
	}
	return &args, r.policy.Analyze(args.Pod), nil
}

// judge returns the verdict on a named node from the node cache; nil if it is not there.
func (r reference) judgeName(a *policy.Analysis, name string) *policy.Verdict {
	np, ok := r.nodes.Lookup(r.policy, name)
	if !ok {
		return nil
	}
	return a.Verdict(np.Class)
}

func (r reference) filter(body []byte) (*extenderv1.ExtenderFilterResult, error) {
	args, a, err := r.args(body)
	if err != nil {
		return nil, err
	}
	res := &extenderv1.ExtenderFilterResult{
		FailedNodes:                extenderv1.FailedNodesMap{},
		FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{},
	}
	if args.NodeNames != nil {
		passed := []string{}
		for _, name := range *args.NodeNames {
			switch v := r.judgeName(a, name); {
			case v == nil:
				res.FailedNodes[name] = notCachedReason
			case v.Fits:
				passed = append(passed, name)
			default:
				res.FailedAndUnresolvableNodes[name] = v.Reason
			}
		}
		res.NodeNames = &passed
		return res, nil
	}
	res.Nodes = &v1.NodeList{}
	for _, n := range args.Nodes.Items {
		if v := a.Verdict(r.policy.Profile(&n).Class); v.Fits {
			res.Nodes.Items = append(res.Nodes.Items, n)
		} else {
			res.FailedAndUnresolvableNodes[n.Name] = v.Reason
		}
	}
	return res, nil
}

func (r reference) prioritize(body []byte) (extenderv1.HostPriorityList, error) {
	args, a, err := r.args(body)
	if err != nil {
		return nil, err
	}
	out := extenderv1.HostPriorityList{}
	if args.NodeNames != nil {
		for _, name := range *args.NodeNames {
			hp := extenderv1.HostPriority{Host: name}
			if v := r.judgeName(a, name); v != nil && v.Fits {
				hp.Score = v.Score
			}
			out = append(out, hp)
		}
		return relative(out), nil
	}
	for _, n := range args.Nodes.Items {
		hp := extenderv1.HostPriority{Host: n.Name}
		if v := a.Verdict(r.policy.Profile(&n).Class); v.Fits {
			hp.Score = v.Score
		}
		out = append(out, hp)
	}
	return relative(out), nil
}

// relative takes the lowest score off every node and drops the nodes left at 0: the same
// decisions for kube-scheduler, which adds the scores to its own.
func relative(list extenderv1.HostPriorityList) extenderv1.HostPriorityList {
	if len(list) == 0 {
		return list
	}
	lowest := list[0].Score
	for _, hp := range list {
		lowest = min(lowest, hp.Score)
	}
	out := extenderv1.HostPriorityList{}
	for _, hp := range list {
		if hp.Score > lowest {
			out = append(out, extenderv1.HostPriority{Host: hp.Host, Score: hp.Score - lowest})
		}
	}
	return out
}

// preempt keeps the nodes the cache knows the pod fits on and, in standalone mode only,
// the nodes it does not know.
func (r reference) preempt(body []byte) (*extenderv1.ExtenderPreemptionResult, error) {
	var args extenderv1.ExtenderPreemptionArgs
	if err := json.Unmarshal(body, &args); err != nil {
		return nil, err
	}
	if args.Pod == nil || (args.NodeNameToVictims != nil && args.NodeNameToMetaVictims != nil) {
		return nil, errReference
	}
	a := r.policy.Analyze(args.Pod)
	keep := func(name string) bool {
		if r.nodes == nil {
			return true
		}
		v := r.judgeName(a, name)
		return v != nil && v.Fits
	}
	res := &extenderv1.ExtenderPreemptionResult{NodeNameToMetaVictims: map[string]*extenderv1.MetaVictims{}}
	for name, mv := range args.NodeNameToMetaVictims {
		if keep(name) {
			res.NodeNameToMetaVictims[name] = mv
		}
	}
	for name, victims := range args.NodeNameToVictims {
		if victims == nil {
			return nil, errReference // kube-scheduler itself would crash on it
		}
		mv := &extenderv1.MetaVictims{Pods: []*extenderv1.MetaPod{}, NumPDBViolations: victims.NumPDBViolations}
		for _, p := range victims.Pods {
			if p == nil {
				return nil, errReference
			}
			mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: string(p.UID)})
		}
		if keep(name) {
			res.NodeNameToMetaVictims[name] = mv
		}
	}
	return res, nil
}
