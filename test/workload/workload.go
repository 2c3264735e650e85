// Package workload is the benchmarks' cluster and pods: nodes as their kubelets register them
// (Docker, rkt across the stage1 flavours, containerd with runtime handlers, GPUs) and
// realistic Deployment pods, one in twenty of each special kind.
package workload

import (
	"fmt"
	"maps"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// GPUsPerGPUNode is the allocatable nvidia.com/gpu of every twentieth Docker node: 50
// such nodes among 1000 hold 200 GPUs for the 50 GPU pods of 1000.
const GPUsPerGPUNode = 4

// Node is node i as its kubelet would register it: prodlike.Node (half Docker, half rkt
// across the stage1 flavours) without what the API server assigns, GPUs on every twentieth
// Docker node, and one node in ten a containerd 2.1 machine whose kubelet reports runtime
// handlers: runc and kata-qemu (i%20 == 5), or runc and runsc (i%20 == 15).
func Node(i int) *v1.Node {
	n := prodlike.Node(i)
	n.UID, n.ResourceVersion, n.CreationTimestamp = "", "", metav1.Time{}
	if i%10 == 5 {
		n.Status.NodeInfo.ContainerRuntimeVersion = "containerd://2.1.4"
		delete(n.Annotations, policy.AnnotationStage1Image)
		yes := true
		all := &v1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &yes, UserNamespaces: &yes}
		second := "kata-qemu"
		if i%20 == 15 {
			second = "runsc"
		}
		n.Status.RuntimeHandlers = []v1.NodeRuntimeHandler{{Name: "", Features: all}, {Name: "runc", Features: all}, {Name: second, Features: all}}
		n.Status.Features = &v1.NodeFeatures{SupplementalGroupsPolicy: &yes}
	}
	if i%40 == 0 { // even: Docker
		gpus := *resource.NewQuantity(GPUsPerGPUNode, resource.DecimalSI)
		n.Status.Capacity[cluster.GPUResource] = gpus
		n.Status.Allocatable[cluster.GPUResource] = gpus
	}
	return n
}

// Kinds is the workload's mix, one in twenty pods of each special kind. The other pods
// ("plain") run anywhere but on stage1-fly, which would give them the host's namespaces.
// "kata" pods name the RuntimeClass kata (RuntimeClass): the runsc nodes, which report
// handlers but not kata-qemu, refuse them too.
var Kinds = []string{"init-containers", "attach", "host-pid", "gpu", "kata"}

// RuntimeClass is the RuntimeClass the kata pods name.
var RuntimeClass = &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata-qemu"}

// Objects are the objects the workload's pods name, as the policy reads them.
var Objects = policy.NewObjectSet(RuntimeClass)

// KindOf is the kind of pod i: one of Kinds, or "plain".
func KindOf(i int) string {
	if k := i % 20; k < len(Kinds) {
		return Kinds[k]
	}
	return "plain"
}

// Pod is pod i of the workload: a realistic Deployment pod (two containers, probes,
// requests) with an emptyDir cache, changed to need what its kind says.
func Pod(i int) *v1.Pod {
	kind := KindOf(i)
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
	case "kata":
		p.Spec.RuntimeClassName = &RuntimeClass.Name
	case "gpu":
		one := resource.MustParse("1")
		app.Resources.Requests = maps.Clone(app.Resources.Requests) // shared with the sidecar
		app.Resources.Requests[cluster.GPUResource] = one
		app.Resources.Limits[cluster.GPUResource] = one
	}
	p.Name = fmt.Sprintf("%s-%05d", kind, i)
	return p
}

// HardNeedsAsAffinity is a copy of pod that asks, by a required node affinity, for the
// capability label of every need that filters under p: the nodes rktsched would refuse, refused
// by kube-scheduler's NodeAffinity plugin instead.
//
// A pod naming a RuntimeClass also needs its handler where nodes report handlers: in this
// workload the nodes that report handlers without kata-qemu are those offering runsc, so the
// kata pods ask for nodes without the handler.rktsched.io/runsc label (the capability labels
// say what a node offers the default handler, not the pod's).
func HardNeedsAsAffinity(p *policy.Policy, pod *v1.Pod) *v1.Pod {
	out := pod.DeepCopy()
	var exprs []v1.NodeSelectorRequirement
	for _, n := range p.AnalyzeWith(pod, Objects).Needs {
		if n.Capability == policy.RuntimeHandler {
			exprs = append(exprs, v1.NodeSelectorRequirement{Key: policy.HandlerLabel("runsc"), Operator: v1.NodeSelectorOpDoesNotExist})
			continue
		}
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
