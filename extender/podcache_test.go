package extender

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// TestPodIdentityBuysNoVerdict is issue 12's report, request for request, against a
// standalone extender: a plain pod (uid U1, resourceVersion 5) and two Nodes, one Docker,
// one rkt, both pass; then the same uid and resourceVersion with a container limiting
// nvidia.com/gpu: the rkt node must be refused for gpu, not given the plain pod's verdict.
func TestPodIdentityBuysNoVerdict(t *testing.T) {
	s := newTestServer(t, true)
	nodes := []*v1.Node{node("d", "docker://1.12.6", ""), node("r", "rkt://1.29.0", "")}
	plain := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "U1", ResourceVersion: "5"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "registry.example/app:1.0"}}},
	}
	gpu := plain.DeepCopy()
	gpu.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	for i, tc := range []struct {
		pod  *v1.Pod
		want extenderv1.FailedNodesMap
	}{
		{plain, extenderv1.FailedNodesMap{}},
		{gpu, extenderv1.FailedNodesMap{"r": "rkt stage1-coreos lacks gpu"}},
		{plain, extenderv1.FailedNodesMap{}},
	} {
		for _, mode := range modes {
			var res extenderv1.ExtenderFilterResult
			if mode.name == "names" {
				continue // standalone
			}
			decodeOK(t, serve(t, s, http.MethodPost, "filter", mode.args(tc.pod, nodes)), &res)
			if len(res.FailedAndUnresolvableNodes) != len(tc.want) || res.FailedAndUnresolvableNodes["r"] != tc.want["r"] {
				t.Errorf("request %d: refused %v, want %v", i+1, res.FailedAndUnresolvableNodes, tc.want)
			}
		}
	}
	// And in names mode, with the node cache.
	s = newTestServer(t, false, nodes...)
	for i, tc := range []struct {
		pod  *v1.Pod
		want int
	}{{plain, 0}, {gpu, 1}, {plain, 0}} {
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(tc.pod, nodes)), &res)
		if len(res.FailedAndUnresolvableNodes) != tc.want {
			t.Errorf("names request %d: refused %v, want %d", i+1, res.FailedAndUnresolvableNodes, tc.want)
		}
	}
}

// TestNodeIdentityBuysNoVerdict: a node whose containerRuntimeVersion or stage1 annotation
// changes under an unchanged name and resourceVersion is judged on what it says now, in
// filter and prioritize; preempt, which has no node cache here, trusts none of it.
func TestNodeIdentityBuysNoVerdict(t *testing.T) {
	s := newTestServer(t, true)
	init := pod("init", func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i", Image: "x:1"}} })
	hostPID := pod("hostpid", func(p *v1.Pod) { p.Spec.HostPID = true })
	for i, step := range []struct {
		runtime, stage1 string
		pod             *v1.Pod
		refused         string
	}{
		{"docker://1.12.6", "", init, ""},
		{"rkt://1.29.0", "", init, "rkt stage1-coreos lacks init-containers"},
		{"docker://1.12.6", "", init, ""},
		{"rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0", hostPID, ""},
		{"rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0", hostPID, "rkt stage1-kvm lacks host-pid"},
		{"rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0", hostPID, ""},
	} {
		n := node("n", step.runtime, step.stage1) // always resourceVersion 1
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(step.pod, []*v1.Node{n})), &res)
		if got := res.FailedAndUnresolvableNodes["n"]; got != step.refused {
			t.Errorf("step %d (%s %s): refused for %q, want %q", i, step.runtime, step.stage1, got, step.refused)
		}
		// preempt, sent the name only, does not judge by what a filter call said.
		var pre extenderv1.ExtenderPreemptionResult
		decodeOK(t, serve(t, s, http.MethodPost, "preempt", forms[1].args(step.pod, []string{"n"})), &pre)
		if _, kept := pre.NodeNameToMetaVictims["n"]; kept {
			t.Errorf("step %d: preempt kept the node, which only a caller described", i)
		}
	}
}

// TestPodAnalysisIsReused: the same Pod JSON under the same policy is analysed once; a new
// policy is analysed again.
func TestPodAnalysisIsReused(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	filterRefused := func(p *v1.Pod) int {
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(p, nodes)), &res)
		return len(res.FailedAndUnresolvableNodes)
	}
	gpu := pod("p", gpuPod)
	if got := filterRefused(gpu); got != 4 {
		t.Fatalf("gpu pod: %d refused, want 4", got)
	}
	first, _ := s.pods.lru.Peek(s.pods.lru.Keys()[0])
	if got := filterRefused(gpu); got != 4 || s.pods.Len() != 1 {
		t.Errorf("the same pod again: %d refused, %d analyses cached; want 4 and 1", got, s.pods.Len())
	}
	if again, _ := s.pods.lru.Peek(s.pods.lru.Keys()[0]); again != first {
		t.Error("the same pod was analysed again")
	}
	// A policy that ignores GPUs: the cached analysis was made with another policy.
	doc := policytest.EditDefault(t, "gpu:                   {action: filter", "gpu:                   {action: ignore")
	if _, err := s.store.Update([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if got := filterRefused(gpu); got != 1 {
		t.Errorf("new policy: %d refused, want 1 (GPUs ignored, fly still refused)", got)
	}
}

// TestPodAnalysisExpires: an analysis is used within the TTL only (on a fake clock).
func TestPodAnalysisExpires(t *testing.T) {
	nodes := matrixNodes()
	clk := clocktesting.NewFakePassiveClock(time.Now())
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(nodes...),
		PodCacheTTL: time.Minute, MaxBodyBytes: 1 << 20, MaxInFlight: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	body := namesArgs(pod("p", nil), nodes)
	decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &extenderv1.ExtenderFilterResult{})
	entry := func() *podEntry { e, _ := s.pods.lru.Peek(s.pods.lru.Keys()[0]); return e }
	first := entry()
	clk.SetTime(clk.Now().Add(59 * time.Second))
	decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &extenderv1.ExtenderFilterResult{})
	if entry() != first {
		t.Fatal("within the TTL: analysed again, want the cached analysis")
	}
	clk.SetTime(clk.Now().Add(2 * time.Second))
	decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &extenderv1.ExtenderFilterResult{})
	if entry() == first {
		t.Error("after the TTL: the old analysis was used, want a new one")
	}
}

