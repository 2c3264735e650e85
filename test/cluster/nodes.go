package cluster

import (
	"context"
	"fmt"
	"strconv"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rktsched/rktsched/policy"
)

// GPUResource is the extended resource fake GPU nodes offer.
const GPUResource v1.ResourceName = "nvidia.com/gpu"

// NodeSpec describes a fake node: what a kubelet on such a machine would report.
type NodeSpec struct {
	Name string
	// RuntimeVersion is status.nodeInfo.containerRuntimeVersion, e.g. "rkt://1.29.0".
	RuntimeVersion string
	// Stage1Image is the rktsched.io/stage1-image annotation (the kubelet's
	// --rkt-stage1-image); empty for none.
	Stage1Image string
	// GPUs is the node's allocatable nvidia.com/gpu.
	GPUs int64
	// Labels are extra labels the node starts with.
	Labels map[string]string
	// Annotations are extra annotations (rktsched.io/runtime-handlers, ...).
	Annotations map[string]string
	// Handlers and Features are status.runtimeHandlers and status.features, as a kubelet of
	// a runtime that reports them (containerd >= 2.0, CRI-O >= 1.30) writes them.
	Handlers []v1.NodeRuntimeHandler
	Features *v1.NodeFeatures
	// Taints keep pods that do not tolerate them off the node.
	Taints []v1.Taint
	// Class is what the default policy should make of the node ("docker",
	// "rkt stage1-kvm", ...): the tests check it, so that a change to the policy's node
	// profiles cannot silently change what the fake nodes stand for.
	Class string
}

// MixedNodes is the small mixed cluster of the e2e tests and the demo: Docker machines (one
// with GPUs) and rkt machines with every stage1 flavour, one rkt machine with a GPU too.
func MixedNodes() []NodeSpec {
	const docker, rkt = "docker://1.12.6", "rkt://1.29.0"
	return []NodeSpec{
		{Name: "docker-1", RuntimeVersion: docker, Class: "docker"},
		{Name: "docker-gpu-1", RuntimeVersion: docker, GPUs: 2, Class: "docker"},
		{Name: "rkt-coreos-1", RuntimeVersion: rkt, Stage1Image: "coreos.com/rkt/stage1-coreos:1.29.0", GPUs: 1, Class: "rkt stage1-coreos"},
		// No annotation: rkt's own default stage1 (coreos). It starts with stale and wrong
		// labels of ours, which the labeler must correct, and a label of someone else's,
		// which it must leave alone.
		{Name: "rkt-coreos-2", RuntimeVersion: rkt, Class: "rkt stage1-coreos", Labels: map[string]string{
			policy.LabelRuntime:                      "docker",
			policy.CapabilityLabel(policy.Attach):    "true",
			policy.CapabilityLabelPrefix + "retired": "true",
			"team.example.com/owner":                 "storage",
		}},
		{Name: "rkt-kvm-1", RuntimeVersion: rkt, Stage1Image: "coreos.com/rkt/stage1-kvm:1.29.0", Class: "rkt stage1-kvm"},
		{Name: "rkt-fly-1", RuntimeVersion: rkt, Stage1Image: "coreos.com/rkt/stage1-fly:1.29.0", Class: "rkt stage1-fly"},
	}
}

// Node returns the Node object a kubelet on such a machine would register: Ready, with
// allocatable CPU, memory, pods and GPUs.
func (s NodeSpec) Node(index int) *v1.Node {
	labels := map[string]string{
		v1.LabelHostname:   s.Name,
		v1.LabelOSStable:   "linux",
		v1.LabelArchStable: "amd64",
	}
	for k, v := range s.Labels {
		labels[k] = v
	}
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels},
		Status: v1.NodeStatus{
			Capacity:    resources(s.GPUs),
			Allocatable: resources(s.GPUs),
			Conditions: []v1.NodeCondition{{
				Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady",
				Message: "fake node: no kubelet runs", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
			}},
			Addresses: []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "10.0.0." + strconv.Itoa(10+index)}},
			NodeInfo: v1.NodeSystemInfo{
				ContainerRuntimeVersion: s.RuntimeVersion,
				KubeletVersion:          "v1.37.2",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
	if s.Stage1Image != "" {
		node.Annotations = map[string]string{policy.AnnotationStage1Image: s.Stage1Image}
	}
	for k, v := range s.Annotations {
		if node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		node.Annotations[k] = v
	}
	node.Status.RuntimeHandlers, node.Status.Features = s.Handlers, s.Features
	node.Spec.Taints = s.Taints
	return node
}

