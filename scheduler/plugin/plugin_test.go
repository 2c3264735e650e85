package plugin

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/policy"
)

func TestPreFilter(t *testing.T) {
	tests := []struct {
		name        string
		pod         *v1.Pod
		wantSkip    bool
		wantRefuses bool
		wantDiffer  bool
	}{
		{name: "no needs: Filter and Score skipped", pod: plainPod("plain"), wantSkip: true},
		{name: "init containers: some nodes refuse", pod: withInitContainer(plainPod("init")), wantRefuses: true},
		{name: "pulls Always: nothing refuses, scores differ", pod: pullingAlways(plainPod("pull")), wantSkip: true, wantDiffer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := testPlugin(policy.Default(), nil)
			cs := framework.NewCycleState()
			res, st := pl.PreFilter(context.Background(), cs, tt.pod, nil)
			if res != nil {
				t.Errorf("PreFilterResult %+v, want nil (every node is a candidate)", res)
			}
			if got := st.IsSkip(); got != tt.wantSkip {
				t.Errorf("PreFilter status %v: skip %v, want %v", st, got, tt.wantSkip)
			}
			if !tt.wantSkip && !st.IsSuccess() {
				t.Errorf("PreFilter status %v, want success", st)
			}
			s, err := readState(cs)
			if err != nil {
				t.Fatal(err)
			}
			if s.refuses != tt.wantRefuses || s.scoresDiffer != tt.wantDiffer {
				t.Errorf("state refuses=%v scoresDiffer=%v, want %v %v", s.refuses, s.scoresDiffer, tt.wantRefuses, tt.wantDiffer)
			}
			if s.Clone() != s {
				t.Error("Clone copied the immutable state")
			}
			wantScoreSkip := !tt.wantDiffer
			if got := pl.PreScore(context.Background(), cs, tt.pod, nil); got.IsSkip() != wantScoreSkip {
				t.Errorf("PreScore %v, want skip %v", got, wantScoreSkip)
			}
		})
	}
}

func TestFilterWithoutPreFilter(t *testing.T) {
	pl := testPlugin(policy.Default(), nil)
	st := pl.Filter(context.Background(), framework.NewCycleState(), plainPod("p"), nodeInfo(makeNode("n", "docker://1", "")))
	if st.Code() != fwk.Error {
		t.Errorf("Filter without PreFilter state: %v, want an Error", st)
	}
}

// TestFilterAndScore: for every caveat pod and every class of node, Filter and Score say what
// the policy's verdict says, with its reason string unchanged.
func TestFilterAndScore(t *testing.T) {
	p := policy.Default()
	nodes := allClassNodes(t, p)
	for _, pod := range caveatPods(t) {
		t.Run(pod.Name, func(t *testing.T) {
			pl := testPlugin(p, nil)
			cs := framework.NewCycleState()
			if _, st := pl.PreFilter(context.Background(), cs, pod, nil); !st.IsSuccess() && !st.IsSkip() {
				t.Fatal(st)
			}
			a := p.Analyze(pod)
			for _, n := range nodes {
				v := a.Verdict(p.Profile(n).Class)
				st := pl.Filter(context.Background(), cs, pod, nodeInfo(n))
				if v.Fits {
					if !st.IsSuccess() {
						t.Errorf("%s: Filter %v, the policy says it fits", n.Name, st)
					}
				} else {
					want := fwk.NewStatus(fwk.UnschedulableAndUnresolvable, v.Reason)
					if st.Code() != want.Code() || st.Message() != v.Reason || v.Reason == "" {
						t.Errorf("%s: Filter %v %q, want %v %q", n.Name, st.Code(), st.Message(), want.Code(), v.Reason)
					}
					continue
				}
				score, st := pl.Score(context.Background(), cs, pod, nodeInfo(n))
				if !st.IsSuccess() {
					t.Fatal(st)
				}
				if want := v.Score * 10; score != want || score < 0 || score > fwk.MaxNodeScore {
					t.Errorf("%s: Score %d, want %d", n.Name, score, want)
				}
			}
		})
	}
}

func TestScoreRanksDockerFirstForPullAlways(t *testing.T) {
	pl := testPlugin(policy.Default(), nil)
	pod := pullingAlways(plainPod("pull"))
	cs := framework.NewCycleState()
	pl.PreFilter(context.Background(), cs, pod, nil)
	docker, _ := pl.Score(context.Background(), cs, pod, nodeInfo(makeNode("d", "docker://1", "")))
	rkt, _ := pl.Score(context.Background(), cs, pod, nodeInfo(makeNode("r", "rkt://1.29.0", "")))
	// image-pull-cache is a score capability of weight 3 that rkt lacks.
	if docker != fwk.MaxNodeScore || rkt != fwk.MaxNodeScore-30 {
		t.Errorf("scores docker %d, rkt %d; want %d, %d", docker, rkt, fwk.MaxNodeScore, fwk.MaxNodeScore-30)
	}
}