// TestCachesAreBounded: distinct pods and nodes past the caps leave the caches at their caps;
// a pod larger than maxCachedPodBytes is not cached at all.
func TestCachesAreBounded(t *testing.T) {
	s := newTestServer(t, true)
	for i := range podCacheSize + 10 {
		p := pod(fmt.Sprint("p", i), nil)
		n := node(fmt.Sprint("n", i), "docker://1.12.6", "")
		n.Labels["i"] = fmt.Sprint(i)
		decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(p, []*v1.Node{n})), &extenderv1.ExtenderFilterResult{})
	}
	if got := s.pods.Len(); got != podCacheSize {
		t.Errorf("%d analyses cached, want the cap %d", got, podCacheSize)
	}
	s.pods.flush()
	big := pod("big", func(p *v1.Pod) {
		p.Annotations = map[string]string{"filler": strings.Repeat("x", maxCachedPodBytes)}
	})
	decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(big, matrixNodes())), &extenderv1.ExtenderFilterResult{})
	if got := s.pods.Len(); got != 0 {
		t.Errorf("a pod over %d bytes was cached (%d entries)", maxCachedPodBytes, got)
	}
	bigNode := node("huge", "docker://1.12.6", "")
	bigNode.Labels["filler"] = strings.Repeat("x", maxRememberedInputBytes)
	before := s.remembered.Len()
	decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(big, []*v1.Node{bigNode})), &extenderv1.ExtenderFilterResult{})
	if got := s.remembered.Len(); got != before {
		t.Errorf("a node with inputs over %d bytes was remembered", maxRememberedInputBytes)
	}
}

// TestNotReadyFailsClosed: until Ready has nothing left to wait for, the verbs answer 503
// with a one-line reason (and /readyz says the same); then they answer.
func TestNotReadyFailsClosed(t *testing.T) {
	nodes := matrixNodes()
	synced := false
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(nodes...),
		PodCacheTTL: time.Minute, MaxBodyBytes: 1 << 20, MaxInFlight: 4, Registry: prometheus.NewRegistry(),
		Ready: readiness(func() bool { return true }, func() bool { return synced })})
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{
		"filter":     namesArgs(pod("p", nil), nodes),
		"prioritize": namesArgs(pod("p", nil), nodes),
		"preempt":    forms[1].args(pod("p", nil), names(nodes)),
	}
	for verb, body := range bodies {
		rec := serve(t, s, http.MethodPost, verb, body)
		msg := strings.TrimSuffix(rec.Body.String(), "\n")
		if rec.Code != http.StatusServiceUnavailable || strings.Contains(msg, "\n") || !strings.Contains(msg, "waiting for a policy loaded from its source") {
			t.Errorf("%s before the policy was read: %d %q, want 503 with one line saying why", verb, rec.Code, msg)
		}
	}
	if rec := serve(t, s, http.MethodGet, "readyz", nil); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before the policy was read: %d, want 503", rec.Code)
	}
	synced = true
	for verb, body := range bodies {
		if rec := serve(t, s, http.MethodPost, verb, body); rec.Code != http.StatusOK {
			t.Errorf("%s once ready: %d %s, want 200", verb, rec.Code, rec.Body)
		}
	}
	if got := counterValue(t, s.registry, "rktsched_extender_requests_total", map[string]string{"verb": "filter", "code": "503"}); got != 1 {
		t.Errorf("requests_total{filter,503} = %v, want 1", got)
	}
}

// TestTooManyInFlight: past MaxInFlight a request gets 429 at once, counted.
func TestTooManyInFlight(t *testing.T) {
	nodes := matrixNodes()
	release := make(chan struct{})
	entered := make(chan struct{})
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(nodes...),
		PodCacheTTL: time.Minute, MaxBodyBytes: 1 << 20, MaxInFlight: 1, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	body := namesArgs(pod("p", nil), nodes)
	done := make(chan int)
	go func() {
		// A request whose body arrives slowly holds the only place.
		req, _ := http.NewRequest(http.MethodPost, "/filter", &slowBody{data: body, entered: entered, release: release})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		done <- rec.Code
	}()
	<-entered
	if rec := serve(t, s, http.MethodPost, "filter", body); rec.Code != http.StatusTooManyRequests {
		t.Errorf("second request while one is in flight: %d, want 429", rec.Code)
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("the first request: %d, want 200", code)
	}
	if rec := serve(t, s, http.MethodPost, "filter", body); rec.Code != http.StatusOK {
		t.Errorf("after the first finished: %d, want 200", rec.Code)
	}
	if got := counterValue(t, s.registry, "rktsched_extender_requests_total", map[string]string{"verb": "filter", "code": "429"}); got != 1 {
		t.Errorf("requests_total{filter,429} = %v, want 1", got)
	}
}

// slowBody is a request body that says when it is first read, then waits for release.
type slowBody struct {
	data             []byte
	entered, release chan struct{}
	started          bool
}

func (b *slowBody) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		close(b.entered)
		<-b.release
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}