// HandlerPool labels and taints the handler nodes: only the pods that tolerate the taint and
// select the label (the handler test pods) go there, so that the mixed cluster's
// expectations hold beside them.
const HandlerPool = "rktsched.io/e2e-pool"

// HandlerNodes are containerd and CRI-O machines with several runtime handlers, reported in
// node status as their kubelets write them (or declared by annotation on a containerd 1.7):
// the "Today's runtimes" cluster of the e2e tests and the demo.
func HandlerNodes() []NodeSpec {
	t, f := true, false
	handler := func(name string, rro, userns bool) v1.NodeRuntimeHandler {
		return v1.NodeRuntimeHandler{Name: name, Features: &v1.NodeRuntimeHandlerFeatures{RecursiveReadOnlyMounts: &rro, UserNamespaces: &userns}}
	}
	pool := map[string]string{HandlerPool: "handlers"}
	taints := []v1.Taint{{Key: HandlerPool, Value: "handlers", Effect: v1.TaintEffectNoSchedule}}
	return []NodeSpec{
		{Name: "containerd-runc-1", RuntimeVersion: "containerd://2.1.4", Class: "containerd", Labels: pool, Taints: taints,
			Handlers: []v1.NodeRuntimeHandler{handler("", t, t), handler("runc", t, t)},
			Features: &v1.NodeFeatures{SupplementalGroupsPolicy: &t}},
		{Name: "containerd-kata-1", RuntimeVersion: "containerd://2.1.4", Class: "containerd", Labels: pool, Taints: taints,
			Handlers: []v1.NodeRuntimeHandler{handler("", t, t), handler("runc", t, t), handler("kata-qemu", t, f)},
			Features: &v1.NodeFeatures{SupplementalGroupsPolicy: &t}},
		{Name: "containerd-gvisor-1", RuntimeVersion: "containerd://2.1.4", Class: "containerd", Labels: pool, Taints: taints,
			Handlers: []v1.NodeRuntimeHandler{handler("", t, t), handler("runc", t, t), handler("runsc", f, f)},
			Features: &v1.NodeFeatures{SupplementalGroupsPolicy: &t}},
		{Name: "containerd-old-1", RuntimeVersion: "containerd://1.7.22", Class: "containerd", Labels: pool, Taints: taints,
			Annotations: map[string]string{policy.AnnotationRuntimeHandlers: "runc,kata-qemu"}},
	}
}

// HandlerRuntimeClasses are the RuntimeClasses of the handler cluster: kata (kata-qemu),
// gvisor (runsc) and wasm (spin, a shim no node has).
func HandlerRuntimeClasses() []*nodev1.RuntimeClass {
	var out []*nodev1.RuntimeClass
	for name, handler := range map[string]string{"kata": "kata-qemu", "gvisor": "runsc", "wasm": "spin"} {
		out = append(out, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: handler})
	}
	return out
}

// HandlerPodsDir holds one pod per "Today's runtimes" rule, relative to the repository.
const HandlerPodsDir = "test/testdata/handler-pods"

func resources(gpus int64) v1.ResourceList {
	rl := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse("4"),
		v1.ResourceMemory: resource.MustParse("8Gi"),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	if gpus > 0 {
		rl[GPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return rl
}

// CreateNodes creates the nodes, status included (the API server keeps the status a Node is
// created with, as when a kubelet registers).
func (c *Cluster) CreateNodes(ctx context.Context, specs []NodeSpec) error {
	for i, s := range specs {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, s.Node(i), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", s.Name, err)
		}
	}
	return nil
}

// Unlabelled counts the nodes that lack a label p gives them (or carry another value), and
// says what is wrong with one of them; it lists in pages of 500 Nodes.
func Unlabelled(ctx context.Context, client kubernetes.Interface, p *policy.Policy) (count int, example string, err error) {
	opts := metav1.ListOptions{Limit: 500}
	for {
		list, err := client.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return 0, "", err
		}
		for i := range list.Items {
			n := &list.Items[i]
			for k, v := range p.Profile(n).Labels() {
				if n.Labels[k] != v {
					if count == 0 {
						example = fmt.Sprintf("node %s: %s=%q, want %q", n.Name, k, n.Labels[k], v)
					}
					count++
					break
				}
			}
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return count, example, nil
		}
	}
}
