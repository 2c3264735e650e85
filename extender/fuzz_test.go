package extender

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// FuzzHandler sends arbitrary bodies to the verbs. The handler must never panic, must refuse
// (400) exactly the requests the reference refuses, and must otherwise answer 200 with what
// the reference answers. No input is skipped: the reference decodes with the same library
// and options (wire.Unmarshal), so duplicate names, names that only case-fold to a field name
// and invalid UTF-8 are refused, or ignored, by both alike.
//
// op: bits 0-1 pick the verb (filter, prioritize, preempt, filter); bit 2 standalone mode.
func FuzzHandler(f *testing.F) {
	nodes := matrixNodes()
	for i, p := range []*v1.Pod{pod("gpu", gpuPod), loadPod(f, seedPath("mount-dne.yaml")), loadPod(f, seedPath("host-ipc-pid.yaml"))} {
		f.Add(uint8(0), namesArgs(p, nodes[:2+i]))
		f.Add(uint8(4), nodesArgs(p, nodes[:2+i]))
		f.Add(uint8(1), nodesArgs(p, nodes[i:]))
		f.Add(uint8(2), forms[i%2].args(p, names(nodes)))
	}
	for _, seed := range wireSeeds {
		f.Add(seed.op, []byte(seed.body))
	}
	servers := [2]*Server{newTestServer(f, false, nodes...), newTestServer(f, true)}
	for _, s := range servers {
		s.logger = logr.Discard() // 400s are expected here by the thousand
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		checkAgainstReference(t, servers[op>>2&1], []string{"filter", "prioritize", "preempt", "filter"}[op&3], body)
	})
}

// wireSeeds are requests on the edges of the wire format, for the fuzz corpus and
// TestWireSeeds: duplicate names (top level, in the Pod, in a Node, in labels), names that
// only case-fold to a field name (ſ is U+017F, which folds to s), null metadata, escapes.
var wireSeeds = []struct {
	op   uint8
	body string
}{
	{0, `{"Pod":{},"NodeNames":["rkt-fly","nope",null]}`},
	{1, `{"pod":{"metadata":{"uid":"u"}},"nodes":{"Items":[null,{"Metadata":{"Name":"d\u006fcker"}}]}}`},
	{2, `{"Pod":{},"NodeNameToMetaVictims":{"docker":null,"rkt-kvm":{"Pods":[null,{"UID":"x"}]}}}`},
	{6, `{"Pod":{},"NodeNameToVictims":{"a":{"Pods":[{"metadata":{"uid":"u"}}],"NumPDBViolations":-3}}}`},
	{0, `{"Pod":`},
	{4, `{"Pod":{},"Pod":{"spec":{"hostPID":true}},"Nodes":{"items":[{"metadata":{"name":"f"},"status":{"nodeInfo":{"containerRuntimeVersion":"rkt://1.29.0"}}}]}}`},
	{4, `{"Pod":{"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}},"Nodes":{"items":[{"metadata":{"name":"f","annotations":{"rktsched.io/stage1-image":"coreos.com/rkt/stage1-fly:1.29.0"}},"metadata":{"name":"c"},"status":{"nodeInfo":{"containerRuntimeVersion":"rkt://1.29.0"}}}]}}`},
	{4, `{"Pod":{"\u017ftatus":{},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1"}}}]}},"Nodes":{"items":[{"metadata":{"name":"r"},"ſtatus":{"nodeInfo":{"containerRuntimeVersion":"docker://1"}},"status":{"nodeInfo":{"containerRuntimeVersion":"rkt://1.29.0"}}}]}}`},
	{4, `{"Pod":{"ſpec":{"hostPID":true}},"Nodes":{"items":[{"metadata":{"name":"r"},"status":{"nodeInfo":{"containerRuntimeVersion":"rkt://1.29.0"}}}]}}`},
	{0, `{"Pod":{"metadata":{"uid":"u","resourceVersion":"5"},"metadata":null},"NodeNames":["docker"]}`},
	{0, `{"Pod":{"metadata":null,"spec":{"initContainers":[{"name":"i"}]}},"NodeNames":["docker","rkt-kvm"]}`},
	{4, `{"Pod":{},"Nodes":{"items":[{"metadata":{"name":"a","labels":{"k":"1","k":"2"}}}]}}`},
	{4, `{"Pod":{},"Nodes":{"items":[{"metadata":{"name":"a","labels":{"k":1}}}]}}`},
	{0, `{"Pod":{},"NodeNames":["docker"],"NodeNames":["rkt-fly"]}`},
	{0, `{"Pod":{},"NodeNames":["docker"],"NODENAMES":["rkt-fly"]}`},
	{2, `{"Pod":{},"NodeNameToMetaVictims":{"docker":{"Pods":[],"NumPDBViolations":1.5}}}`},
	{2, `{"Pod":{},"NodeNameToMetaVictims":{"docker":{"Pods":[{"UID":"a","UID":"b"}]}}}`},
	{0, "{\"Pod\":{\"metadata\":{\"name\":\"\xff\"}},\"NodeNames\":[]}"},
	{0, `{"Pod":{},"NodeNames":[]} {}`},
	{0, `null`},
}

// checkAgainstReference sends body to s's verb and compares the outcome with the reference's.
func checkAgainstReference(t *testing.T, s *Server, verb string, body []byte) {
	t.Helper()
	s.pods.flush() // every input stands alone
	s.remembered.reset()
	rec := serve(t, s, http.MethodPost, verb, body)
	ref := reference{policy: s.store.Load(), nodes: s.nodes}
	var want, got any
	var refErr error
	switch verb {
	case "filter":
		want, refErr = ref.filter(body)
		got = &refFilterResult{}
	case "prioritize":
		want, refErr = ref.prioritize(body)
		got = &extenderv1.HostPriorityList{}
	case "preempt":
		want, refErr = ref.preempt(body)
		got = &extenderv1.ExtenderPreemptionResult{}
	}
	switch rec.Code {
	case http.StatusOK:
		if refErr != nil {
			t.Fatalf("200 for a request the reference refuses (%v):\n%s", refErr, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), got); err != nil {
			t.Fatalf("200 with an answer that is not a %T: %v\n%s", got, err, rec.Body)
		}
	case http.StatusBadRequest:
		if refErr == nil {
			t.Fatalf("400 %q for a request the reference answers", rec.Body)
		}
		return
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if hp, ok := got.(*extenderv1.HostPriorityList); ok {
		got = *hp
	}
	if diff := cmp.Diff(want, got, sameAnswer); diff != "" {
		t.Fatalf("answer (-reference +extender):\n%s", diff)
	}
}

// TestWireSeeds runs the wire-format seeds through the fuzz check in every verb and mode.
func TestWireSeeds(t *testing.T) {
	servers := [2]*Server{newTestServer(t, false, matrixNodes()...), newTestServer(t, true)}
	for _, s := range servers {
		s.logger = logr.Discard()
	}
	for i, seed := range wireSeeds {
		for op := range uint8(8) {
			verb := []string{"filter", "prioritize", "preempt", "filter"}[op&3]
			t.Run(fmt.Sprintf("%d/%s/standalone=%v", i, verb, op&4 != 0), func(t *testing.T) {
				checkAgainstReference(t, servers[op>>2&1], verb, []byte(seed.body))
			})
		}
	}
}
