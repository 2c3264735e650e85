package extender

import (
	"bytes"
	"errors"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// reference answers the way a straightforward extender would: the request decoded in one
// go with the same library and options as the extender (wire.Unmarshal: encoding/json/v2
// semantics), policy.Profile on each decoded Node, the answer built from the extender/v1
// types. The extender must give the same answers, and refuse (400) exactly the requests the
// reference refuses: tests decode both and compare.
//
// Of a Node the reference decodes what the extender reads (refNode), not a whole v1.Node: the
// extender checks the fields it reads and skips the rest as JSON, as any decoder of a smaller
// type would. The Pod is decoded whole, by both.
type reference struct {
	policy *policy.Policy
	nodes  *NodeCache // nil: standalone
}

var errReference = errors.New("reference refuses the request")

// refNode is what the reference decodes of each Node.
type refNode struct {
	Metadata struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Status struct {
		NodeInfo struct {
			ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

func (n *refNode) node() *v1.Node {
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.Metadata.Name, Labels: n.Metadata.Labels, Annotations: n.Metadata.Annotations},
		Status:     v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: n.Status.NodeInfo.ContainerRuntimeVersion}},
	}
}

// refArgs is ExtenderArgs with each Node kept as its raw bytes too (the answer passes them).
type refArgs struct {
	Pod   *v1.Pod
	Nodes *struct {
		Items []jsontext.Value `json:"items"`
	}
	NodeNames *[]string
}

func (r reference) args(body []byte) (*refArgs, []refNode, *policy.Analysis, error) {
	var args refArgs
	if err := wire.Unmarshal(body, &args); err != nil {
		return nil, nil, nil, err
	}
	if args.Pod == nil || (args.Nodes == nil) == (args.NodeNames == nil) || (args.NodeNames != nil && r.nodes == nil) {
		return nil, nil, nil, errReference
	}
	var nodes []refNode
	if args.Nodes != nil {
		nodes = make([]refNode, len(args.Nodes.Items))
		for i, raw := range args.Nodes.Items {
			if err := wire.Unmarshal(raw, &nodes[i]); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return &args, nodes, r.policy.Analyze(args.Pod), nil
}

// judgeName returns the verdict on a named node from the node cache; nil if it is not there.
func (r reference) judgeName(a *policy.Analysis, name string) *policy.Verdict {
	np, ok := r.nodes.Lookup(r.policy, name)
	if !ok {
		return nil
	}
	return a.Verdict(np.Class)
}

// sameAnswer compares a reference answer with the extender's as the JSON means them: empty
// and absent lists and maps alike, and each Node passed through as its bytes, compared whole
// (cmp element by element spent minutes of the -race test run on them).
var sameAnswer = cmp.Options{cmpopts.EquateEmpty(), cmp.Comparer(func(a, b jsontext.Value) bool { return bytes.Equal(a, b) })}

// refFilterResult is ExtenderFilterResult with the passed Nodes as raw bytes.
type refFilterResult struct {
	Nodes *struct {
		Items []jsontext.Value `json:"items"`
	}
	NodeNames                  *[]string
	FailedNodes                extenderv1.FailedNodesMap
	FailedAndUnresolvableNodes extenderv1.FailedNodesMap
	Error                      string
}

func (r reference) filter(body []byte) (*refFilterResult, error) {
	args, nodes, a, err := r.args(body)
	if err != nil {
		return nil, err
	}
	res := &refFilterResult{
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
	res.Nodes = &struct {
		Items []jsontext.Value `json:"items"`
	}{Items: []jsontext.Value{}}
	for i := range nodes {
		if v := a.Verdict(r.policy.Profile(nodes[i].node()).Class); v.Fits {
			res.Nodes.Items = append(res.Nodes.Items, args.Nodes.Items[i])
		} else {
			res.FailedAndUnresolvableNodes[nodes[i].Metadata.Name] = v.Reason
		}
	}
	return res, nil
}

func (r reference) prioritize(body []byte) (extenderv1.HostPriorityList, error) {
	args, nodes, a, err := r.args(body)
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
	for i := range nodes {
		hp := extenderv1.HostPriority{Host: nodes[i].Metadata.Name}
		if v := a.Verdict(r.policy.Profile(nodes[i].node()).Class); v.Fits {
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

// refVictims is Victims with what the reference decodes of each pod: its UID.
type refVictims struct {
	Pods []*struct {
		Metadata struct {
			UID types.UID `json:"uid"`
		} `json:"metadata"`
	}
	NumPDBViolations int64
}

// preempt keeps the nodes the cache knows the pod fits on and, in standalone mode only,
// the nodes it does not know.
func (r reference) preempt(body []byte) (*extenderv1.ExtenderPreemptionResult, error) {
	var args struct {
		Pod                   *v1.Pod
		NodeNameToVictims     map[string]*refVictims
		NodeNameToMetaVictims map[string]*extenderv1.MetaVictims
	}
	if err := wire.Unmarshal(body, &args); err != nil {
		return nil, err
	}
	if args.Pod == nil || (args.NodeNameToVictims != nil && args.NodeNameToMetaVictims != nil) {
		return nil, errReference
	}
	a := r.policy.Analyze(args.Pod)
	keep := func(name string) bool {
		if r.nodes == nil {
			return false // standalone: nothing trusted says what the node runs
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
			mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: string(p.Metadata.UID)})
		}
		if keep(name) {
			res.NodeNameToMetaVictims[name] = mv
		}
	}
	return res, nil
}
