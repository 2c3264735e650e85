package extender

// Benchmarks of the verbs through the real handler, paired with the "naive floor": what
// any extender pays to decode the request into the extender/v1 types with encoding/json
// and encode a pass-all answer, deciding nothing. `make bench` prints ours/floor per pair
// (extender/internal/benchratio): BenchmarkExtender/<verb>/<mode>/<nodes> goes with
// BenchmarkFloor/<verb>/<mode>/<nodes>.
//
// mode "names" is nodeCacheCapable: true (NodeNames; NodeNameToMetaVictims for preempt),
// "nodes" is nodeCacheCapable: false (full Nodes; NodeNameToVictims with full pods).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/internal/prodlike"
)

var benchSizes = []int{100, 1000, 5000}

func BenchmarkExtender(b *testing.B) {
	benchVerbs(b, func(b *testing.B, nodes []*v1.Node) http.Handler {
		return newTestServer(b, false, nodes...)
	})
}

func BenchmarkFloor(b *testing.B) {
	benchVerbs(b, func(*testing.B, []*v1.Node) http.Handler { return floor{} })
}

// claimFilter is filter for a pod with a DRA claim: its ResourceClaimTemplate read from the
// extender's informers (a GPU need: the rkt nodes are refused).
const claimFilter = "filter-claim"

func benchVerbs(b *testing.B, handler func(*testing.B, []*v1.Node) http.Handler) {
	for _, verb := range append(allVerbs[:len(allVerbs):len(allVerbs)], claimFilter) {
		for _, mode := range []string{"names", "nodes"} {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%d", verb, mode, n), func(b *testing.B) {
					body := benchBody(verb, mode, n)
					h := handler(b, benchNodes(n))
					// Warm up: the first call fills the pod and node caches, as the
					// scheduling cycle's first verb does; the others find them full.
					if rec := serveBench(h, verb, body); rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						if rec := serveBench(h, verb, body); rec.Code != http.StatusOK {
							b.Fatalf("status %d: %.200s", rec.Code, rec.Body)
						}
					}
				})
			}
		}
	}
}

func serveBench(h http.Handler, verb string, body []byte) *httptest.ResponseRecorder {
	if verb == claimFilter {
		verb = "filter"
	}
	req := httptest.NewRequest(http.MethodPost, "/"+verb, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// floor decodes the request into the extender/v1 types and encodes a pass-all answer.
type floor struct{}

func (floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var out any
	switch r.URL.Path {
	case "/filter", "/prioritize":
		var args extenderv1.ExtenderArgs
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/filter" {
			out = &extenderv1.ExtenderFilterResult{Nodes: args.Nodes, NodeNames: args.NodeNames}
			break
		}
		list := extenderv1.HostPriorityList{}
		if args.NodeNames != nil {
			for _, n := range *args.NodeNames {
				list = append(list, extenderv1.HostPriority{Host: n, Score: extenderv1.MaxExtenderPriority})
			}
		} else {
			for i := range args.Nodes.Items {
				list = append(list, extenderv1.HostPriority{Host: args.Nodes.Items[i].Name, Score: extenderv1.MaxExtenderPriority})
			}
		}
		out = list
	case "/preempt":
		var args extenderv1.ExtenderPreemptionArgs
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := &extenderv1.ExtenderPreemptionResult{NodeNameToMetaVictims: args.NodeNameToMetaVictims}
		if args.NodeNameToVictims != nil {
			res.NodeNameToMetaVictims = map[string]*extenderv1.MetaVictims{}
			for name, v := range args.NodeNameToVictims {
				mv := &extenderv1.MetaVictims{Pods: []*extenderv1.MetaPod{}, NumPDBViolations: v.NumPDBViolations}
				for _, p := range v.Pods {
					mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: string(p.UID)})
				}
				res.NodeNameToMetaVictims[name] = mv
			}
		}
		out = res
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

var (
	benchMu     sync.Mutex
	benchBodies = map[string][]byte{}
	benchNodeMu sync.Mutex
	benchCache  = map[int][]*v1.Node{}
)

// benchBody is the request kube-scheduler would send for verb, built once per process.
func benchBody(verb, mode string, n int) []byte {
	key := fmt.Sprintf("%s/%s/%d", verb, mode, n)
	if verb == "prioritize" {
		key = fmt.Sprintf("filter/%s/%d", mode, n) // the same ExtenderArgs
	}
	benchMu.Lock()
	defer benchMu.Unlock()
	if b, ok := benchBodies[key]; ok {
		return b
	}
	nodes := benchNodes(n)
	p := prodlike.Pod("incoming", 0)
	if verb == claimFilter {
		p.Namespace = "default"
		p.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr.To("one-gpu")}}
		p.Spec.Containers[0].Resources.Claims = []v1.ResourceClaim{{Name: "gpu"}}
	}
	var body []byte
	switch {
	case verb != "preempt" && mode == "names":
		body = namesArgs(p, nodes)
	case verb != "preempt":
		body = nodesArgs(p, nodes)
	case mode == "names":
		meta := map[string]*extenderv1.MetaVictims{}
		for i, nd := range nodes {
			meta[nd.Name] = &extenderv1.MetaVictims{NumPDBViolations: int64(i % 2),
				Pods: []*extenderv1.MetaPod{{UID: string(prodlike.Pod("victim-a", i).UID)}, {UID: string(prodlike.Pod("victim-b", i).UID)}}}
		}
		body = mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToMetaVictims: meta})
	default:
		full := map[string]*extenderv1.Victims{}
		for i, nd := range nodes {
			full[nd.Name] = &extenderv1.Victims{NumPDBViolations: int64(i % 2),
				Pods: []*v1.Pod{prodlike.Pod("victim-a", i), prodlike.Pod("victim-b", i)}}
		}
		body = mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToVictims: full})
	}
	benchBodies[key] = body
	return body
}

