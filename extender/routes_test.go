package extender

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/klog/v2/ktesting"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

func TestRoutes(t *testing.T) {
	notReady := errors.New("the node cache has not synced yet")
	ready := notReady
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(), PodCacheTTL: time.Minute,
		MaxBodyBytes: 1 << 20, Version: "v9.9.9", Ready: func() error { return ready }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		ready              error
		code               int
		contains           string
	}{
		{"healthz", http.MethodGet, "/healthz", notReady, 200, "ok"},
		{"readyz before sync", http.MethodGet, "/readyz", notReady, 503, "node cache has not synced"},
		{"readyz after sync", http.MethodGet, "/readyz", nil, 200, "ok"},
		{"version", http.MethodGet, "/version", nil, 200, `"version":"v9.9.9"`},
		{"metrics", http.MethodGet, "/metrics", nil, 200, `rktsched_build_info{goversion=`},
		{"metrics has the policy generation", http.MethodGet, "/metrics", nil, 200, "rktsched_policy_generation"},
		{"metrics has the Go runtime", http.MethodGet, "/metrics", nil, 200, "go_goroutines"},
		{"POST healthz", http.MethodPost, "/healthz", nil, 405, "not allowed"},
		{"DELETE metrics", http.MethodDelete, "/metrics", nil, 405, "not allowed"},
		{"unknown path", http.MethodPost, "/bind", nil, 404, "not found"},
		{"no profiles without --profiling", http.MethodGet, "/debug/pprof/", nil, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready = tt.ready
			rec := serve(t, s, tt.method, strings.TrimPrefix(tt.path, "/"), nil)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tt.method, tt.path, rec.Code, rec.Body, tt.code, tt.contains)
			}
		})
	}
	if got := counterValue(t, s.registry, "rktsched_extender_requests_total", map[string]string{"verb": "filter", "code": "405"}); got != -1 {
		t.Errorf("no filter request yet, but requests_total{filter,405} = %v", got)
	}
	serve(t, s, http.MethodGet, "filter", nil)
	if got := counterValue(t, s.registry, "rktsched_extender_requests_total", map[string]string{"verb": "filter", "code": "405"}); got != 1 {
		t.Errorf("requests_total{filter,405} = %v, want 1", got)
	}
}

func TestProfilingRoutes(t *testing.T) {
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: 1 << 20, Profiling: true})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"debug/pprof/": "goroutine", "debug/pprof/heap?debug=1": "heap profile"} {
		if rec := serve(t, s, http.MethodGet, path, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("GET /%s = %d, want 200 containing %q", path, rec.Code, want)
		}
	}
}

// TestRequestLogLine checks the one V(4) line per request: pod, verb, node count, refused
// count and microseconds.
func TestRequestLogLine(t *testing.T) {
	logger := ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(4), ktesting.BufferLogs(true)))
	nodes := matrixNodes()
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), Nodes: staticNodeCache(nodes...), PodCacheTTL: time.Minute,
		MaxBodyBytes: 1 << 20, Logger: logger, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	decodeOK(t, serve(t, s, http.MethodPost, "filter", namesArgs(pod("gpu", gpuPod), nodes)), &extenderv1.ExtenderFilterResult{})
	logs := logger.GetSink().(ktesting.Underlier).GetBuffer().String()
	for _, want := range []string{"Extender request", `verb="filter"`, `pod="default/gpu"`, `nodes=5`, `refused=4`, `micros=`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log %q lacks %s", logs, want)
		}
	}
	if n := strings.Count(logs, "Extender request"); n != 1 {
		t.Errorf("%d request lines, want 1", n)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{})
	for _, want := range []string{"policy", "TTL", "body size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(Config{}) = %v, want an error about the %s", err, want)
		}
	}
}
