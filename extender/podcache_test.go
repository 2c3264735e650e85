package extender

import (
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

// TestPodAnalysisIsReused shows the per-pod cache: the same UID and resourceVersion are
// analysed once (a changed body under the same identity still gets the first analysis), a
// new resourceVersion or a new policy is analysed again.
func TestPodAnalysisIsReused(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	filterRefused := func(p *v1.Pod) int {
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(p, nodes)), &res)
		return len(res.FailedAndUnresolvableNodes)
	}
	plain := pod("p", nil)
	gpu := pod("p", gpuPod) // same UID and resourceVersion as plain
	if got := filterRefused(plain); got != 1 {
		t.Fatalf("plain pod: %d refused, want 1 (fly)", got)
	}
	if got := filterRefused(gpu); got != 1 {
		t.Errorf("same UID and resourceVersion: %d refused, want the cached analysis (1)", got)
	}
	gpu.ResourceVersion = "8"
	if got := filterRefused(gpu); got != 4 {
		t.Errorf("new resourceVersion: %d refused, want 4", got)
	}
	// A policy that ignores GPUs: the cached analysis was made with another policy.
	doc := strings.Replace(string(policy.DefaultDocument()), "gpu:                   {action: filter", "gpu:                   {action: ignore", 1)
	if _, err := s.store.Update([]byte(doc)); err != nil {
		t.Fatal(err)
	}
	if got := filterRefused(gpu); got != 1 {
		t.Errorf("new policy: %d refused, want 1 (GPUs ignored, fly still refused)", got)
	}
}

func TestPodAnalysisExpires(t *testing.T) {
	nodes := matrixNodes()
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(nodes...),
		PodCacheTTL: 50 * time.Millisecond, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(p *v1.Pod) int {
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(p, nodes)), &res)
		return len(res.FailedAndUnresolvableNodes)
	}
	refused(pod("p", nil))
	if got := refused(pod("p", gpuPod)); got != 1 {
		t.Fatalf("within the TTL: %d refused, want the cached analysis (1)", got)
	}
	time.Sleep(100 * time.Millisecond)
	if got := refused(pod("p", gpuPod)); got != 4 {
		t.Errorf("after the TTL: %d refused, want a new analysis (4)", got)
	}
}

func TestPodWithoutUIDIsNotCached(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	for i, edit := range []func(*v1.Pod){nil, gpuPod} {
		p := pod("p", edit)
		p.UID = ""
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(p, nodes)), &res)
		if want := []int{1, 4}[i]; len(res.FailedAndUnresolvableNodes) != want {
			t.Errorf("request %d: %d refused, want %d", i, len(res.FailedAndUnresolvableNodes), want)
		}
	}
	if n := s.pods.c.ItemCount(); n != 0 {
		t.Errorf("%d cached analyses, want none for pods without a UID", n)
	}
}
