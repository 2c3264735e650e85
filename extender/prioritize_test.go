package extender

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

func scoresOf(list extenderv1.HostPriorityList) map[string]int64 {
	out := map[string]int64{}
	for _, hp := range list {
		out[hp.Host] = hp.Score
	}
	return out
}

func TestPrioritizeCapabilityMatrix(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	for _, mode := range modes {
		for _, tc := range matrixCases(t) {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				var got extenderv1.HostPriorityList
				decodeOK(t, serve(t, s, http.MethodPost, "prioritize", mode.args(tc.pod, nodes)), &got)
				if diff := cmp.Diff(tc.scores, scoresOf(got)); diff != "" {
					t.Errorf("scores (-want +got):\n%s", diff)
				}
				// One entry per node, in the order asked.
				if diff := cmp.Diff(names(nodes), hosts(got)); diff != "" {
					t.Errorf("hosts (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func hosts(list extenderv1.HostPriorityList) []string {
	out := []string{}
	for _, hp := range list {
		out = append(out, hp.Host)
	}
	return out
}

// TestPrioritizeScoresInRange sends every matrix pod against realistic nodes (all classes)
// and checks each score is within 0..10 and equal to the reference's.
func TestPrioritizeScoresInRange(t *testing.T) {
	nodes := benchNodes(40)
	s := newTestServer(t, false, nodes...)
	ref := reference{policy: s.store.Load(), nodes: s.nodes}
	for _, mode := range modes {
		for _, tc := range matrixCases(t) {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				body := mode.args(tc.pod, nodes)
				var got extenderv1.HostPriorityList
				decodeOK(t, serve(t, s, http.MethodPost, "prioritize", body), &got)
				for _, hp := range got {
					if hp.Score < extenderv1.MinExtenderPriority || hp.Score > extenderv1.MaxExtenderPriority {
						t.Errorf("%s scored %d, outside 0..10", hp.Host, hp.Score)
					}
				}
				want, err := ref.prioritize(body)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("answer (-reference +extender):\n%s", diff)
				}
			})
		}
	}
}

func TestPrioritizeUnknownNodeScoresZero(t *testing.T) {
	s := newTestServer(t, false, matrixNodes()...)
	asked := []string{docker, "new-node", coreos}
	body := mustJSON(extenderv1.ExtenderArgs{Pod: pod("p", nil), NodeNames: &asked})
	var got extenderv1.HostPriorityList
	decodeOK(t, serve(t, s, http.MethodPost, "prioritize", body), &got)
	want := extenderv1.HostPriorityList{{Host: docker, Score: 10}, {Host: "new-node", Score: 0}, {Host: coreos, Score: 10}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}
