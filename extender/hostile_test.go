package extender

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

// TestPanicGivesBackItsPlace: a verb that panics gives back its place among the requests in
// flight (issue 26, item 9): with --max-requests-in-flight 1, the next request is served,
// not turned away with 429 forever. The panic is answered 500 with a message, except
// http.ErrAbortHandler, which drops the connection as net/http means it to.
func TestPanicGivesBackItsPlace(t *testing.T) {
	tests := []struct {
		name  string
		value any
		// code is the panicking request's status; 0: its connection is dropped.
		code int
	}{
		{"a string", "boom", http.StatusInternalServerError},
		{"an error", errors.New("boom"), http.StatusInternalServerError},
		{"http.ErrAbortHandler", http.ErrAbortHandler, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute,
				MaxBodyBytes: 1 << 20, MaxInFlight: 1, Registry: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			panicking := httptest.NewServer(s.verb("filter", func(http.ResponseWriter, *http.Request, *call) error { panic(tt.value) }))
			defer panicking.Close()
			resp, err := http.Post(panicking.URL, "application/json", bytes.NewReader(nodesArgs(pod("p", nil), matrixNodes())))
			switch {
			case tt.code == 0 && err == nil:
				resp.Body.Close()
				t.Errorf("the panicking request was answered %d, want its connection dropped", resp.StatusCode)
			case tt.code != 0 && err != nil:
				t.Errorf("the panicking request: %v, want status %d", err, tt.code)
			case tt.code != 0:
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.code || !bytes.Contains(msg, []byte("boom")) {
					t.Errorf("the panicking request: %d %q, want %d naming the panic", resp.StatusCode, msg, tt.code)
				}
			}
			// The place is back: the next request is served.
			var res extenderv1.ExtenderFilterResult
			decodeOK(t, serve(t, s, http.MethodPost, "filter", nodesArgs(pod("p", nil), matrixNodes())), &res)
			if got := testutil.ToFloat64(s.metrics.inFlight); got != 0 {
				t.Errorf("requests_in_flight = %v after both ended, want 0", got)
			}
		})
	}
}
