package labeler

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHTTPHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.nodeWrites.Add(3)
	RegisterBuildInfo(reg)
	tests := []struct {
		name     string
		method   string
		path     string
		live     error
		ready    error
		wantCode int
		wantBody string // substring
	}{
		{"live", "GET", "/healthz", nil, nil, 200, "ok"},
		{"leader cannot renew", "GET", "/healthz", errors.New("lease expired"), nil, 503, "lease expired"},
		{"ready", "GET", "/readyz", nil, nil, 200, "ok"},
		{"not ready", "GET", "/readyz", nil, errors.New("policy not loaded yet"), 503, "policy not loaded yet"},
		{"ready ignores liveness", "GET", "/readyz", errors.New("x"), nil, 200, "ok"},
		{"metrics", "GET", "/metrics", nil, nil, 200, "rktsched_labeler_node_writes_total 3"},
		{"build info", "GET", "/metrics", nil, nil, 200, `rktsched_build_info{goversion="` + runtime.Version() + `",version="dev"} 1`},
		{"wrong method", "POST", "/readyz", nil, nil, 405, ""},
		{"unknown path", "GET", "/", nil, nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHTTPHandler(reg, func(*http.Request) error { return tt.live }, func() error { return tt.ready })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d (body %q)", rec.Code, tt.wantCode, body)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tt.wantBody)
			}
		})
	}
}
