package extender

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

func TestPrioritizeCapabilityMatrix(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	eachMatrixCase(t, nodes, func(t *testing.T, _ string, tc verdictCase, body []byte) {
		var got extenderv1.HostPriorityList
		decodeOK(t, serve(t, s, http.MethodPost, "prioritize", body), &got)
		// The matrix's scores, made relative, in the order asked.
		var absolute extenderv1.HostPriorityList
		for _, name := range names(nodes) {
			absolute = append(absolute, extenderv1.HostPriority{Host: name, Score: tc.scores[name]})
		}
		if diff := cmp.Diff(relative(absolute), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
	})
}

// TestPrioritizeScoresInRange sends every matrix pod against realistic nodes (all classes)
// and checks each score is within 0..10 and equal to the reference's.
func TestPrioritizeScoresInRange(t *testing.T) {
	nodes := benchNodes(40)
	s := newTestServer(t, false, nodes...)
	ref := reference{policy: s.store.Load(), nodes: s.nodes}
	eachMatrixCase(t, nodes, func(t *testing.T, _ string, _ verdictCase, body []byte) {
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

// TestPrioritizeListsOnlyNodesAboveTheLowest: a pod without soft needs scores the same on
// every node it fits, so the answer is empty; a node the cache has not seen scores 0, which
// leaves the known ones their full score.
func TestPrioritizeListsOnlyNodesAboveTheLowest(t *testing.T) {
	s := newTestServer(t, false, matrixNodes()...)
	for _, tc := range []struct {
		name  string
		asked []string
		want  extenderv1.HostPriorityList
	}{
		{"all alike", []string{docker, coreos}, extenderv1.HostPriorityList{}},
		{"one node unknown", []string{docker, "new-node", coreos},
			extenderv1.HostPriorityList{{Host: docker, Score: 10}, {Host: coreos, Score: 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := mustJSON(extenderv1.ExtenderArgs{Pod: pod("p", nil), NodeNames: &tc.asked})
			rec := serve(t, s, http.MethodPost, "prioritize", body)
			var got extenderv1.HostPriorityList
			decodeOK(t, rec, &got)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if len(tc.want) == 0 && rec.Body.String() != "[]" {
				t.Errorf("body %q, want []", rec.Body)
			}
		})
	}
}
