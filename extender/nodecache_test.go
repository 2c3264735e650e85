package extender

import (
	"context"
	"net/http"
	"reflect"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
)

// TestNamesModeUsesTheInformerCache drives the node cache with a fake API server: names
// requests are judged from what the informer saw, and follow node changes.
func TestNamesModeUsesTheInformerCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	big := prodlike.Node(1) // an rkt node with 20 images, conditions, ...
	big.Name, big.ResourceVersion = "big", ""
	big.Labels[policy.LabelRuntime] = "rkt" // as the labeler writes it
	client := fake.NewClientset(node(docker, "docker://1.12.6", ""), node(coreos, "rkt://1.29.0", ""), big)
	nodes, err := NewNodeCache(client)
	if err != nil {
		t.Fatal(err)
	}
	nodes.Start(ctx)
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: nodes, PodCacheTTL: time.Minute,
		MaxBodyBytes: DefaultMaxBodyBytes, Ready: func() error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node cache to sync", nodes.HasSynced)

	init := pod("init", func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i", Image: "x:1"}} })
	asked := []string{docker, coreos, "late"}
	filter := func() *extenderv1.ExtenderFilterResult {
		t.Helper()
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", mustJSON(extenderv1.ExtenderArgs{Pod: init, NodeNames: &asked})), &res)
		return &res
	}
	res := filter()
	if diff := cmp.Diff([]string{docker}, passedNames(res)); diff != "" {
		t.Errorf("passed (-want +got):\n%s", diff)
	}
	if _, ok := res.FailedNodes["late"]; !ok {
		t.Errorf("FailedNodes = %v, want the node not created yet", res.FailedNodes)
	}

	// The informer stores entries: only what the policy reads of a Node.
	obj, ok, err := nodes.factory.Core().V1().Nodes().Informer().GetStore().GetByKey("big")
	if err != nil || !ok {
		t.Fatalf("big node not in the informer store: %v", err)
	}
	e, ok := obj.(*nodeEntry)
	if !ok {
		t.Fatalf("the informer stores a %T, want *nodeEntry", obj)
	}
	if in := e.Inputs(); in.RuntimeVersion != "rkt://1.29.0" || in.Labels[policy.LabelRuntime] != "" || in.Labels[v1.LabelTopologyZone] == "" || len(e.Labels) != 0 {
		t.Errorf("stored entry: runtime %q, labels %v, meta labels %v: want the runtime, others' labels kept, rktsched's dropped, once", in.RuntimeVersion, in.Labels, e.Labels)
	}
	if e != nodes.nodes["big"].entry {
		t.Errorf("the informer's store and the cache hold different entries for one node")
	}

	// A node created later is judged once the informer sees it; a Docker node that turns
	// into an rkt node is refused; a deleted node is unknown again.
	if _, err := client.CoreV1().Nodes().Create(ctx, node("late", "containerd://2.1.0", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := node(docker, "rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0")
	d.ResourceVersion = "2"
	if _, err := client.CoreV1().Nodes().Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Nodes().Delete(ctx, coreos, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cache to follow the changes", func() bool {
		_, lateOK := nodes.Lookup(policy.Default(), "late")
		_, coreosOK := nodes.Lookup(policy.Default(), coreos)
		np, _ := nodes.Lookup(policy.Default(), docker)
		return lateOK && !coreosOK && np.Class.Stage1 == "kvm"
	})
	res = filter()
	want := &extenderv1.ExtenderFilterResult{
		NodeNames:                  &[]string{"late"},
		FailedNodes:                extenderv1.FailedNodesMap{coreos: notCachedReason},
		FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{docker: "rkt stage1-kvm lacks init-containers"},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("answer after the changes (-want +got):\n%s", diff)
	}
	if nodes.Len() != 3 {
		t.Errorf("cache holds %d nodes, want 3", nodes.Len())
	}
}

// TestNodeCacheKeepsProfilesAcrossHeartbeats: updates that change nothing the policy reads
// (heartbeats, rktsched's own labels) keep the node's profile and share its labels.
func TestNodeCacheKeepsProfilesAcrossHeartbeats(t *testing.T) {
	c := staticNodeCache(node(coreos, "rkt://1.29.0", ""))
	p := policy.Default()
	first, _ := c.Lookup(p, coreos)
	e := c.nodes[coreos].entry
	heartbeat := node(coreos, "rkt://1.29.0", "")
	heartbeat.ResourceVersion = "2"
	heartbeat.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}
	c.update(heartbeat)
	labelled := node(coreos, "rkt://1.29.0", "")
	labelled.ResourceVersion = "3"
	labelled.Labels[policy.LabelRuntime] = "rkt"
	c.update(labelled)
	kept := c.nodes[coreos].entry
	if kept.ResourceVersion != "3" {
		t.Errorf("entry at resourceVersion %q, want 3", kept.ResourceVersion)
	}
	if kept.Profiled != e.Profiled {
		t.Errorf("a heartbeat or a label of rktsched's dropped the node's profile; want it kept")
	}
	if reflect.ValueOf(kept.Inputs().Labels).UnsafePointer() != reflect.ValueOf(e.Inputs().Labels).UnsafePointer() {
		t.Errorf("unchanged labels are kept twice; want the previous entry's map shared")
	}
	if unsafe.StringData(kept.Name) != unsafe.StringData(e.Name) || unsafe.StringData(e.Name) == unsafe.StringData(heartbeat.Name) {
		t.Errorf("the map's key changed with an update, or is the decoded Node's; want one copy of the name kept")
	}
	changed := node(coreos, "rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0")
	changed.ResourceVersion = "4"
	c.update(changed)
	second, _ := c.Lookup(p, coreos)
	if first.Class.Stage1 != "coreos" || second.Class.Stage1 != "fly" {
		t.Errorf("stage1 %q then %q, want coreos then fly", first.Class.Stage1, second.Class.Stage1)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// BenchmarkNodeCacheMemory reports the live heap one cached node costs (bytes/node), for
// 5000 realistic nodes decoded from protobuf as the informer gets them, then labelled by
// the labeler and sent a heartbeat (each an update the cache sees).
func BenchmarkNodeCacheMemory(b *testing.B) {
	const n = 5000
	raw := make([][]byte, n)
	for i := range raw {
		nd := prodlike.Node(i)
		var err error
		if raw[i], err = nd.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
	classified := policy.Default() // the slots hold each node's profile under it
	update := func(c *NodeCache, data []byte, labelled bool) {
		var nd v1.Node
		if err := nd.Unmarshal(data); err != nil {
			b.Fatal(err)
		}
		if labelled {
			nd.Labels[policy.LabelRuntime] = "rkt"
			nd.ResourceVersion += "1"
		}
		c.update(&nd)
	}
	var perNode float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := &NodeCache{nodes: map[string]nodeSlot{}, classified: classified}
		for _, data := range raw {
			update(c, data, false)
			update(c, data, true)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perNode = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perNode, "bytes/node")
}

// TestNodeCacheSlotsFollowPolicy: a slot keeps its node's profile under the policy last
// classified; a lookup under another policy is answered by that policy all the same, and
// classifyAll moves every slot to the new one, nodes added after it included.
func TestNodeCacheSlotsFollowPolicy(t *testing.T) {
	first := policy.Default()
	c := staticNodeCache(node(coreos, "rkt://1.29.0", ""))
	c.classifyAll(first)
	second, err := policy.Parse(policy.DefaultDocument())
	if err != nil {
		t.Fatal(err)
	}
	names := []wire.Name{{Key: []byte(coreos)}, {Key: []byte("unknown")}}
	got := c.classes(second, names, nil)
	if len(got) != 2 || got[1] != nil || got[0] == nil || got[0] != second.Classes()[got[0].ID] || c.nodes[coreos].policy != first {
		t.Fatalf("classes under a policy not classified yet: %v (slot under the first policy: %v); want the second policy's class and nil", got, c.nodes[coreos].policy == first)
	}
	c.classifyAll(second)
	c.update(node(docker, "docker://1.12.6", ""))
	for _, name := range []string{coreos, docker} {
		if slot := c.nodes[name]; slot.policy != second || slot.profile.Class != second.Classes()[slot.profile.Class.ID] {
			t.Errorf("node %s: slot not profiled under the policy classified last", name)
		}
	}
	if got := c.classes(second, names[:1], nil); got[0].Stage1 != "coreos" {
		t.Errorf("class after classifyAll: %v, want rkt stage1-coreos", got[0])
	}
}
