package labeler

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2/ktesting"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
	"github.com/rktsched/rktsched/policysource"
)

// The default matrix as the design spells it out: what each runtime profile lacks.
var (
	coreosLacks = []policy.Capability{"attach", "init-containers", "gpu", "host-ipc", "host-pid",
		"hostpath-create", "subpath-create", "selinux-per-container", "oom-score-adj", "restart-backoff",
		"stdout-logs", "image-update-in-place", "image-pull-cache"}
	kvmLacks = append([]policy.Capability{"port-forward"}, coreosLacks...)
	flyLacks = []policy.Capability{"attach", "port-forward", "init-containers", "gpu", "namespace-isolation",
		"hostpath-create", "subpath-create", "selinux-per-container", "oom-score-adj", "restart-backoff",
		"stdout-logs", "image-update-in-place", "image-pull-cache"}
)

// allCapabilities is the design's list of capabilities, each of which gets a label.
var allCapabilities = []string{"attach", "port-forward", "init-containers", "gpu", "host-ipc", "host-pid",
	"namespace-isolation", "hostpath-create", "subpath-create", "selinux-per-container", "oom-score-adj",
	"restart-backoff", "stdout-logs", "image-update-in-place", "image-pull-cache",
	"host-network", "subpath", "selinux-labels", "user-namespaces", "recursive-read-only",
	"supplemental-groups-strict", "image-volumes", "raw-sockets", "runtime-handler"}

// unreported are what a node lacks when it reports no runtime handlers and features (every
// node of these tests), and image volumes, which only containerd >= 2.1 and CRI-O >= 1.31
// mount (none of these tests' runtimes).
var unreported = []policy.Capability{"user-namespaces", "recursive-read-only", "supplemental-groups-strict", "image-volumes"}

// labelsOf spells out the labels the design gives a node under the default policy.
func labelsOf(runtime, stage1, version string, lacks ...policy.Capability) map[string]string {
	m := map[string]string{"rktsched.io/runtime": runtime}
	if stage1 != "" {
		m["rktsched.io/stage1"] = stage1
	}
	if version != "" {
		m["rktsched.io/runtime-version"] = version
	}
	for _, c := range allCapabilities {
		m["capability.rktsched.io/"+c] = "true"
	}
	for _, c := range append(lacks, unreported...) {
		m["capability.rktsched.io/"+string(c)] = "false"
	}
	return m
}

