package extender

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

// passedNames lists the nodes a filter answer lets through, in order.
func passedNames(res *extenderv1.ExtenderFilterResult) []string {
	out := []string{}
	if res.NodeNames != nil {
		out = append(out, *res.NodeNames...)
	}
	if res.Nodes != nil {
		for _, n := range res.Nodes.Items {
			out = append(out, n.Name)
		}
	}
	return out
}

func TestFilterCapabilityMatrix(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	eachMatrixCase(t, nodes, func(t *testing.T, mode string, tc verdictCase, body []byte) {
		var res extenderv1.ExtenderFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &res)
		wantPassed := []string{}
		for _, n := range nodes {
			if _, ok := tc.refused[n.Name]; !ok {
				wantPassed = append(wantPassed, n.Name)
			}
		}
		if diff := cmp.Diff(wantPassed, passedNames(&res)); diff != "" {
			t.Errorf("passed nodes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(tc.refused, map[string]string(res.FailedAndUnresolvableNodes), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("FailedAndUnresolvableNodes (-want +got):\n%s", diff)
		}
		if len(res.FailedNodes) != 0 || res.Error != "" {
			t.Errorf("FailedNodes = %v, Error = %q; want none", res.FailedNodes, res.Error)
		}
		// The answer is in the form asked: names for names, Nodes for Nodes.
		if (res.NodeNames != nil) != (mode == "names") || (res.Nodes != nil) != (mode == "nodes") {
			t.Errorf("answer form: NodeNames %v, Nodes %v; asked %s", res.NodeNames != nil, res.Nodes != nil, mode)
		}
	})
}

// TestFilterAnswerMatchesReference proves the wire format: our answer, decoded with
// encoding/json as kube-scheduler does, is what the reference answers, Nodes byte for byte
// included.
func TestFilterAnswerMatchesReference(t *testing.T) {
	nodes := benchNodes(60)
	s := newTestServer(t, false, nodes...)
	ref := reference{policy: s.store.Load(), nodes: s.nodes}
	eachMatrixCase(t, nodes, func(t *testing.T, _ string, _ verdictCase, body []byte) {
		want, err := ref.filter(body)
		if err != nil {
			t.Fatal(err)
		}
		var got refFilterResult
		decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &got)
		if diff := cmp.Diff(want, &got, sameAnswer); diff != "" {
			t.Errorf("answer (-reference +extender):\n%s", diff)
		}
	})
}

func TestFilterPassesNodesThrough(t *testing.T) {
	// Fields the extender does not read, odd spacing and escapes must all survive unchanged.
	item := `{ "metadata" : {"name":"d\u006fcker-1","resourceVersion":"9","labels":{"a":"b\n"},` +
		`"annotations":{"x":"\u00e9"}}, "spec":{"unschedulable":true,"taints":[{"key":"k","effect":"NoSchedule"}]},` +
		`"status":{"capacity":{"cpu":"4"},"nodeInfo":{"containerRuntimeVersion":"docker://1.12.6","kubeletVersion":"v1.37.2"}}}`
	rkt := `{"metadata":{"name":"rkt-1"},"status":{"nodeInfo":{"containerRuntimeVersion":"rkt://1.29.0"}}}`
	gpu := string(mustJSON(pod("p", gpuPod)))
	body := []byte(`{"Pod":` + gpu + `,"Nodes":{"items":[` + item + `,` + rkt + `]}}`)
	s := newTestServer(t, true)
	rec := serve(t, s, http.MethodPost, "filter", body)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	want := `{"Nodes":{"metadata":{},"items":[` + item + `]},"NodeNames":null,"FailedNodes":{},` +
		`"FailedAndUnresolvableNodes":{"rkt-1":"rkt stage1-coreos lacks gpu"},"Error":""}`
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}