// len is how many Node objects the map holds.
func (n *nodeClasses) len() int {
	count := 0
	n.m.Range(func(_, _ any) bool { count++; return true })
	return count
}

// TestNodeClassCache: a node's class is worked out again only for a new Node object whose
// inputs changed, or another policy; a Node object the map does not hold is classified on
// the spot; the map holds only the Node objects the informer does.
func TestNodeClassCache(t *testing.T) {
	p := policy.Default()
	nc := newNodeClasses()
	n := makeNode("n", "rkt://1.29.0", "")
	if got := nc.classOf(p, n).Name; got != "rkt stage1-coreos" {
		t.Fatalf("class of a node never added: %q", got)
	}
	if nc.len() != 0 {
		t.Fatal("classOf kept a node the informer never added")
	}
	nc.add(n)
	e1, _ := nc.m.Load(n)
	if got := nc.classOf(p, n); got != e1.(*policy.Profiled).Profile(p).Class || got.Name != "rkt stage1-coreos" {
		t.Fatalf("class %q, not the one cached", got.Name)
	}
	heartbeat := n.DeepCopy()
	heartbeat.ResourceVersion = "2"
	heartbeat.Labels[policy.LabelRuntime] = "rkt" // the labeler's own: not an input
	nc.update(n, heartbeat)
	if e2, _ := nc.m.Load(heartbeat); e2 != e1 {
		t.Error("after a heartbeat the entry did not keep the inputs and profile")
	}
	if _, ok := nc.m.Load(n); ok || nc.len() != 1 {
		t.Errorf("the old Node object is still held (%d entries)", nc.len())
	}
	updated := heartbeat.DeepCopy()
	updated.Annotations = map[string]string{policy.AnnotationStage1Image: "coreos.com/rkt/stage1-fly:1.29.0"}
	nc.update(heartbeat, updated)
	if got := nc.classOf(p, updated).Name; got != "rkt stage1-fly" {
		t.Errorf("after the stage1 annotation changed: class %q, want rkt stage1-fly", got)
	}
	other, err := policy.Parse(policy.DefaultDocument())
	if err != nil {
		t.Fatal(err)
	}
	if got := nc.classOf(other, updated); got != other.Classes()[got.ID] {
		t.Error("a class of the previous policy was returned for a new one")
	}
	nc.forget(updated.Name)
	if nc.len() != 0 {
		t.Error("forget kept the entry")
	}
}

// TestNodeClassesFollowInformer: the plugin's node map is fed by the framework's node
// informer: an entry per node, moved on updates, gone on delete.
func TestNodeClassesFollowInformer(t *testing.T) {
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	h := &fakeHandle{informers: factory, client: client}
	pl := testPlugin(policy.Default(), h)
	if _, err := factory.Core().V1().Nodes().Informer().AddEventHandler(pl.nodeHandler()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	factory.Start(ctx.Done())
	nodes := client.CoreV1().Nodes()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) { return cond(), nil }); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}
	n := makeNode("n", "rkt://1.29.0", "")
	if _, err := nodes.Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	held := func(name, runtime string) func() bool {
		return func() bool {
			obj, ok, _ := factory.Core().V1().Nodes().Informer().GetStore().GetByKey(name)
			if !ok {
				return false
			}
			_, in := pl.nodes.m.Load(obj)
			return in && obj.(*v1.Node).Status.NodeInfo.ContainerRuntimeVersion == runtime && pl.nodes.len() == 1
		}
	}
	waitFor("the node's entry", held("n", "rkt://1.29.0"))
	n.Status.NodeInfo.ContainerRuntimeVersion = "docker://1.12.6"
	if _, err := nodes.Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the entry to move to the updated node", held("n", "docker://1.12.6"))
	if err := nodes.Delete(ctx, "n", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the entry to go", func() bool { return pl.nodes.len() == 0 })
}