// union returns the labels of all ms, later ones winning.
func union(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// sets turns labels into the labels part of a merge patch that sets them.
func sets(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// without returns labels minus keys.
func without(m map[string]string, keys ...string) map[string]string {
	out := union(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

type nodeOpt func(*v1.Node)

func withLabels(l map[string]string) nodeOpt { return func(n *v1.Node) { n.Labels = union(l) } }
func withStage1Image(image string) nodeOpt {
	return func(n *v1.Node) { n.Annotations = map[string]string{policy.AnnotationStage1Image: image} }
}

func newNode(name, runtimeVersion string, opts ...nodeOpt) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Status: v1.NodeStatus{
			NodeInfo:   v1.NodeSystemInfo{ContainerRuntimeVersion: runtimeVersion},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// write is an API call that changes something, in a form cmp can compare.
type write struct {
	Verb, Resource, Name string
	PatchType            types.PatchType
	Patch                map[string]any // decoded body
}

func labelPatch(node string, labels map[string]any) write {
	return write{Verb: "patch", Resource: "nodes", Name: node, PatchType: types.MergePatchType,
		Patch: map[string]any{"metadata": map[string]any{"labels": labels}}}
}

// writesOf keeps the actions that are not reads (sample-controller's filterInformerActions).
func writesOf(t *testing.T, actions []k8stesting.Action) []write {
	t.Helper()
	var out []write
	for _, a := range actions {
		switch a.GetVerb() {
		case "get", "list", "watch":
			continue
		}
		w := write{Verb: a.GetVerb(), Resource: a.GetResource().Resource}
		if p, ok := a.(k8stesting.PatchAction); ok {
			w.Name, w.PatchType = p.GetName(), p.GetPatchType()
			if err := json.Unmarshal(p.GetPatch(), &w.Patch); err != nil {
				t.Fatalf("patch %s is not JSON: %v", p.GetPatch(), err)
			}
		}
		out = append(out, w)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the workers and the test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSuffix(b.buf.String(), "\n"), "\n")
}

type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	factory  informers.SharedInformerFactory
	store    *policy.Store
	recorder *record.FakeRecorder
	reg      *prometheus.Registry
	out      *syncBuffer
	ctrl     *Controller
}

// newFixture makes a controller over a fake clientset holding nodes and objects. The nodes are
// also put in the informer's cache, so sync can be called without starting anything.
func newFixture(t *testing.T, p *policy.Policy, opts ControllerOptions, nodes []*v1.Node, objects ...runtime.Object) *fixture {
	t.Helper()
	if p == nil {
		p = policy.Default()
	}
	for _, n := range nodes {
		objects = append(objects, n.DeepCopy())
	}
	f := &fixture{
		t:        t,
		client:   fake.NewClientset(objects...),
		store:    policy.NewStore(p),
		recorder: record.NewFakeRecorder(100),
		reg:      prometheus.NewRegistry(),
		out:      &syncBuffer{},
	}
	f.factory = informers.NewSharedInformerFactory(f.client, 0)
	opts.Metrics = NewMetrics(f.reg)
	opts.Out = f.out
	ctrl, err := NewController(f.client, f.factory.Core().V1().Nodes(), f.store, f.recorder, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.ctrl = ctrl
	return f
}

// fillCache puts nodes in the informer's cache without starting it (sample-controller style).
func (f *fixture) fillCache(nodes ...*v1.Node) {
	for _, n := range nodes {
		if err := f.factory.Core().V1().Nodes().Informer().GetIndexer().Add(n); err != nil {
			f.t.Fatal(err)
		}
	}
}

// start runs the informers and the controller until the test ends.
func (f *fixture) start(workers int) {
	f.t.Helper()
	_, ctx := ktesting.NewTestContext(f.t)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	f.factory.Start(ctx.Done())
	go func() { done <- f.ctrl.Run(ctx, workers) }()
	f.t.Cleanup(func() {
		cancel()
		<-done
		f.factory.Shutdown()
	})
}

func (f *fixture) writes() []write { return writesOf(f.t, f.client.Actions()) }

func (f *fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// metric returns a counter's value, or a histogram's sample count.
func (f *fixture) metric(name string) float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if h := m.GetHistogram(); h != nil {
			return float64(h.GetSampleCount())
		}
		return m.GetCounter().GetValue()
	}
	f.t.Fatalf("metric %s not registered", name)
	return 0
}

func (f *fixture) nodeWrites() float64 { return f.metric("rktsched_labeler_node_writes_total") }
func (f *fixture) syncs() float64      { return f.metric("rktsched_labeler_sync_duration_seconds") }

// labelsInAPI returns a node's labels as the (fake) API server holds them.
func (f *fixture) labelsInAPI(name string) map[string]string {
	f.t.Helper()
	n, err := f.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return n.Labels
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestSync(t *testing.T) {
	docker := labelsOf("docker", "", "1.12.6")
	coreos := labelsOf("rkt", "coreos", "1.29.0", coreosLacks...)
	foreign := map[string]string{
		"kubernetes.io/hostname": "n1",
		"team":                   "blue",
		"rktsched.io/zone":       "a", // under our domain but not a key we own
	}
	twoCapabilities, err := policy.Parse([]byte(`
apiVersion: policy.rktsched.io/v1alpha1
kind: RuntimePolicy
capabilities:
  attach: {action: filter}
  gpu:    {action: filter}
runtimes:
- name: docker
  schemes: [docker]
`))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		policy *policy.Policy // nil: the built-in one
		node   *v1.Node
		// inAPI is false for a node the cache still has but the API server no longer does.
		notInAPI   bool
		notInCache bool
		wantWrites []write
		wantLabels map[string]string // in the API afterwards
		wantEvents []string
	}{
		{
			name:       "docker",
			node:       newNode("n1", "docker://1.12.6"),
			wantWrites: []write{labelPatch("n1", sets(docker))},
			wantLabels: docker,
		},
		{
			name:       "rkt without stage1 annotation is coreos",
			node:       newNode("n1", "rkt://1.29.0"),
			wantWrites: []write{labelPatch("n1", sets(coreos))},
			wantLabels: coreos,
		},
		{
			name:       "rkt kvm from the stage1-image annotation",
			node:       newNode("n1", "rkt://1.29.0", withStage1Image("coreos.com/rkt/stage1-kvm:1.29.0")),
			wantWrites: []write{labelPatch("n1", sets(labelsOf("rkt", "kvm", "1.29.0", kvmLacks...)))},
			wantLabels: labelsOf("rkt", "kvm", "1.29.0", kvmLacks...),
		},
		{
			name:       "rkt fly from the stage1-image annotation",
			node:       newNode("n1", "rkt://1.29.0", withStage1Image("coreos.com/rkt/stage1-fly:1.29.0")),
			wantWrites: []write{labelPatch("n1", sets(labelsOf("rkt", "fly", "1.29.0", flyLacks...)))},
			wantLabels: labelsOf("rkt", "fly", "1.29.0", flyLacks...),
		},
		{
			name:       "unknown runtime",
			node:       newNode("n1", "frakti://0.3.0"),
			wantWrites: []write{labelPatch("n1", sets(labelsOf("unknown", "", "0.3.0")))},
			wantLabels: labelsOf("unknown", "", "0.3.0"),
		},
		{
			name:       "no runtime version reported: unknown, no version label",
			node:       newNode("n1", ""),
			wantWrites: []write{labelPatch("n1", sets(labelsOf("unknown", "", "")))},
			wantLabels: labelsOf("unknown", "", ""),
		},
		{
			name:       "runtime version sanitised to a label value",
			node:       newNode("n1", "docker://1.13.1+rc1~ubuntu"),
			wantWrites: []write{labelPatch("n1", sets(labelsOf("docker", "", "1.13.1_rc1_ubuntu")))},
			wantLabels: labelsOf("docker", "", "1.13.1_rc1_ubuntu"),
		},
		{
			name:       "foreign labels untouched",
			node:       newNode("n1", "docker://1.12.6", withLabels(foreign)),
			wantWrites: []write{labelPatch("n1", sets(docker))},
			wantLabels: union(foreign, docker),
		},
		{
			name:       "labels up to date: zero writes",
			node:       newNode("n1", "docker://1.12.6", withLabels(union(foreign, docker))),
			wantLabels: union(foreign, docker),
		},
		{
			name:       "one owned label changed by hand is put back, alone",
			node:       newNode("n1", "rkt://1.29.0", withLabels(union(foreign, coreos, map[string]string{"capability.rktsched.io/gpu": "true"}))),
			wantWrites: []write{labelPatch("n1", map[string]any{"capability.rktsched.io/gpu": "false"})},
			wantLabels: union(foreign, coreos),
		},
		{
			name:       "stale capability label removed",
			node:       newNode("n1", "docker://1.12.6", withLabels(union(docker, map[string]string{"capability.rktsched.io/teleport": "true"}))),
			wantWrites: []write{labelPatch("n1", map[string]any{"capability.rktsched.io/teleport": nil})},
			wantLabels: docker,
		},
		{
			name:   "capabilities dropped from the policy lose their labels",
			policy: twoCapabilities,
			node:   newNode("n1", "docker://1.12.6", withLabels(union(foreign, docker))),
			wantWrites: []write{labelPatch("n1", func() map[string]any {
				m := map[string]any{}
				for _, c := range allCapabilities {
					if c != "attach" && c != "gpu" {
						m["capability.rktsched.io/"+c] = nil
					}
				}
				return m
			}())},
			wantLabels: union(foreign, map[string]string{
				"rktsched.io/runtime": "docker", "rktsched.io/runtime-version": "1.12.6",
				"capability.rktsched.io/attach": "true", "capability.rktsched.io/gpu": "true",
			}),
		},
		{
			name: "rkt to docker: loses the stage1 label, gains capabilities, Event",
			node: newNode("n1", "docker://1.12.6", withLabels(union(foreign, coreos))),
			wantWrites: []write{labelPatch("n1", func() map[string]any {
				m := map[string]any{"rktsched.io/runtime": "docker", "rktsched.io/runtime-version": "1.12.6", "rktsched.io/stage1": nil}
				for _, c := range coreosLacks {
					m["capability.rktsched.io/"+string(c)] = "true"
				}
				return m
			}())},
			wantLabels: union(foreign, docker),
			wantEvents: []string{"Normal RuntimeChanged runtime changed from rkt stage1-coreos to docker"},
		},
		{
			name: "docker to rkt after a re-install: Event",
			node: newNode("n1", "rkt://1.29.0", withLabels(docker)),
			wantWrites: []write{labelPatch("n1", func() map[string]any {
				m := map[string]any{"rktsched.io/runtime": "rkt", "rktsched.io/runtime-version": "1.29.0", "rktsched.io/stage1": "coreos"}
				for _, c := range coreosLacks {
					m["capability.rktsched.io/"+string(c)] = "false"
				}
				return m
			}())},
			wantLabels: coreos,
			wantEvents: []string{"Normal RuntimeChanged runtime changed from docker to rkt stage1-coreos"},
		},
		{
			name: "stage1 coreos to kvm: Event",
			node: newNode("n1", "rkt://1.29.0", withLabels(coreos), withStage1Image("coreos.com/rkt/stage1-kvm:1.29.0")),
			wantWrites: []write{labelPatch("n1", map[string]any{
				"rktsched.io/stage1": "kvm", "capability.rktsched.io/port-forward": "false",
			})},
			wantLabels: labelsOf("rkt", "kvm", "1.29.0", kvmLacks...),
			wantEvents: []string{"Normal RuntimeChanged runtime changed from rkt stage1-coreos to rkt stage1-kvm"},
		},
		{
			name:       "runtime upgrade: version label only, no Event",
			node:       newNode("n1", "docker://1.13.1", withLabels(docker)),
			wantWrites: []write{labelPatch("n1", map[string]any{"rktsched.io/runtime-version": "1.13.1"})},
			wantLabels: labelsOf("docker", "", "1.13.1"),
		},
		{
			name:       "node not in the cache: nothing to do",
			node:       newNode("n1", "docker://1.12.6"),
			notInCache: true,
			wantLabels: nil,
		},
		{
			name:       "node deleted from the API meanwhile: not an error",
			node:       newNode("n1", "docker://1.12.6"),
			notInAPI:   true,
			wantWrites: []write{labelPatch("n1", sets(docker))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			var inAPI []*v1.Node
			if !tt.notInAPI {
				inAPI = append(inAPI, tt.node)
			}
			f := newFixture(t, tt.policy, ControllerOptions{}, inAPI)
			if !tt.notInCache {
				f.fillCache(tt.node)
			}
			if err := f.ctrl.sync(ctx, tt.node.Name); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if diff := cmp.Diff(tt.wantWrites, f.writes()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
			if !tt.notInAPI {
				if diff := cmp.Diff(tt.wantLabels, f.labelsInAPI(tt.node.Name)); diff != "" {
					t.Errorf("labels in the API afterwards (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.wantEvents, f.events()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			wantCount := 0.0
			if len(tt.wantWrites) > 0 && !tt.notInAPI {
				wantCount = 1
			}
			if got := f.nodeWrites(); got != wantCount {
				t.Errorf("rktsched_labeler_node_writes_total = %v, want %v", got, wantCount)
			}
		})
	}
}

// A failed patch is an error for the queue to retry, counts as a sync error and writes nothing.
func TestSyncErrorIsRetried(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	node := newNode("n1", "docker://1.12.6")
	f := newFixture(t, nil, ControllerOptions{}, []*v1.Node{node})
	f.fillCache(node)
	f.client.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, context.DeadlineExceeded
	})
	f.ctrl.queue.Add("n1")
	if !f.ctrl.processNextWorkItem(ctx) {
		t.Fatal("processNextWorkItem stopped the worker")
	}
	if got := f.ctrl.queue.NumRequeues("n1"); got != 1 {
		t.Errorf("requeues of n1 = %d, want 1", got)
	}
	if got := f.metric("rktsched_labeler_sync_errors_total"); got != 1 {
		t.Errorf("rktsched_labeler_sync_errors_total = %v, want 1", got)
	}
	if got := f.nodeWrites(); got != 0 {
		t.Errorf("rktsched_labeler_node_writes_total = %v, want 0", got)
	}
}

func TestUpdateNodeQueuesOnlyRelevantChanges(t *testing.T) {
	base := newNode("n1", "docker://1.12.6", withLabels(map[string]string{"team": "blue",
		policy.LabelRuntime: "docker", policy.CapabilityLabel(policy.Attach): "true"}))
	changed := func(rv string, mutate func(*v1.Node)) *v1.Node {
		n := base.DeepCopy()
		n.ResourceVersion = rv
		mutate(n)
		return n
	}
	tests := []struct {
		name string
		new  *v1.Node
		want int
	}{
		{"resync (same resourceVersion)", changed("1", func(n *v1.Node) { n.Labels["team"] = "red" }), 0},
		{"heartbeat (status only)", changed("2", func(n *v1.Node) {
			n.Status.Conditions[0].LastHeartbeatTime = metav1.Now()
		}), 0},
		{"label changed", changed("2", func(n *v1.Node) { n.Labels["team"] = "red" }), 1},
		{"label removed", changed("2", func(n *v1.Node) { n.Labels = nil }), 1},
		{"runtime re-installed", changed("2", func(n *v1.Node) { n.Status.NodeInfo.ContainerRuntimeVersion = "rkt://1.29.0" }), 1},
		{"stage1 annotation set", changed("2", func(n *v1.Node) {
			n.Annotations = map[string]string{policy.AnnotationStage1Image: "coreos.com/rkt/stage1-fly:1.29.0"}
		}), 1},
		{"other annotation set", changed("2", func(n *v1.Node) { n.Annotations = map[string]string{"x": "y"} }), 0},
		{"owned label removed (written back)", changed("2", func(n *v1.Node) { delete(n.Labels, policy.LabelRuntime) }), 1},
		{"owned label changed (written back)", changed("2", func(n *v1.Node) { n.Labels[policy.CapabilityLabel(policy.Attach)] = "x" }), 1},
		{"owned label added (removed again)", changed("2", func(n *v1.Node) { n.Labels[policy.CapabilityLabelPrefix+"stale"] = "true" }), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil, ControllerOptions{}, nil)
			f.ctrl.updateNode(base, tt.new)
			if got := f.ctrl.queue.Len(); got != tt.want {
				t.Errorf("queued %d, want %d", got, tt.want)
			}
		})
	}
}

// Kubelet heartbeats update node status with a new resourceVersion every few seconds: they must
// cost no API writes.
func TestHeartbeatCausesNoWrites(t *testing.T) {
	a := newNode("a", "docker://1.12.6")
	b := newNode("b", "rkt://1.29.0")
	f := newFixture(t, nil, ControllerOptions{}, []*v1.Node{a, b})
	f.start(1)
	waitFor(t, "both nodes labeled", func() bool { return f.nodeWrites() == 2 })
	before := len(f.writes())

	ctx := context.Background()
	hb, err := f.client.CoreV1().Nodes().Get(ctx, "a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hb.ResourceVersion = "2"
	hb.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(time.Now().Add(time.Minute))
	if _, err := f.client.CoreV1().Nodes().UpdateStatus(ctx, hb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A change the controller must act on, after the heartbeat: the informer delivers events in
	// order and one worker syncs in order, so once b is fixed the heartbeat has been handled.
	edited := b.DeepCopy()
	edited.Labels = without(labelsOf("rkt", "coreos", "1.29.0", coreosLacks...), "capability.rktsched.io/gpu")
	edited.ResourceVersion = "2"
	if _, err := f.client.CoreV1().Nodes().Update(ctx, edited, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b relabeled", func() bool { return f.nodeWrites() == 3 })

	want := []write{
		{Verb: "update", Resource: "nodes"}, // the test's heartbeat
		{Verb: "update", Resource: "nodes"}, // the test's edit of b
		labelPatch("b", map[string]any{"capability.rktsched.io/gpu": "false"}),
	}
	if diff := cmp.Diff(want, f.writes()[before:]); diff != "" {
		t.Errorf("writes after the heartbeat (-want +got):\n%s", diff)
	}
	if got := f.nodeWrites(); got != 3 {
		t.Errorf("rktsched_labeler_node_writes_total = %v, want 3 (the heartbeat must add none)", got)
	}
}

// The heartbeat case at the level of sync: even when a node is synced for no reason, nothing is
// written if its labels are right.
func TestSyncOfUnchangedNodeWritesNothing(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	node := newNode("n1", "rkt://1.29.0", withLabels(labelsOf("rkt", "coreos", "1.29.0", coreosLacks...)))
	f := newFixture(t, nil, ControllerOptions{}, []*v1.Node{node})
	f.fillCache(node)
	for range 3 {
		if err := f.ctrl.sync(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]write(nil), f.writes()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	if got := f.nodeWrites(); got != 0 {
		t.Errorf("rktsched_labeler_node_writes_total = %v, want 0", got)
	}
}

// A policy ConfigMap edit goes through the real policysource.Source and relabels exactly the
// nodes whose labels it changes: here rkt stage1-coreos gains gpu.
func TestPolicyChangeRelabelsOnlyAffectedNodes(t *testing.T) {
	nodes := []*v1.Node{
		newNode("docker-1", "docker://1.12.6", withLabels(labelsOf("docker", "", "1.12.6"))),
		newNode("coreos-1", "rkt://1.29.0", withLabels(labelsOf("rkt", "coreos", "1.29.0", coreosLacks...))),
		newNode("coreos-2", "rkt://1.29.0", withLabels(labelsOf("rkt", "coreos", "1.29.0", coreosLacks...))),
		newNode("kvm-1", "rkt://1.29.0", withStage1Image("coreos.com/rkt/stage1-kvm:1.29.0"),
			withLabels(labelsOf("rkt", "kvm", "1.29.0", kvmLacks...))),
	}
	gpuOnCoreos := policytest.EditDefault(t,
		"lacks: [attach, init-containers, gpu, host-ipc", "lacks: [attach, init-containers, host-ipc")
	if _, err := policy.Parse([]byte(gpuOnCoreos)); err != nil {
		t.Fatalf("test policy: %v", err)
	}

	f := newFixture(t, nil, ControllerOptions{}, nodes)
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	source, err := policysource.Open(ctx, policysource.Options{Namespace: "rktsched-system", Name: "rktsched-policy"},
		policysource.Config{Client: f.client, Recorder: record.NewFakeRecorder(10)})
	if err != nil {
		t.Fatal(err)
	}
	f.ctrl.store = source.Store()
	source.OnChange(func(_, _ *policy.Policy) { f.ctrl.EnqueueAll() })
	f.ctrl.policySynced = source.HasSynced
	if err := source.Start(ctx); err != nil {
		t.Fatal(err)
	}
	f.start(1)
	waitFor(t, "ready", f.ctrl.HasSynced)
	waitFor(t, "the first sync of every node", func() bool { return f.syncs() == 4 })
	if got := f.writes(); len(got) != 0 {
		t.Fatalf("labeled nodes were written: %v", got)
	}

	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rktsched-system", Name: "rktsched-policy"},
		Data:       map[string]string{policy.ConfigMapKey: gpuOnCoreos},
	}
	if _, err := f.client.CoreV1().ConfigMaps("rktsched-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node synced again", func() bool { return f.syncs() == 8 })

	var patches []write
	for _, w := range f.writes() {
		if w.Verb == "patch" {
			patches = append(patches, w)
		}
	}
	slices.SortFunc(patches, func(a, b write) int { return strings.Compare(a.Name, b.Name) })
	gpu := map[string]any{"capability.rktsched.io/gpu": "true"}
	want := []write{labelPatch("coreos-1", gpu), labelPatch("coreos-2", gpu)}
	if diff := cmp.Diff(want, patches); diff != "" {
		t.Errorf("patches after the policy edit (-want +got):\n%s", diff)
	}
	if got := f.nodeWrites(); got != 2 {
		t.Errorf("rktsched_labeler_node_writes_total = %v, want 2", got)
	}
}

// Until the policy is loaded nothing is written, above all nothing removed.
func TestNoWritesBeforeSync(t *testing.T) {
	nodes := []*v1.Node{
		newNode("a", "docker://1.12.6", withLabels(map[string]string{"capability.rktsched.io/teleport": "true"})),
		newNode("b", "rkt://1.29.0"),
	}
	var policyLoaded atomic.Bool
	var asked atomic.Int64 // how often Run has asked whether the policy is loaded
	synced := func() bool { asked.Add(1); return policyLoaded.Load() }
	f := newFixture(t, nil, ControllerOptions{PolicySynced: synced}, nodes)
	f.start(2)
	waitFor(t, "node cache synced", f.ctrl.nodesSynced)
	if err := f.ctrl.readiness(); err == nil || err.Error() != "not ready: waiting for a policy loaded from its source" {
		t.Errorf("readiness = %v, want not ready: waiting for a policy loaded from its source", err)
	}
	// Run has polled the policy several times (and been told no) with the node cache synced.
	before := asked.Load()
	waitFor(t, "three more polls of the policy", func() bool { return asked.Load() >= before+3 })
	if diff := cmp.Diff([]write(nil), f.writes()); diff != "" {
		t.Fatalf("writes before the policy was loaded (-want +got):\n%s", diff)
	}
	if got := f.syncs(); got != 0 {
		t.Fatalf("%v syncs before the policy was loaded", got)
	}

	policyLoaded.Store(true)
	waitFor(t, "both nodes labeled", func() bool { return f.nodeWrites() == 2 })
	if err := f.ctrl.readiness(); err != nil {
		t.Errorf("readiness = %v, want ready", err)
	}
	if diff := cmp.Diff(labelsOf("docker", "", "1.12.6"), f.labelsInAPI("a")); diff != "" {
		t.Errorf("labels of a (-want +got):\n%s", diff)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	small, err := policy.Parse([]byte(`
apiVersion: policy.rktsched.io/v1alpha1
kind: RuntimePolicy
capabilities:
  attach: {action: filter}
  gpu:    {action: filter}
runtimes:
- name: docker
  schemes: [docker]
- name: rkt
  schemes: [rkt]
  stage1:
    coreos: {lacks: [attach, gpu]}
    fly:    {lacks: [attach, gpu]}
`))
	if err != nil {
		t.Fatal(err)
	}
	upToDate := map[string]string{"rktsched.io/runtime": "docker", "rktsched.io/runtime-version": "1.12.6",
		"capability.rktsched.io/attach": "true", "capability.rktsched.io/gpu": "true"}
	nodes := []*v1.Node{
		newNode("docker-1", "docker://1.12.6"),
		newNode("docker-2", "docker://1.12.6", withLabels(upToDate)),
		newNode("fly-1", "rkt://1.29.0", withStage1Image("stage1-fly.aci"),
			withLabels(map[string]string{"capability.rktsched.io/port-forward": "false", "team": "blue"})),
	}
	f := newFixture(t, small, ControllerOptions{DryRun: true}, nodes)
	f.start(2)
	waitFor(t, "every node synced", func() bool { return f.syncs() == 3 })

	want := []string{
		"node=docker-1 labels=capability.rktsched.io/attach=true,capability.rktsched.io/gpu=true,rktsched.io/runtime=docker,rktsched.io/runtime-version=1.12.6",
		"node=fly-1 labels=capability.rktsched.io/attach=false,capability.rktsched.io/gpu=false,rktsched.io/runtime=rkt,rktsched.io/runtime-version=1.29.0,rktsched.io/stage1=fly remove=capability.rktsched.io/port-forward",
	}
	got := f.out.lines()
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dry-run output (-want +got):\n%s", diff)
	}

	// Synced again for an unrelated change: the same line is not printed twice.
	n, err := f.client.CoreV1().Nodes().Get(context.Background(), "docker-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels = map[string]string{"team": "red"}
	n.ResourceVersion = "2"
	if _, err := f.client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "docker-1 synced again", func() bool { return f.syncs() == 4 })
	if got := f.out.lines(); len(got) != 2 {
		t.Errorf("dry-run printed %d lines, want 2:\n%s", len(got), strings.Join(got, "\n"))
	}

	var ours []write
	for _, w := range f.writes() {
		if w.Verb == "patch" {
			ours = append(ours, w)
		}
	}
	if len(ours) != 0 {
		t.Errorf("dry run patched nodes: %v", ours)
	}
	if got := f.nodeWrites(); got != 0 {
		t.Errorf("rktsched_labeler_node_writes_total = %v, want 0", got)
	}
	if got := f.events(); len(got) != 0 {
		t.Errorf("dry run recorded events: %v", got)
	}
}

// A dry run that sees a runtime change records no Event either: Events are writes.
func TestDryRunRecordsNoEvent(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	node := newNode("n1", "rkt://1.29.0", withLabels(labelsOf("docker", "", "1.12.6")))
	f := newFixture(t, nil, ControllerOptions{DryRun: true}, []*v1.Node{node})
	f.fillCache(node)
	if err := f.ctrl.sync(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := f.events(); len(got) != 0 {
		t.Errorf("events = %v, want none", got)
	}
	if got := f.writes(); len(got) != 0 {
		t.Errorf("writes = %v, want none", got)
	}
	if got := f.out.lines(); len(got) != 1 || !strings.HasPrefix(got[0], "node=n1 labels=") {
		t.Errorf("output = %q, want one line for n1", got)
	}
}

// TestHandlerLabels: a node is labelled handler.rktsched.io/<h>: "true" for each runtime
// handler its status reports; a handler it stops reporting loses its label, in a patch that
// touches that key and the capabilities that changed, and a heartbeat writes nothing.
func TestHandlerLabels(t *testing.T) {
	yes := true
	handlers := func(names ...string) []v1.NodeRuntimeHandler {
		var out []v1.NodeRuntimeHandler
		for _, n := range names {
			out = append(out, v1.NodeRuntimeHandler{Name: n, Features: &v1.NodeRuntimeHandlerFeatures{UserNamespaces: &yes, RecursiveReadOnlyMounts: &yes}})
		}
		return out
	}
	node := newNode("n1", "containerd://2.1.4")
	node.Status.RuntimeHandlers = handlers("", "runc", "kata-qemu")
	f := newFixture(t, nil, ControllerOptions{}, []*v1.Node{node})
	f.start(1)
	waitFor(t, "n1 labelled", func() bool { return f.nodeWrites() == 1 })
	got := f.labelsInAPI("n1")
	for _, h := range []string{"runc", "kata-qemu"} {
		if got[policy.HandlerLabel(h)] != "true" {
			t.Errorf("label %s = %q, want true", policy.HandlerLabel(h), got[policy.HandlerLabel(h)])
		}
	}
	if got[policy.CapabilityLabel(policy.UserNamespaces)] != "true" {
		t.Errorf("the default handler reports user namespaces: %s = %q", policy.CapabilityLabel(policy.UserNamespaces), got[policy.CapabilityLabel(policy.UserNamespaces)])
	}

	ctx := context.Background()
	before := len(f.writes())
	n, err := f.client.CoreV1().Nodes().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.ResourceVersion = "7"
	n.Status.Conditions[0].LastHeartbeatTime = metav1.NewTime(time.Now().Add(time.Minute))
	n.Status.RuntimeHandlers = handlers("", "runc") // kata uninstalled
	if _, err := f.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 relabelled", func() bool { return f.nodeWrites() == 2 })
	want := []write{
		{Verb: "update", Resource: "nodes"}, // the kubelet's status report
		labelPatch("n1", map[string]any{policy.HandlerLabel("kata-qemu"): nil}),
	}
	if diff := cmp.Diff(want, f.writes()[before:]); diff != "" {
		t.Errorf("writes after kata-qemu left (-want +got):\n%s", diff)
	}
}
