package workload

import (
	"maps"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// TestWorkload checks the workload is what the README says: most pods fit every node but
// stage1-fly ones (which would put them in the host's namespaces), each special kind is
// refused by some nodes yet fits some, and the GPU nodes hold enough GPUs for the GPU pods.
func TestWorkload(t *testing.T) {
	const nodes, pods = 1000, 1000
	p := policy.Default()
	classes := map[*policy.Class]bool{}
	var gpus resource.Quantity
	for i := range nodes {
		n := Node(i)
		classes[p.Profile(n).Class] = true
		if q, ok := n.Status.Allocatable[cluster.GPUResource]; ok {
			gpus.Add(q)
		}
	}
	if len(classes) != 6 {
		t.Errorf("nodes fall in %d classes, want 6 (docker, rkt coreos, kvm, fly, containerd with kata-qemu, with runsc)", len(classes))
	}
	count := map[string]int{}
	var gpuPods int64
	for i := range pods {
		pod := Pod(i)
		kind := KindOf(i)
		count[kind]++
		if kind == "gpu" {
			gpuPods++
		}
		a := p.AnalyzeWith(pod, Objects)
		fits := 0
		for c := range classes {
			if a.Verdict(c).Fits {
				fits++
			}
		}
		switch {
		case kind == "plain" && fits != len(classes)-1:
			t.Errorf("pod %s (plain) fits %d of %d classes, want all but fly; needs %v", pod.Name, fits, len(classes), a.NeedNames())
		case kind != "plain" && (fits == 0 || fits == len(classes)):
			t.Errorf("pod %s (%s) fits %d of %d classes, want some but not all", pod.Name, kind, fits, len(classes))
		}
	}
	if count["plain"] != pods*15/20 {
		t.Errorf("%d plain pods of %d, want 75%%: %v", count["plain"], pods, count)
	}
	if gpus.Value() < gpuPods {
		t.Errorf("%d GPUs for %d GPU pods", gpus.Value(), gpuPods)
	}
	if _, ok := Node(0).Status.Allocatable[v1.ResourcePods]; !ok {
		t.Error("nodes lack allocatable pods")
	}
}

// The affinity mode's pods are refused by NodeAffinity on exactly the labelled nodes the
// policy refuses them.
func TestHardNeedsAsAffinity(t *testing.T) {
	p := policy.Default()
	var nodes []*v1.Node
	for i := range 40 {
		n := Node(i)
		maps.Copy(n.Labels, p.Profile(n).Labels())
		nodes = append(nodes, n)
	}
	for i := range 20 {
		pod := Pod(i)
		a := p.AnalyzeWith(pod, Objects)
		required := nodeaffinity.GetRequiredNodeAffinity(HardNeedsAsAffinity(p, pod))
		for _, n := range nodes {
			match, err := required.Match(n)
			if err != nil {
				t.Fatal(err)
			}
			if fits := a.Verdict(p.Profile(n).Class).Fits; match != fits {
				t.Errorf("pod %s on node %s: affinity matches %v, the policy says fits %v", pod.Name, n.Name, match, fits)
			}
		}
	}
}
