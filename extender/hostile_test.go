package extender

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	v1 "k8s.io/api/core/v1"
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

// rawArgs is an ExtenderArgs body whose Pod is raw JSON, with the matrix nodes.
func rawArgs(pod string) []byte {
	list := &v1.NodeList{}
	for _, n := range matrixNodes() {
		list.Items = append(list.Items, *n)
	}
	return []byte(`{"Pod":` + pod + `,"Nodes":` + string(mustJSON(list)) + `}`)
}

// TestQuantityBounds: a quantity out of what Kubernetes can represent is refused 400 with a
// message before resource.ParseQuantity spends minutes and hundreds of MB on it (issue 26,
// item 2), wherever in the Pod it is; quantities up to 2^63-1 are read as before.
func TestQuantityBounds(t *testing.T) {
	container := func(resources string) string {
		return `{"metadata":{"name":"q"},"spec":{"containers":[{"name":"c","image":"i","resources":` + resources + `}]}}`
	}
	limits := func(q string) string { return container(`{"limits":{"cpu":"` + q + `"}}`) }
	tests := []struct {
		name string
		pod  string
		// refused: the message names; "" for served.
		refused string
	}{
		{"the issue's cpu limit", limits("1.00000000000000000001e100000000"), "over 2^63-1"},
		{"a tiny exponent", limits("1e-100000000"), "under 1n"},
		{"zero with a huge exponent", limits("0e100000000"), "over 2^63-1"},
		{"an exponent past int32", limits("1e99999999999"), "over 2^63-1"},
		{"65 bytes", limits("1" + strings.Repeat("0", 64)), "65 bytes"},
		{"1e19", limits("1e19"), "over 2^63-1"},
		{"16Ei", limits("16Ei"), "over 2^63-1"},
		{"a number, not a string", container(`{"requests":{"memory":1e100000000}}`), "2^63-1"},
		{"memory request", container(`{"requests":{"memory":"1e100000000"}}`), "2^63-1"},
		{"init container", `{"metadata":{"name":"q"},"spec":{"initContainers":[{"name":"i","resources":{"limits":{"memory":"1e100000000"}}}],"containers":[{"name":"c"}]}}`, "2^63-1"},
		{"pod overhead", `{"metadata":{"name":"q"},"spec":{"overhead":{"cpu":"1e100000000"},"containers":[{"name":"c"}]}}`, "2^63-1"},
		{"pod-level resources", `{"metadata":{"name":"q"},"spec":{"resources":{"limits":{"cpu":"1e100000000"}},"containers":[{"name":"c"}]}}`, "2^63-1"},
		{"emptyDir sizeLimit", `{"metadata":{"name":"q"},"spec":{"volumes":[{"name":"v","emptyDir":{"sizeLimit":"1e100000000"}}],"containers":[{"name":"c"}]}}`, "2^63-1"},
		{"downward API divisor", `{"metadata":{"name":"q"},"spec":{"containers":[{"name":"c","env":[{"name":"E","valueFrom":{"resourceFieldRef":{"resource":"limits.cpu","divisor":"1e-100000000"}}}]}]}}`, "under 1n"},
		{"status allocated resources", `{"metadata":{"name":"q"},"spec":{"containers":[{"name":"c"}]},"status":{"containerStatuses":[{"name":"c","allocatedResources":{"cpu":"1e100000000"}}]}}`, "2^63-1"},
		{"2^63-1", limits("9223372036854775807"), ""},
		{"7Ei", limits("7Ei"), ""},
		{"a canonical milli value", limits("1500m"), ""},
		{"an exponent in range", limits("1.5e3"), ""},
		{"a fraction under 1n", limits("0.0000000000001"), ""},
	}
	s := newTestServer(t, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, http.MethodPost, "filter", rawArgs(tt.pod))
			if tt.refused == "" {
				decodeOK(t, rec, &extenderv1.ExtenderFilterResult{})
				return
			}
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tt.refused) {
				t.Errorf("status %d %q, want 400 naming %q", rec.Code, rec.Body, tt.refused)
			}
		})
	}
}
