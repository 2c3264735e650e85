package plugin

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// fakeHandle is the part of the framework's Handle the plugin uses.
type fakeHandle struct {
	fwk.Handle
	informers informers.SharedInformerFactory
	client    kubernetes.Interface

	mu        sync.Mutex // Activate may be called from the policy watch
	activated []map[string]*v1.Pod
}

const testProfile = "rktsched-scheduler"

func (h *fakeHandle) SharedInformerFactory() informers.SharedInformerFactory { return h.informers }
func (h *fakeHandle) ClientSet() kubernetes.Interface                        { return h.client }
func (h *fakeHandle) ProfileName() string                                    { return testProfile }
func (h *fakeHandle) Activate(_ klog.Logger, pods map[string]*v1.Pod) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.activated = append(h.activated, pods)
}

// activations returns the pods Activate was given, call by call.
func (h *fakeHandle) activations() []map[string]*v1.Pod {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.activated)
}

// testPlugin is a plugin deciding with p, on a store no source follows (tests Set it and
// call policyChanged).
func testPlugin(p *policy.Policy, h fwk.Handle) *Plugin {
	if h == nil {
		h = &fakeHandle{}
	}
	return newPlugin(h, &sharedPolicy{store: policy.NewStore(p)})
}

// classNodes are one node for each way a node may declare its runtime: every class of the
// default policy, rkt's default stage1 by annotation and without one, and a runtime no entry
// names.
var classNodes = []struct {
	name, runtime, stage1 string
	class                 string
}{
	{"docker-1", "docker://1.12.6", "", "docker"},
	{"containerd-1", "containerd://1.7.20", "", "containerd"},
	{"cri-o-1", "cri-o://1.30.0", "", "cri-o"},
	{"rkt-coreos-1", "rkt://1.29.0", "coreos.com/rkt/stage1-coreos:1.29.0", "rkt stage1-coreos"},
	{"rkt-default-1", "rkt://1.29.0", "", "rkt stage1-coreos"},
	{"rkt-kvm-1", "rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0", "rkt stage1-kvm"},
	{"rkt-fly-1", "rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0", "rkt stage1-fly"},
	{"frakti-1", "frakti://1.0", "", "unknown"},
}

func makeNode(name, runtime, stage1 string) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1", Labels: map[string]string{v1.LabelHostname: name}},
		Status:     v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: runtime}},
	}
	if stage1 != "" {
		n.Annotations = map[string]string{policy.AnnotationStage1Image: stage1}
	}
	return n
}

// allClassNodes returns classNodes as Nodes, failing if they miss a class of p or are not
// what the table says.
func allClassNodes(t *testing.T, p *policy.Policy) []*v1.Node {
	t.Helper()
	seen := map[string]bool{}
	var out []*v1.Node
	for _, cn := range classNodes {
		n := makeNode(cn.name, cn.runtime, cn.stage1)
		if got := p.Profile(n).Class.Name; got != cn.class {
			t.Fatalf("node %s is of class %q, the table says %q", cn.name, got, cn.class)
		}
		seen[cn.class] = true
		out = append(out, n)
	}
	for _, c := range p.Classes() {
		if !seen[c.Name] {
			t.Fatalf("no node of class %q", c.Name)
		}
	}
	return out
}

func nodeInfo(n *v1.Node) fwk.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(n)
	return ni
}

// caveatPods are the e2e suite's pods, one per known rkt issue, plus one that fits anywhere.
func caveatPods(t *testing.T) []*v1.Pod {
	t.Helper()
	files, err := cluster.LoadPods(filepath.Join("..", "..", cluster.PodsDir))
	if err != nil {
		t.Fatal(err)
	}
	pods := []*v1.Pod{plainPod("anywhere")}
	for _, f := range files {
		pods = append(pods, f.Pod)
	}
	return pods
}

// plainPod fits every node of the default policy: host networking leaves it without the
// namespace-isolation need (fly), nothing else in it needs a capability.
func plainPod(name string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{
			SchedulerName: testProfile,
			RestartPolicy: v1.RestartPolicyNever,
			HostNetwork:   true,
			Containers:    []v1.Container{{Name: "main", Image: "busybox:1.36", ImagePullPolicy: v1.PullIfNotPresent}},
		},
	}
}

func withInitContainer(p *v1.Pod) *v1.Pod {
	p = p.DeepCopy()
	p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36", ImagePullPolicy: v1.PullIfNotPresent}}
	return p
}

func pullingAlways(p *v1.Pod) *v1.Pod {
	p = p.DeepCopy()
	p.Spec.Containers[0].ImagePullPolicy = v1.PullAlways
	return p
}
