package extender

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// victimsOn gives every named node two victims and PDB violations that tell nodes apart.
func victimsOn(nodeNames []string) (map[string]*extenderv1.Victims, map[string]*extenderv1.MetaVictims) {
	full, meta := map[string]*extenderv1.Victims{}, map[string]*extenderv1.MetaVictims{}
	for i, n := range nodeNames {
		v := &extenderv1.Victims{NumPDBViolations: int64(i)}
		mv := &extenderv1.MetaVictims{NumPDBViolations: int64(i), Pods: []*extenderv1.MetaPod{}}
		for j := range 2 {
			uid := fmt.Sprintf("victim-%s-%d", n, j)
			v.Pods = append(v.Pods, &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uid, Namespace: "low", UID: types.UID(uid)}})
			mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: uid})
		}
		full[n], meta[n] = v, mv
	}
	return full, meta
}

// forms are the two ways kube-scheduler sends victims: full pods (nodeCacheCapable: false)
// or their UIDs (nodeCacheCapable: true).
var forms = []struct {
	name string
	args func(*v1.Pod, []string) []byte
}{
	{"victims", func(p *v1.Pod, nn []string) []byte {
		full, _ := victimsOn(nn)
		return mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToVictims: full})
	}},
	{"meta-victims", func(p *v1.Pod, nn []string) []byte {
		_, meta := victimsOn(nn)
		return mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToMetaVictims: meta})
	}},
}

func TestPreemptCapabilityMatrix(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	_, allMeta := victimsOn(names(nodes))
	for _, form := range forms {
		for _, tc := range matrixCases(t) {
			t.Run(form.name+"/"+tc.name, func(t *testing.T) {
				var got extenderv1.ExtenderPreemptionResult
				decodeOK(t, serve(t, s, http.MethodPost, "preempt", form.args(tc.pod, names(nodes))), &got)
				want := map[string]*extenderv1.MetaVictims{}
				for _, n := range nodes {
					if _, refused := tc.refused[n.Name]; !refused {
						want[n.Name] = allMeta[n.Name] // the victims, unchanged
					}
				}
				if diff := cmp.Diff(want, got.NodeNameToMetaVictims); diff != "" {
					t.Errorf("NodeNameToMetaVictims (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPreemptUnknownNodes: preempt judges only from the node cache. A node it has not seen
// is dropped, whatever a filter call said of it; in standalone mode, where nothing trusted
// says what a node runs, every node is dropped (issue 26, items 3 and 4: a node shown by a
// filter call was kept, a node too large to remember was kept, and any caller could make
// preempt keep a rkt node by describing it as docker under its name).
func TestPreemptUnknownNodes(t *testing.T) {
	gpu := pod("gpu", gpuPod)
	big := node("big-labels", "rkt://1.29.0", "")
	for i := range 160 { // node-feature-discovery's labels: over the 8 KiB remembered
		big.Labels[fmt.Sprintf("feature.node.kubernetes.io/cpu-cpuid.feature-%03d", i)] = "true"
	}
	tests := []struct {
		name       string
		standalone bool
		seen       []*v1.Node // shown by a full-Node filter first
		want       []string
	}{
		{"node cache: unknown dropped", false, nil, []string{docker}},
		{"node cache: seen by filter, still dropped", false, []*v1.Node{node("new-node", "docker://1.12.6", "")}, []string{docker}},
		{"node cache: a caller's docker description of a cached rkt node changes nothing", false, []*v1.Node{node(coreos, "docker://1.12.6", "")}, []string{docker}},
		{"standalone: every node dropped", true, nil, []string{}},
		{"standalone: a caller's docker description of a rkt node", true, []*v1.Node{node(coreos, "docker://1.12.6", "")}, []string{}},
		{"standalone: a node too large to remember", true, []*v1.Node{big}, []string{}},
	}
	for _, tt := range tests {
		for _, form := range forms {
			t.Run(tt.name+"/"+form.name, func(t *testing.T) {
				var cached []*v1.Node
				if !tt.standalone {
					cached = []*v1.Node{node(docker, "docker://1.12.6", ""), node(coreos, "rkt://1.29.0", "")}
				}
				s := newTestServer(t, tt.standalone, cached...)
				if tt.seen != nil {
					decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(gpu, tt.seen)), &extenderv1.ExtenderFilterResult{})
				}
				var got extenderv1.ExtenderPreemptionResult
				decodeOK(t, serve(t, s, http.MethodPost, "preempt", form.args(gpu, []string{docker, "new-node", coreos, big.Name})), &got)
				kept := []string{}
				for n := range got.NodeNameToMetaVictims {
					kept = append(kept, n)
				}
				if diff := cmp.Diff(tt.want, kept, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
					t.Errorf("kept nodes (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestPreemptAnswerMatchesReference(t *testing.T) {
	nodes := benchNodes(40)
	s := newTestServer(t, false, nodes...)
	ref := reference{policy: s.store.Load(), nodes: s.nodes}
	candidates := append(names(nodes), "not-a-node")
	for _, form := range forms {
		for _, tc := range matrixCases(t) {
			t.Run(form.name+"/"+tc.name, func(t *testing.T) {
				body := form.args(tc.pod, candidates)
				want, err := ref.preempt(body)
				if err != nil {
					t.Fatal(err)
				}
				var got extenderv1.ExtenderPreemptionResult
				decodeOK(t, serve(t, s, http.MethodPost, "preempt", body), &got)
				if diff := cmp.Diff(want, &got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("answer (-reference +extender):\n%s", diff)
				}
			})
		}
	}
}

func TestPreemptNoCandidates(t *testing.T) {
	s := newTestServer(t, false, matrixNodes()...)
	rec := serve(t, s, http.MethodPost, "preempt", mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: pod("p", nil)}))
	if rec.Code != http.StatusOK || rec.Body.String() != `{"NodeNameToMetaVictims":{}}` {
		t.Errorf("answer %d %s, want 200 with no candidates", rec.Code, rec.Body)
	}
}