func TestNodeHints(t *testing.T) {
	p := policy.Default()
	rkt := makeNode("n", "rkt://1.29.0", "coreos.com/rkt/stage1-coreos:1.29.0")
	heartbeat := rkt.DeepCopy()
	heartbeat.ResourceVersion = "2"
	heartbeat.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}
	ownLabels := rkt.DeepCopy()
	ownLabels.Labels[policy.LabelRuntime] = "rkt"
	toFly := rkt.DeepCopy()
	toFly.Annotations[policy.AnnotationStage1Image] = "coreos.com/rkt/stage1-fly:1.29.0"
	toDocker := rkt.DeepCopy()
	toDocker.Status.NodeInfo.ContainerRuntimeVersion = "docker://1.12.6"
	toDocker.Labels[policy.LabelRuntime] = "docker"
	// The runtime changed in a status update kube-scheduler sent no event for; the labeler's
	// label update follows.
	silentlyDocker := rkt.DeepCopy()
	silentlyDocker.Status.NodeInfo.ContainerRuntimeVersion = "docker://1.12.6"
	silentlyDocker.Labels[policy.LabelRuntime] = "rkt"
	relabelled := silentlyDocker.DeepCopy()
	relabelled.Labels[policy.LabelRuntime] = "docker"
	hostPID := plainPod("hostpid")
	hostPID.Spec.HostPID = true
	initPod := withInitContainer(plainPod("init"))

	tests := []struct {
		name     string
		pod      *v1.Pod
		old, new *v1.Node
		want     fwk.QueueingHint
	}{
		{"new docker node, init pod", initPod, nil, toDocker, fwk.Queue},
		{"new rkt node, init pod", initPod, nil, rkt, fwk.QueueSkip},
		{"heartbeat", initPod, rkt, heartbeat, fwk.QueueSkip},
		{"labeler's own labels, class unchanged", initPod, rkt, ownLabels, fwk.QueueSkip},
		{"coreos to fly, hostPID pod", hostPID, rkt, toFly, fwk.Queue},
		{"coreos to fly, init pod", initPod, rkt, toFly, fwk.QueueSkip},
		{"rkt to docker, init pod", initPod, rkt, toDocker, fwk.Queue},
		{"labeler's update after a silent runtime change", initPod, silentlyDocker, relabelled, fwk.Queue},
		{"unrelated label on a rkt node", initPod, rkt, withLabel(rkt, "team", "a"), fwk.QueueSkip},
		// Issue 26 item 8: the pod fitted the node's class before the change; a change of its
		// inputs that keeps it fitting frees nothing this plugin refused.
		{"unrelated label on a docker node the pod fitted", initPod, toDocker, withLabel(toDocker, "team", "a"), fwk.QueueSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := testPlugin(p, nil)
			logger, _ := ktesting.NewTestContext(t)
			var old any
			if tt.old != nil {
				old = tt.old
			}
			got, err := pl.isSchedulableAfterNodeChange(logger, tt.pod, old, tt.new)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("hint %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEventsToRegister(t *testing.T) {
	pl := testPlugin(policy.Default(), nil)
	evs, err := pl.EventsToRegister(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[fwk.EventResource]fwk.ActionType{}
	for _, ev := range evs {
		if ev.QueueingHintFn == nil {
			t.Errorf("%s registered without a hint", ev.Event.Resource)
		}
		got[ev.Event.Resource] = ev.Event.ActionType
	}
	want := map[fwk.EventResource]fwk.ActionType{
		fwk.Node:                        fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAnnotation,
		"runtimeclasses.v1.node.k8s.io": fwk.Add | fwk.Update,
		fwk.ResourceClaim:               fwk.Add | fwk.Update,
		fwk.DeviceClass:                 fwk.Add | fwk.Update,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got[fwk.Node]&(fwk.UpdateNodeCondition|fwk.UpdateNodeAllocatable|fwk.UpdateNodeTaint) != 0 {
		t.Errorf("registered %v: changes that never concern the runtime", got[fwk.Node])
	}
}

// TestPolicyChangeActivates: after a policy change, the pending pods of this profile that the
// old policy refused somewhere are activated, and no other pod.
func TestPolicyChangeActivates(t *testing.T) {
	initPod := withInitContainer(plainPod("init"))
	plain := plainPod("plain")
	// Refused by fly alone (it needs its own namespaces), before and after the edit: issue 26
	// item 8, a policy edit activated every pod the old policy refused anywhere.
	isolated := plainPod("isolated")
	isolated.Spec.HostNetwork = false
	bound := withInitContainer(plainPod("bound"))
	bound.Spec.NodeName = "docker-1"
	otherProfile := withInitContainer(plainPod("other"))
	otherProfile.Spec.SchedulerName = "default-scheduler"

	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	indexer := factory.Core().V1().Pods().Informer().GetIndexer()
	for _, pod := range []*v1.Pod{initPod, plain, isolated, bound, otherProfile} {
		if err := indexer.Add(pod); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range allClassNodes(t, policy.Default()) {
		if err := factory.Core().V1().Nodes().Informer().GetIndexer().Add(n); err != nil {
			t.Fatal(err)
		}
	}
	h := &fakeHandle{informers: factory}
	pl := testPlugin(policy.Default(), h)

	edited, err := policy.Parse([]byte(strings.Replace(string(policy.DefaultDocument()),
		"init-containers:       {action: filter, weight: 5}", "init-containers:       {action: ignore, weight: 5}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if edited.Digest() == policy.Default().Digest() {
		t.Fatal("the edit changed nothing; update the test")
	}
	pl.src.store.Set(edited)
	pl.policyChanged(policy.Default(), edited)
	if diff := cmp.Diff([]map[string]*v1.Pod{{"default/init": initPod}}, h.activations()); diff != "" {
		t.Errorf("activated (-want +got):\n%s", diff)
	}
}

func TestSignPod(t *testing.T) {
	pl := testPlugin(policy.Default(), nil)
	sign := func(pod *v1.Pod) string {
		t.Helper()
		frags, st := pl.SignPod(context.Background(), pod)
		if !st.IsSuccess() || len(frags) != 1 || frags[0].Key != signFragmentKey {
			t.Fatalf("SignPod: %v %+v", st, frags)
		}
		return frags[0].Value.(string)
	}
	a, b := plainPod("a"), plainPod("b")
	b.Spec.Containers[0].Image = "nginx:1.27"
	if sign(a) != sign(b) {
		t.Error("pods with the same needs signed differently")
	}
	for _, other := range []*v1.Pod{withInitContainer(a), pullingAlways(a)} {
		if sign(other) == sign(a) {
			t.Errorf("pod with needs %v signed like one without", policy.Default().Analyze(other).NeedNames())
		}
	}
	before := sign(withInitContainer(a))
	edited, err := policy.Parse(append(policy.DefaultDocument(), []byte("\n# edited\n")...))
	if err != nil {
		t.Fatal(err)
	}
	pl.src.store.Set(edited)
	if sign(withInitContainer(a)) == before {
		t.Error("the signature does not change with the policy")
	}
}

func TestDecodeArgs(t *testing.T) {
	tests := []struct {
		name    string
		obj     runtime.Object
		want    Args
		wantErr string
	}{
		{name: "none", obj: nil},
		{name: "empty", obj: &runtime.Unknown{}},
		{name: "json", obj: &runtime.Unknown{Raw: []byte(`{"policyConfigMapName":"p"}`), ContentType: runtime.ContentTypeJSON},
			want: Args{PolicyConfigMapName: "p"}},
		{name: "yaml", obj: &runtime.Unknown{Raw: []byte("policyFile: /etc/p.yaml\n"), ContentType: runtime.ContentTypeYAML},
			want: Args{PolicyFile: "/etc/p.yaml"}},
		{name: "misspelt", obj: &runtime.Unknown{Raw: []byte(`{"policyConfigMapNam":"p"}`)}, wantErr: "unknown field"},
		{name: "both", obj: &runtime.Unknown{Raw: []byte(`{"policyFile":"f","policyConfigMapName":"p"}`)}, wantErr: "exclusive"},
		{name: "not unknown", obj: &v1.Pod{}, wantErr: "runtime.Unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeArgs(tt.obj)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("args %+v, want %+v", got, tt.want)
			}
		})
	}
	if o := (Args{}).options(); o.Namespace != "rktsched-system" || o.Name != "rktsched-policy" {
		t.Errorf("default options %+v", o)
	}
}

func withLabel(n *v1.Node, k, v string) *v1.Node {
	n = n.DeepCopy()
	n.Labels[k] = v
	return n
}

// TestRuntimeClassActivates: a RuntimeClass the plugin's own informer sees activates the
// pending pods of the profile that name it, and no other.
func TestRuntimeClassActivates(t *testing.T) {
	naming := plainPod("naming")
	naming.Spec.RuntimeClassName = ptr.To("kata")
	other := plainPod("other")
	other.Spec.RuntimeClassName = ptr.To("gvisor")
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	for _, pod := range []*v1.Pod{naming, other, plainPod("none")} {
		if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(pod); err != nil {
			t.Fatal(err)
		}
	}
	h := &fakeHandle{informers: factory}
	pl := testPlugin(policy.Default(), h)
	pl.activateNaming("kata")
	if diff := cmp.Diff([]map[string]*v1.Pod{{"default/naming": naming}}, h.activated); diff != "" {
		t.Errorf("activated (-want +got):\n%s", diff)
	}
}
