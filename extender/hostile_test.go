package extender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
		// status is skipped, not decoded (wire.UnmarshalPod): its quantities reach no parser.
		{"status allocated resources", `{"metadata":{"name":"q"},"spec":{"containers":[{"name":"c"}]},"status":{"containerStatuses":[{"name":"c","allocatedResources":{"cpu":"1e100000000"}}]}}`, ""},
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

// many is n copies of el, comma-separated.
func many(n int, el string) string {
	var b strings.Builder
	b.Grow(n * (len(el) + 1))
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(el)
	}
	return b.String()
}

// manyNames is n distinct JSON members `"<prefix><i>":value`, comma-separated.
func manyMembers(n int, prefix, value string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s%d":%s`, prefix, i, value)
	}
	return b.String()
}

// TestRequestBounds: a request past a per-request bound is refused 413 with a message naming
// the bound, before what it carries is held item by item (issue 26, item 1): the issue's
// 10.5 MB NodeList of 3.5 million `{}` took 1.28 GB, and its Pod of a million empty
// containers 962 MB. Requests at the bounds are served.
func TestRequestBounds(t *testing.T) {
	const simplePod = `{"metadata":{"name":"p","namespace":"d"},"spec":{"containers":[{"name":"c","image":"i"}]}}`
	withPod := func(pod string) string { return `{"Pod":` + pod + `,"Nodes":{"items":[]}}` }
	tests := []struct {
		name, verb, body string
		// refused is what the 413 (or 400, for a Node's parts) says; "" for served (200).
		refused string
	}{
		{"the issue's 3.5 million empty Nodes", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[` + many(3_500_000, "{}") + `]}}`,
			"items of Nodes: over the limit of 10000 (--max-nodes-per-request)"},
		{"10001 Nodes", "prioritize", `{"Pod":` + simplePod + `,"Nodes":{"items":[` + many(10_001, "{}") + `]}}`,
			"items of Nodes: over the limit of 10000 (--max-nodes-per-request)"},
		{"10000 Nodes", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[` + many(10_000, `{"metadata":{"name":"n"}}`) + `]}}`, ""},
		{"10001 NodeNames", "filter", `{"Pod":` + simplePod + `,"NodeNames":[` + many(10_001, `"n"`) + `]}`,
			"NodeNames: over the limit of 10000 (--max-nodes-per-request)"},
		{"10000 NodeNames", "filter", `{"Pod":` + simplePod + `,"NodeNames":[` + many(10_000, `"n"`) + `]}`, ""},
		{"10001 nodes with victims", "preempt", `{"Pod":` + simplePod + `,"NodeNameToMetaVictims":{` + manyMembers(10_001, "n", "null") + `}}`,
			"nodes with victims: over the limit of 10000 (--max-nodes-per-request)"},
		{"3 million empty victims", "preempt", `{"Pod":` + simplePod + `,"NodeNameToMetaVictims":{"n":{"Pods":[` + many(3_000_000, "{}") + `]}}}`,
			"victim pods: over the limit of 110000 (--max-victims-per-request)"},
		{"victims of all nodes add up", "preempt", `{"Pod":` + simplePod + `,"NodeNameToMetaVictims":{"a":{"Pods":[` + many(60_000, `{"UID":"u"}`) +
			`]},"b":{"Pods":[` + many(60_000, `{"UID":"u"}`) + `]}}}`, "victim pods: over the limit of 110000"},
		{"110000 victims", "preempt", `{"Pod":` + simplePod + `,"NodeNameToMetaVictims":{"a":{"Pods":[` + many(110_000, `{"UID":"u"}`) + `]}}}`, ""},
		{"the issue's Pod of a million empty containers", "filter", withPod(`{"metadata":{"name":"p"},"spec":{"containers":[` + many(1_000_000, "{}") + `]}}`),
			"containers, initContainers and ephemeralContainers in the Pod: over the limit of 1024"},
		{"init containers count too", "filter", withPod(`{"metadata":{"name":"p"},"spec":{"containers":[{}],"initContainers":[` + many(1024, "{}") + `]}}`),
			"containers, initContainers and ephemeralContainers in the Pod"},
		{"1024 containers", "filter", withPod(`{"metadata":{"name":"p"},"spec":{"containers":[` + many(1024, `{"name":"c"}`) + `]}}`), ""},
		{"a million volumes", "filter", withPod(`{"metadata":{"name":"p"},"spec":{"containers":[{}],"volumes":[` + many(1_000_000, "{}") + `]}}`),
			"volumes in the Pod: over the limit of 1024"},
		{"a million env vars", "filter", withPod(`{"metadata":{"name":"p"},"spec":{"containers":[{"env":[` + many(1_000_000, "{}") + `]}]}}`),
			"JSON values in the Pod: over the limit of 50000"},
		{"a Pod over 3 MiB", "filter", withPod(`{"metadata":{"name":"p","annotations":{"a":"` + strings.Repeat("x", 3<<20) + `"}}}`),
			"Pod size in bytes"},
		{"1.2 million names in a skipped object", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[]},"junk":{` + manyMembers(1_200_000, "k", "0") + `}}`,
			"object members open at once: 1200003, over the limit of 65536"},
		{"a Node of a million runtime handlers", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[{"metadata":{"name":"n"},"status":{"runtimeHandlers":[` + many(1_000_000, "{}") + `]}}]}}`,
			`node "n": status.runtimeHandlers in bytes: 3000001, over the limit of 65536`},
		{"a Node of a 3 MB handlers annotation", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[{"metadata":{"name":"n","annotations":{"rktsched.io/runtime-handlers":"` + strings.Repeat("a,", 1_500_000) + `"}}}]}}`,
			"annotation in bytes: 3000002, over the limit of 262144"},
		{"a Node of 70000 labels", "filter", `{"Pod":` + simplePod + `,"Nodes":{"items":[{"metadata":{"name":"n","labels":{` + manyMembers(70_000, "k", `""`) + `}}}]}}`,
			"object members open at once"},
	}
	s := newTestServer(t, false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, http.MethodPost, tt.verb, []byte(tt.body))
			if tt.refused == "" {
				if rec.Code != http.StatusOK {
					t.Errorf("status %d %.300q, want 200", rec.Code, rec.Body)
				}
			} else if (rec.Code != http.StatusRequestEntityTooLarge && rec.Code != http.StatusBadRequest) || !strings.Contains(rec.Body.String(), tt.refused) {
				t.Errorf("status %d %.300q, want 413 (or 400) saying %q", rec.Code, rec.Body, tt.refused)
			}
			if used := inUse(s); used != 0 {
				t.Errorf("%d bytes of the budget still held after the answer", used)
			}
		})
	}
}

// hold takes n bytes of s's budget, as requests in flight would, until the returned func.
func hold(t *testing.T, s *Server, n int64) func() {
	t.Helper()
	if !s.budget.sem.TryAcquire(n) {
		t.Fatalf("cannot hold %d bytes", n)
	}
	return func() { s.budget.sem.Release(n) }
}

// TestMemoryBudget: the requests in flight share one memory budget, taken before memory is
// (issue 26, item 1): a request waits its turn for its share, holding nothing meanwhile, and
// is served once the others leave room; one whose caller gives up gets 429 naming the flag;
// one that could not fit even alone gets 413 at once; what a request held is given back
// however it ends.
func TestMemoryBudget(t *testing.T) {
	body := nodesArgs(pod("p", nil), matrixNodes())
	tests := []struct {
		name   string
		budget int64
		// held is what other requests in flight hold when this one comes; they leave if
		// leave, else the caller gives up.
		held  int64
		leave bool
		body  []byte
		code  int
		says  string
	}{
		{"room", 64 << 20, 0, false, body, http.StatusOK, ""},
		{"room beside others", 64 << 20, 32 << 20, false, body, http.StatusOK, ""},
		{"it waits for the others to leave", 64 << 20, 63 << 20, true, body, http.StatusOK, ""},
		{"its caller gives up waiting", 64 << 20, 64 << 20, false, body, http.StatusTooManyRequests, "--max-bytes-in-flight"},
		{"it could never fit", 4 << 20, 0, false, []byte(`{"Pod":{},"Nodes":{"items":[` + many(200_000, "{}") + `]}}`),
			http.StatusRequestEntityTooLarge, "more than all requests together may (4 MiB, --max-bytes-in-flight)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: 8 << 20,
				MaxBytesInFlight: tt.budget, Registry: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			leave := func() {}
			if tt.held > 0 {
				leave = hold(t, s, tt.held)
			}
			ctx, giveUp := context.WithCancel(context.Background())
			defer giveUp()
			done := make(chan *httptest.ResponseRecorder)
			go func() {
				req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/filter", bytes.NewReader(tt.body))
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				done <- rec
			}()
			var rec *httptest.ResponseRecorder
			select {
			case rec = <-done: // answered without waiting
			case <-waiting(s):
				if tt.leave {
					leave()
				} else {
					giveUp()
				}
				rec = <-done
			}
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.says) {
				t.Errorf("status %d %.200q, want %d saying %q", rec.Code, rec.Body, tt.code, tt.says)
			}
			if !tt.leave {
				leave()
			}
			if used, waiting := inUse(s), s.budget.waiting.Load(); used != 0 || waiting != 0 {
				t.Errorf("after the answer: %d bytes held, %d requests waiting; want none", used, waiting)
			}
		})
	}
}

// inUse is what requests hold of s's budget: what the idle calls hold is given back first.
func inUse(s *Server) int64 {
	s.flushIdle()
	return s.budget.used.Load()
}

// waiting is closed once a request waits for room in s's budget.
func waiting(s *Server) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for s.budget.waiting.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		close(ch)
	}()
	return ch
}

// TestUnsizedBodyGrowsWithinBudget: a body of no stated length (chunked) is taken from the
// budget step by step as it arrives, never waiting while it holds some: with no room left
// for the next step it is refused 429 at once.
func TestUnsizedBodyGrowsWithinBudget(t *testing.T) {
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: 8 << 20,
		MaxBytesInFlight: 2 << 20, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	leave := hold(t, s, 1<<20) // others hold half
	req := httptest.NewRequest(http.MethodPost, "/filter", io.MultiReader(bytes.NewReader(nodesArgs(pod("p", nil), matrixNodes())),
		strings.NewReader(strings.Repeat(" ", 2<<20))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "--max-bytes-in-flight") {
		t.Errorf("status %d %.200q, want 429 naming --max-bytes-in-flight", rec.Code, rec.Body)
	}
	if used := inUse(s); used != 0 {
		t.Errorf("%d bytes still held after the answer", used)
	}
	// Small enough, it is served.
	leave()
	req = httptest.NewRequest(http.MethodPost, "/filter", bytes.NewReader(nodesArgs(pod("p", nil), matrixNodes())))
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	decodeOK(t, rec, &extenderv1.ExtenderFilterResult{})
}

// TestPooledBuffersAreCounted: a pooled call's buffers, kept from a large request, count in
// its share when it serves the next one (a part they cover is not taken twice); if they do
// not fit beside it, the call drops them rather than hold memory nobody counted.
func TestPooledBuffersAreCounted(t *testing.T) {
	tests := []struct {
		name     string
		budget   int64
		wantKept bool
	}{
		{"the budget holds them", 16 << 20, true},
		{"it does not", 2 << 20, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: 1 << 20,
				MaxBytesInFlight: tt.budget, MaxNodesPerRequest: 100, Registry: prometheus.NewRegistry()})
			if err != nil {
				t.Fatal(err)
			}
			c := &call{verb: "filter", body: make([]byte, 0, 4<<20), out: make([]byte, 0, 4<<20)}
			if err := s.begin(context.Background(), c, 1000); err != nil {
				t.Fatal(err)
			}
			want := c.want.total()
			if tt.wantKept {
				want = c.want.covering(share{body: 4 << 20, answer: 4 << 20}).total()
			}
			if kept := cap(c.body) > 0; kept != tt.wantKept || c.held != want || s.budget.used.Load() != want {
				t.Errorf("buffers kept %v, held %d (budget used %d); want %v, %d", kept, c.held, s.budget.used.Load(), tt.wantKept, want)
			}
			s.end(c)
			if used := s.budget.used.Load(); used != 0 {
				t.Errorf("%d bytes still held after end", used)
			}
		})
	}
}

// TestLargestRequestsOneAfterAnother: the largest requests the defaults are made for (every
// node of a 5000-node cluster, full Nodes) are served one after another on a pooled call,
// whose kept buffers are reused rather than reserved twice.
func TestLargestRequestsOneAfterAnother(t *testing.T) {
	nodes := benchNodes(5000)
	s := newTestServer(t, false, nodes...)
	for _, verb := range allVerbs {
		body := benchBody(verb, "nodes", 5000)
		if len(body) > DefaultMaxBodyBytes {
			t.Fatalf("%s body of %d bytes, over DefaultMaxBodyBytes", verb, len(body))
		}
		for i := range 3 {
			if rec := serve(t, s, http.MethodPost, verb, body); rec.Code != http.StatusOK {
				t.Errorf("%s, call %d: %d %.200s", verb, i, rec.Code, rec.Body)
			}
		}
	}
	if used := inUse(s); used != 0 {
		t.Errorf("%d bytes still held", used)
	}
}

// TestIdleCallsAreCounted: the calls kept for the next requests keep their buffers counted
// in the budget, at most maxIdleCalls of them, and give them back when asked.
func TestIdleCallsAreCounted(t *testing.T) {
	s := newTestServer(t, true)
	body := []byte(`{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[` + many(5000, `{"metadata":{"name":"n"}}`) + `]}}`)
	var wg sync.WaitGroup
	for range 2 * maxIdleCalls {
		wg.Go(func() { decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &extenderv1.ExtenderFilterResult{}) })
	}
	wg.Wait()
	s.pool.mu.Lock()
	var kept int64
	for _, c := range s.pool.idle {
		kept += c.kept().total()
		if c.held != c.kept().total() {
			t.Errorf("an idle call holds %d bytes of the budget for buffers of %d", c.held, c.kept().total())
		}
	}
	idle := len(s.pool.idle)
	s.pool.mu.Unlock()
	if idle == 0 || idle > maxIdleCalls || kept < int64(len(body)) {
		t.Errorf("%d idle calls keeping %d bytes; want 1..%d keeping at least a body", idle, kept, maxIdleCalls)
	}
	if used := s.budget.used.Load(); used != kept {
		t.Errorf("the budget holds %d bytes, want the idle calls' %d", used, kept)
	}
	if !s.flushIdle() || s.budget.used.Load() != 0 {
		t.Errorf("after flushIdle the budget holds %d bytes, want 0", s.budget.used.Load())
	}
}

// TestWaitingRequestGetsTheMemoryOfCallsThatEnd: while a request waits for room, a call that
// ends gives its memory back rather than keep its buffers idle for a next request, which
// would starve the one waiting (it waited 10 s, then got 429, under a flood of large bodies).
func TestWaitingRequestGetsTheMemoryOfCallsThatEnd(t *testing.T) {
	s, err := New(Config{Policy: policy.NewStore(policy.Default()), PodCacheTTL: time.Minute, MaxBodyBytes: 8 << 20,
		MaxBytesInFlight: 64 << 20, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	// Another request holds nearly all of the budget, in buffers a pooled call would keep.
	other := &call{body: make([]byte, 0, 63<<20+512<<10)}
	if !s.take(other) {
		t.Fatal("no room for the other request")
	}
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(t, s, http.MethodPost, "filter", nodesArgs(pod("p", nil), matrixNodes())) }()
	<-waiting(s)
	s.putCall(other) // the other request ends
	decodeOK(t, <-done, &extenderv1.ExtenderFilterResult{})
	if used := inUse(s); used != 0 {
		t.Errorf("%d bytes still held", used)
	}
}
