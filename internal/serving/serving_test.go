package serving

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

func TestProbes(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "rktsched_test_total", Help: "test"})
	c.Add(3)
	reg.MustRegister(c)
	var live, ready error
	r := mux.NewRouter()
	Probes{Live: func(*http.Request) error { return live }, Ready: func() error { return ready }, Metrics: reg}.Routes(r)
	tests := []struct {
		name         string
		method, path string
		live, ready  error
		wantCode     int
		wantBody     string // the whole body
	}{
		{"live", "GET", "/healthz", nil, nil, 200, "ok\n"},
		{"live HEAD", "HEAD", "/healthz", nil, nil, 200, "ok\n"}, // net/http drops the body of a HEAD answer
		{"not live", "GET", "/healthz", errors.New("lease expired"), nil, 503, "lease expired\n"},
		{"ready", "GET", "/readyz", nil, nil, 200, "ok\n"},
		{"not ready", "GET", "/readyz", nil, errors.New("not ready: waiting for x"), 503, "not ready: waiting for x\n"},
		{"ready ignores liveness", "GET", "/readyz", errors.New("x"), nil, 200, "ok\n"},
		{"wrong method", "POST", "/readyz", nil, nil, 405, ""},
		{"unknown path", "GET", "/", nil, nil, 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, ready = tt.live, tt.ready
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantCode || rec.Body.String() != tt.wantBody {
				t.Errorf("%s %s = %d %q, want %d %q", tt.method, tt.path, rec.Code, rec.Body, tt.wantCode, tt.wantBody)
			}
		})
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "rktsched_test_total 3") {
		t.Errorf("/metrics = %d %q, want 200 with the registry's counter", rec.Code, rec.Body)
	}
}

// Without Live and Ready a daemon is live and ready while it serves.
func TestProbesDefaults(t *testing.T) {
	r := mux.NewRouter()
	Probes{Metrics: prometheus.NewRegistry()}.Routes(r)
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Errorf("%s = %d, want 200", path, rec.Code)
		}
	}
}

func TestNotReady(t *testing.T) {
	yes, no := func() bool { return true }, func() bool { return false }
	tests := []struct {
		name     string
		awaited  []Awaited
		wantText string // "" for nil
	}{
		{"nothing awaited", nil, ""},
		{"all there", []Awaited{{"the policy", yes}, {"the node cache", yes}}, ""},
		{"one missing", []Awaited{{"the policy", yes}, {"the node cache", no}}, "not ready: waiting for the node cache"},
		{"both missing", []Awaited{{"the policy", no}, {"the node cache", no}}, "not ready: waiting for the policy and the node cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NotReady(tt.awaited...)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantText {
				t.Errorf("NotReady = %q, want %q", got, tt.wantText)
			}
		})
	}
}

// Serve answers until its context ends, then returns nil and stops listening.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	Probes{Metrics: prometheus.NewRegistry()}.Routes(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, r) }()
	url := "http://" + ln.Addr().String() + "/healthz"
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after its context ended = %v, want nil", err)
	}
	client.CloseIdleConnections()
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Error("still serving after Serve returned")
	}
}

// A listener that fails is Serve's error, at once.
func TestServeFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	err = Serve(context.Background(), ln, http.NotFoundHandler())
	if err == nil || !strings.Contains(err.Error(), "serving 127.0.0.1:") {
		t.Errorf("Serve on a closed listener = %v, want an error naming the address", err)
	}
}
