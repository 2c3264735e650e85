package main

import (
	"fmt"
	"maps"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// gpusPerGPUNode is the allocatable nvidia.com/gpu of every twentieth Docker node: 50
// such nodes among 1000 hold 200 GPUs for the 50 GPU pods of 1000.
const gpusPerGPUNode = 4

// benchNode is node i as its kubelet would register it: prodlike.Node (half Docker, half rkt
// across the stage1 flavours) without what the API server assigns, and GPUs on every
// twentieth Docker node.
func benchNode(i int) *v1.Node {
	n := prodlike.Node(i)
	n.UID, n.ResourceVersion, n.CreationTimestamp = "", "", metav1.Time{}
	if i%40 == 0 { // even: Docker
		gpus := *resource.NewQuantity(gpusPerGPUNode, resource.DecimalSI)
		n.Status.Capacity[cluster.GPUResource] = gpus
		n.Status.Allocatable[cluster.GPUResource] = gpus
	}
	return n
}

// podKinds is the workload's mix, one in twenty pods of each special kind. The other pods
// ("plain") run anywhere but on stage1-fly, which would give them the host's namespaces.
var podKinds = []string{"init-containers", "attach", "host-pid", "gpu"}

// kindOf is the kind of pod i: one of podKinds, or "plain".
func kindOf(i int) string {
	if k := i % 20; k < len(podKinds) {
		return podKinds[k]
	}
	return "plain"
}

// benchPod is pod i of the workload: a realistic Deployment pod (two containers, probes,
// requests) with an emptyDir cache, changed to need what its kind says.
func benchPod(i int) *v1.Pod {
	kind := kindOf(i)
	p := prodlike.Pod("app-"+kind, i)
	p.Namespace, p.UID, p.ResourceVersion, p.OwnerReferences = "", "", "", nil
	p.Status = v1.PodStatus{}
	p.Spec.ServiceAccountName = "" // the namespace's default
	// prodlike.Pod's hostPath cache would keep every pod off rkt.
	p.Spec.Volumes[0].VolumeSource = v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}
	app := &p.Spec.Containers[0]
	switch kind {
	case "init-containers":
		p.Spec.InitContainers = []v1.Container{{Name: "migrate", Image: app.Image, Command: []string{"/migrate"}}}
	case "attach":
		app.Stdin, app.TTY = true, true
	case "host-pid":
		p.Spec.HostPID = true
	case "gpu":
		one := resource.MustParse("1")
		app.Resources.Requests = maps.Clone(app.Resources.Requests) // shared with the sidecar
		app.Resources.Requests[cluster.GPUResource] = one
		app.Resources.Limits[cluster.GPUResource] = one
	}
	p.Name = fmt.Sprintf("%s-%05d", kind, i)
	return p
}

// hardNeedsAsAffinity is a copy of pod that asks, by a required node affinity, for the
// capability label of every need that filters under p: the nodes rktsched would refuse, refused
// by kube-scheduler's NodeAffinity plugin instead.
func hardNeedsAsAffinity(p *policy.Policy, pod *v1.Pod) *v1.Pod {
	out := pod.DeepCopy()
	var exprs []v1.NodeSelectorRequirement
	for _, n := range p.Analyze(pod).Needs {
		if !n.Soft && p.Action(n.Capability) == policy.ActionFilter {
			exprs = append(exprs, v1.NodeSelectorRequirement{Key: policy.CapabilityLabel(n.Capability), Operator: v1.NodeSelectorOpIn, Values: []string{"true"}})
		}
	}
	if len(exprs) > 0 {
		out.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: exprs}}},
		}}
	}
	return out
}
