package e2e

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// TestExpectations checks the hand-written table against the default policy and the pods'
// own constraints, so that a wrong expectation fails here and not as a puzzling e2e failure.
func TestExpectations(t *testing.T) {
	pods, err := cluster.LoadPods(filepath.Join("..", "..", cluster.PodsDir))
	if err != nil {
		t.Fatal(err)
	}
	p := policy.Default()
	seen := map[string]bool{}
	for _, pf := range pods {
		pod := pf.Pod
		seen[pod.Name] = true
		t.Run(pod.Name, func(t *testing.T) {
			want, ok := Expectations[pod.Name]
			if !ok {
				t.Fatalf("%s has no entry in Expectations", pf.Path)
			}
			analysis := p.Analyze(pod)
			var got, reasons []string
			for i, spec := range cluster.MixedNodes() {
				node := spec.Node(i)
				profile := p.Profile(node)
				// The labeler's labels are what the nodeSelectors select on.
				nodeLabels := labels.Merge(labels.Set(node.Labels), labels.Set(profile.Labels()))
				if !labels.SelectorFromSet(pod.Spec.NodeSelector).Matches(nodeLabels) || gpus(pod) > spec.GPUs {
					continue // kube-scheduler's own plugins refuse it; the extender is not asked
				}
				if v := analysis.Verdict(profile.Class); v.Fits {
					got = append(got, node.Name)
				} else {
					reasons = append(reasons, v.Reason)
				}
			}
			sort.Strings(got)
			wantNodes := append([]string(nil), want.Nodes...)
			sort.Strings(wantNodes)
			if diff := cmp.Diff(wantNodes, got); diff != "" {
				t.Errorf("nodes that can run %s (-want +got):\n%s", pod.Name, diff)
			}
			if (len(want.Nodes) == 0) != (want.Reason != "") {
				t.Errorf("a pod that stays Pending needs a Reason, and only such a pod: %+v", want)
			}
			if want.Reason != "" && !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, want.Reason) }) {
				t.Errorf("no refusal of a node the extender is asked about says %q; the policy's reasons: %q", want.Reason, reasons)
			}
		})
	}
	for name := range Expectations {
		if !seen[name] {
			t.Errorf("Expectations has %s, which is no pod in %s", name, cluster.PodsDir)
		}
	}
}

func gpus(pod *v1.Pod) int64 {
	var n int64
	for _, c := range pod.Spec.Containers {
		if q, ok := c.Resources.Limits[cluster.GPUResource]; ok {
			n += q.Value()
		}
	}
	return n
}

// TestHandlerExpectations checks HandlerExpectations against the default policy, the handler
// nodes and RuntimeClasses, as TestExpectations does for the rkt pods.
func TestHandlerExpectations(t *testing.T) {
	pods, err := cluster.LoadPods(filepath.Join("..", "..", cluster.HandlerPodsDir))
	if err != nil {
		t.Fatal(err)
	}
	objs := policy.NewObjectSet()
	for _, rc := range cluster.HandlerRuntimeClasses() {
		objs.Add(rc)
	}
	p := policy.Default()
	seen := map[string]bool{}
	for _, pf := range pods {
		pod := pf.Pod
		seen[pod.Name] = true
		t.Run(pod.Name, func(t *testing.T) {
			want, ok := HandlerExpectations[pod.Name]
			if !ok {
				t.Fatalf("%s has no entry in HandlerExpectations", pf.Path)
			}
			a := p.AnalyzeWith(pod, objs)
			var got, reasons []string
			for i, spec := range cluster.HandlerNodes() {
				node := spec.Node(i)
				if got := p.Profile(node).Class.Name; got != spec.Class {
					t.Fatalf("node %s is of class %q, the spec says %q", node.Name, got, spec.Class)
				}
				if v := a.Verdict(p.Profile(node).Class); v.Fits {
					got = append(got, node.Name)
				} else {
					reasons = append(reasons, v.Reason)
				}
			}
			sort.Strings(got)
			wantNodes := slices.Sorted(slices.Values(want.Nodes))
			if diff := cmp.Diff(wantNodes, got); diff != "" {
				t.Errorf("nodes that can run %s (-want +got):\n%s", pod.Name, diff)
			}
			if want.Reason != "" && !slices.ContainsFunc(reasons, func(r string) bool { return strings.Contains(r, want.Reason) }) {
				t.Errorf("no refusal says %q; the policy's reasons: %q", want.Reason, reasons)
			}
		})
	}
	for name := range HandlerExpectations {
		if !seen[name] {
			t.Errorf("HandlerExpectations has %s, which is no pod in %s", name, cluster.HandlerPodsDir)
		}
	}
}