func TestFilterUnknownNodeName(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	asked := append(names(nodes), "new-node")
	body := mustJSON(extenderv1.ExtenderArgs{Pod: pod("init", func(p *v1.Pod) {
		p.Spec.InitContainers = []v1.Container{{Name: "setup", Image: "x:1"}}
	}), NodeNames: &asked})
	var res extenderv1.ExtenderFilterResult
	decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &res)
	if diff := cmp.Diff(map[string]string{"new-node": notCachedReason}, map[string]string(res.FailedNodes)); diff != "" {
		t.Errorf("FailedNodes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{docker}, passedNames(&res)); diff != "" {
		t.Errorf("passed (-want +got):\n%s", diff)
	}
	if len(res.FailedAndUnresolvableNodes) != 4 || res.Error != "" {
		t.Errorf("FailedAndUnresolvableNodes = %v, Error = %q; want the 4 rkt nodes and no error", res.FailedAndUnresolvableNodes, res.Error)
	}
}

// TestBadRequests covers every verb: each malformed request is refused with a one-line
// message and the right status, and never answered 200.
func TestBadRequests(t *testing.T) {
	p := string(mustJSON(pod("p", nil)))
	tests := []struct {
		name       string
		standalone bool
		method     string
		verbs      []string
		body       string
		code       int
		message    string
	}{
		{"bad JSON", false, http.MethodPost, allVerbs, `{"Pod":`, 400, "malformed JSON"},
		{"not an object", false, http.MethodPost, allVerbs, `[1]`, 400, "the request: want an object"},
		{"trailing garbage", false, http.MethodPost, allVerbs, `{"Pod":` + p + `} x`, 400, "malformed JSON"},
		{"empty body", false, http.MethodPost, allVerbs, ``, 400, "malformed JSON"},
		{"no Pod", false, http.MethodPost, allVerbs, `{"NodeNames":["a"]}`, 400, "no Pod"},
		{"null Pod", false, http.MethodPost, allVerbs, `{"Pod":null,"NodeNames":["a"]}`, 400, "no Pod"},
		{"Pod of the wrong type", false, http.MethodPost, allVerbs, `{"Pod":"x","NodeNames":["a"]}`, 400, "/Pod: want an object"},
		{"Pod spec of the wrong type", false, http.MethodPost, allVerbs, `{"Pod":{"spec":{"hostIPC":"yes"}},"NodeNames":["a"]}`, 400, "decoding Pod"},
		{"both Nodes and NodeNames", false, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `,"Nodes":{"items":[]},"NodeNames":[]}`, 400, "both Nodes and NodeNames"},
		{"neither Nodes nor NodeNames", false, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `}`, 400, "neither Nodes nor NodeNames"},
		{"names without a node cache", true, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `,"NodeNames":["a"]}`, 400, "--standalone"},
		{"NodeNames of the wrong type", false, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `,"NodeNames":[1]}`, 400, "/NodeNames: want a string"},
		{"Nodes of the wrong type", false, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `,"Nodes":{"items":[{"metadata":{"name":7}}]}}`, 400, "/Nodes/items/0/metadata/name: want a string"},
		{"duplicate names", false, http.MethodPost, allVerbs, `{"Pod":` + p + `,"Pod":` + p + `}`, 400, `duplicate object member name "Pod"`},
		{"duplicate names deep down", false, http.MethodPost, []string{"filter", "prioritize"},
			`{"Pod":` + p + `,"Nodes":{"items":[{"metadata":{"labels":{"a":"1","a":"2"}}}]}}`, 400, `duplicate object member name "a"`},
		{"both victim forms", false, http.MethodPost, []string{"preempt"},
			`{"Pod":` + p + `,"NodeNameToVictims":{},"NodeNameToMetaVictims":{}}`, 400, "both"},
		{"null victim pod", false, http.MethodPost, []string{"preempt"},
			`{"Pod":` + p + `,"NodeNameToVictims":{"a":{"Pods":[null]}}}`, 400, "null victim pod"},
		{"fractional PDB violations", false, http.MethodPost, []string{"preempt"},
			`{"Pod":` + p + `,"NodeNameToMetaVictims":{"a":{"NumPDBViolations":1.5}}}`, 400, "not an integer"},
		{"GET", false, http.MethodGet, allVerbs, ``, 405, "GET is not allowed"},
		{"PUT", false, http.MethodPut, allVerbs, `{}`, 405, "PUT is not allowed"},
	}
	for _, tt := range tests {
		for _, verb := range tt.verbs {
			t.Run(tt.name+"/"+verb, func(t *testing.T) {
				s := newTestServer(t, tt.standalone, matrixNodes()...)
				rec := serve(t, s, tt.method, verb, []byte(tt.body))
				if rec.Code != tt.code {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.code, rec.Body)
				}
				msg := rec.Body.String()
				if !strings.Contains(msg, tt.message) || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
					t.Errorf("message %q: want one line that says %q", msg, tt.message)
				}
			})
		}
	}
}

