package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rktsched/rktsched/policy"
)

// TestMixedNodesClasses pins what each fake node stands for: if the policy's node profiles
// change, the fake machines must be changed on purpose, not silently reinterpreted.
func TestMixedNodesClasses(t *testing.T) {
	want := map[string]int{"docker": 2, "rkt stage1-coreos": 2, "rkt stage1-kvm": 1, "rkt stage1-fly": 1}
	got := map[string]int{}
	for i, spec := range MixedNodes() {
		node := spec.Node(i)
		class := policy.Default().Profile(node).Class.Name
		if class != spec.Class {
			t.Errorf("node %s: the default policy makes it %q, the spec says %q", spec.Name, class, spec.Class)
		}
		got[class]++
		if ready := node.Status.Conditions[0]; ready.Type != "Ready" || ready.Status != "True" {
			t.Errorf("node %s is not Ready: %+v", spec.Name, ready)
		}
		if _, ok := node.Status.Allocatable[GPUResource]; ok != (spec.GPUs > 0) {
			t.Errorf("node %s: allocatable %v, want %d GPUs", spec.Name, node.Status.Allocatable, spec.GPUs)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("nodes per class (-want +got):\n%s", diff)
	}
}
