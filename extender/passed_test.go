package extender

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
)

// Prioritize takes the classes of the nodes filter passed when it is asked about exactly
// those names, in that order, for the same pod; otherwise it looks them up. A node that
// changed runtime in between shows which: its score is the one filter judged it by only in
// the first case.
func TestPrioritizeRecallsFilterClasses(t *testing.T) {
	const changed = "docker-b"
	nodes := []*v1.Node{node("docker-a", "docker://1.12.6", ""), node(changed, "docker://1.12.6", ""),
		node("coreos-c", "rkt://1.29.0", "coreos.com/rkt/stage1-coreos:1.29.0")}
	s := newTestServer(t, false, nodes...)
	asked := names(nodes)
	body := mustJSON(extenderv1.ExtenderArgs{Pod: runsOnRkt("incoming", 0), NodeNames: &asked})
	var filtered extenderv1.ExtenderFilterResult
	decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &filtered)
	if !slices.Equal(*filtered.NodeNames, asked) {
		t.Fatalf("filter passed %v, want all of %v", *filtered.NodeNames, asked)
	}
	s.nodes.update(node(changed, "rkt://1.29.0", "coreos.com/rkt/stage1-coreos:1.29.0"))

	prioritize := func(names []string) extenderv1.HostPriorityList {
		t.Helper()
		var got extenderv1.HostPriorityList
		decodeOK(t, serve(t, s, http.MethodPost, "prioritize",
			mustJSON(extenderv1.ExtenderArgs{Pod: runsOnRkt("incoming", 0), NodeNames: &names})), &got)
		return got
	}
	// The pod prefers Docker's restart back-off and OOM scores to rkt's: the Docker nodes are
	// listed, rkt's left at the lowest score.
	recalled := prioritize(*filtered.NodeNames)
	if !slices.ContainsFunc(recalled, func(hp extenderv1.HostPriority) bool { return hp.Host == changed }) {
		t.Errorf("prioritize after filter, same names: %v, want %s scored as the Docker node filter passed", recalled, changed)
	}
	reversed := slices.Clone(*filtered.NodeNames)
	slices.Reverse(reversed)
	looked := prioritize(reversed)
	want := extenderv1.HostPriorityList{{Host: "docker-a", Score: looked[0].Score}}
	if diff := cmp.Diff(want, looked, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("prioritize, names in another order (-want +got):\n%s", diff)
	}
	// Another pod's filter does not lend its classes.
	other := mustJSON(extenderv1.ExtenderArgs{Pod: runsOnRkt("other", 1), NodeNames: &asked})
	var scores extenderv1.HostPriorityList
	decodeOK(t, serve(t, s, http.MethodPost, "prioritize", other), &scores)
	if slices.ContainsFunc(scores, func(hp extenderv1.HostPriority) bool { return hp.Host == changed }) {
		t.Errorf("prioritize of a pod never filtered: %v, want %s scored as rkt", scores, changed)
	}
}

// runsOnRkt is a realistic Deployment pod whose cache is an emptyDir, not a hostPath that rkt
// would not create.
func runsOnRkt(name string, i int) *v1.Pod {
	p := prodlike.Pod(name, i)
	p.Spec.Volumes[0].VolumeSource = v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}
	return p
}

// The slots are reused in turn: the oldest pod's classes go first.
func TestPassedNodesSlots(t *testing.T) {
	p := newPassedNodes()
	pods := make([]*podEntry, passedSlots+1)
	for i := range pods {
		pods[i] = &podEntry{}
		h := p.hasher()
		h.add([]byte("n"))
		p.remember(pods[i], h.sum(), make([]*policy.Class, 1))
	}
	n := []wire.Name{{Key: []byte("n")}}
	if _, ok := p.recall(pods[0], n, nil); ok {
		t.Error("the oldest pod's classes were kept past the slots")
	}
	if got, ok := p.recall(pods[passedSlots], n, nil); !ok || len(got) != 1 {
		t.Errorf("the newest pod's classes: %v, %v", got, ok)
	}
	if _, ok := p.recall(pods[passedSlots], append(n, wire.Name{Key: []byte("m")}), nil); ok {
		t.Error("recalled for other names")
	}
}