var allVerbs = []string{"filter", "prioritize", "preempt"}

func TestOversizedBody(t *testing.T) {
	nodes := benchNodes(20)
	body := nodesArgs(pod("p", nil), nodes)
	for _, verb := range allVerbs {
		for _, chunked := range []bool{false, true} {
			name := verb + "/content-length"
			if chunked {
				name = verb + "/chunked"
			}
			t.Run(name, func(t *testing.T) {
				s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute,
					MaxBodyBytes: int64(len(body) - 1)})
				if err != nil {
					t.Fatal(err)
				}
				req := httptest.NewRequest(http.MethodPost, "/"+verb, bytes.NewReader(body))
				if chunked {
					req.Body = io.NopCloser(bytes.NewReader(body)) // no length known in advance
					req.ContentLength = -1
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusRequestEntityTooLarge {
					t.Fatalf("status %d, want 413: %s", rec.Code, rec.Body)
				}
				if got := counterValue(t, s.registry, "rktsched_extender_requests_total", map[string]string{"verb": verb, "code": "413"}); got != 1 {
					t.Errorf("requests_total{code=413} = %v, want 1", got)
				}
			})
		}
	}
	t.Run("at the limit", func(t *testing.T) {
		s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: int64(len(body))})
		if err != nil {
			t.Fatal(err)
		}
		if rec := serve(t, s, http.MethodPost, "filter", body); rec.Code != http.StatusOK {
			t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
		}
	})
}

func TestFilterMetrics(t *testing.T) {
	nodes := matrixNodes()
	s := newTestServer(t, false, nodes...)
	p := pod("gpu", gpuPod)
	for _, mode := range modes {
		decodeOK(t, serve(t, s, http.MethodPost, "filter", mode.args(p, nodes)), &extenderv1.ExtenderFilterResult{})
	}
	decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(pod("typo", needs("teleport")), nodes)), &extenderv1.ExtenderFilterResult{})
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		// Twice (both modes) the four rkt nodes, the fly one also for namespace-isolation.
		{"rktsched_extender_nodes_refused_total", map[string]string{"capability": "gpu"}, 8},
		{"rktsched_extender_nodes_refused_total", map[string]string{"capability": "namespace-isolation"}, 2},
		{"rktsched_extender_nodes_refused_total", map[string]string{"capability": "attach"}, 0},
		{"rktsched_extender_nodes_refused_total", map[string]string{"capability": refusedUnknownNeed}, 5},
		{"rktsched_extender_requests_total", map[string]string{"verb": "filter", "code": "200"}, 3},
		{"rktsched_extender_request_duration_seconds", map[string]string{"verb": "filter"}, 3},
		{"rktsched_build_info", map[string]string{"version": "test"}, 1},
		{"rktsched_policy_reload_errors_total", nil, 0}, // registered, counting this server's store
	}
	for _, tt := range tests {
		got := counterValue(t, s.registry, tt.name, tt.labels)
		if tt.want == -1 {
			if got < 0 {
				t.Errorf("%s is not registered", tt.name)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
}

// counterValue returns the value of the series of name whose labels include labels (a
// histogram's sample count); -1 when there is none.
func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}