// benchNodes are n realistic Nodes: labels, annotations, conditions, addresses, 20 images;
// half Docker, half rkt across the stage1 flavours (some rkt nodes not saying which).
func benchNodes(n int) []*v1.Node {
	benchNodeMu.Lock()
	defer benchNodeMu.Unlock()
	if nodes, ok := benchCache[n]; ok {
		return nodes
	}
	nodes := make([]*v1.Node, n)
	for i := range nodes {
		nodes[i] = prodlike.Node(i)
	}
	benchCache[n] = nodes
	return nodes
}

// cycleHandler is one side of the scheduling-cycle benchmarks.
type cycleHandler struct {
	name    string
	handler http.Handler
	flush   func() // forgets the pods seen: each iteration is a new pod
}

// cycleHandlers are ours and the floor, on the 420 nodes the scheduling-cycle benchmarks ask
// about.
func cycleHandlers(b *testing.B) ([]*v1.Node, []cycleHandler) {
	nodes := benchNodes(420)
	srv := newTestServer(b, false, nodes...)
	return nodes, []cycleHandler{{"ours", srv, srv.pods.flush}, {"floor", floor{}, func() {}}}
}

// BenchmarkSchedulingCycle is what one new pod costs in names mode: filter (the pod is
// decoded and analysed) then prioritize (the analysis comes from the pod cache), with the
// 420 node names kube-scheduler sends from a 1000-node cluster (it stops looking for
// feasible nodes at 42% there). BenchmarkFloor's filter+prioritize of that size is the
// comparison.
func BenchmarkSchedulingCycle(b *testing.B) {
	nodes, handlers := cycleHandlers(b)
	body := namesArgs(prodlike.Pod("incoming", 0), nodes)
	for _, h := range handlers {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.flush() // a pod never seen before
				for _, verb := range []string{"filter", "prioritize"} {
					if rec := serveBench(h.handler, verb, body); rec.Code != http.StatusOK {
						b.Fatalf("%s: status %d", verb, rec.Code)
					}
				}
			}
		})
	}
}

// BenchmarkSchedulingCycleHTTP is BenchmarkSchedulingCycle over loopback HTTP with
// kube-scheduler's side included, done as its HTTPExtender does (encoding/json on the
// extender/v1 types, one POST per verb): the whole cost a new pod adds to a scheduling cycle
// in names mode, both processes together.
func BenchmarkSchedulingCycleHTTP(b *testing.B) {
	nodes, handlers := cycleHandlers(b)
	nodeNames := names(nodes)
	args := &extenderv1.ExtenderArgs{Pod: prodlike.Pod("incoming", 0), NodeNames: &nodeNames}
	for _, h := range handlers {
		b.Run(h.name, func(b *testing.B) {
			ts := httptest.NewServer(h.handler)
			defer ts.Close()
			client := ts.Client()
			b.ReportAllocs()
			for b.Loop() {
				h.flush() // a pod never seen before
				var filtered extenderv1.ExtenderFilterResult
				var scores extenderv1.HostPriorityList
				schedulerSend(b, client, ts.URL+"/filter", args, &filtered)
				schedulerSend(b, client, ts.URL+"/prioritize", args, &scores)
			}
		})
	}
}

// schedulerSend is kube-scheduler's HTTPExtender.send.
func schedulerSend(b testing.TB, client *http.Client, url string, args, result any) {
	out, err := json.Marshal(args)
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(out))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(result); err != nil {
		b.Fatal(err)
	}
}
