package extenderpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/rktsched/rktsched/test/noopextender"
)

// BenchmarkServe is the extender's side of BenchmarkCycle alone, at 5000 nodes: filter and
// prioritize served in process, the requests those kube-scheduler sent for the workload's
// first 200 pods (each pod made new on every use by a new UID, as the next pod of a
// Deployment would be). rktsched's cpu-ns/pod over noop's is what deciding costs the
// extender.
func BenchmarkServe(b *testing.B) {
	const nodes, pods = 5000, 200
	objs, infos := benchCluster(nodes)
	for _, ext := range []struct {
		name    string
		handler http.Handler
	}{{"noop", (&noopextender.Server{}).Handler()}, {"rktsched", newRktsched(b, objs)}} {
		requests := recordRequests(b, ext.handler, infos, pods)
		b.Run(fmt.Sprintf("%s/%d", ext.name, nodes), func(b *testing.B) {
			start := processCPU()
			i := 0
			for b.Loop() {
				r := &requests[i%len(requests)]
				r.newPod(pods + i)
				serve(b, ext.handler, "/filter", r.filter)
				if r.prioritize != nil {
					serve(b, ext.handler, "/prioritize", r.prioritize)
				}
				i++
			}
			reportCPU(b, start, i)
		})
	}
}

// request is one pod's requests to filter and prioritize (nil: not called), and where its
// UID's last 12 digits are in each.
type request struct {
	filter, prioritize []byte
	uidAt              [2]int
}

// newPod gives the request's pod the UID of pod i.
func (r *request) newPod(i int) {
	digits := fmt.Appendf(nil, "%012d", i)
	copy(r.filter[r.uidAt[0]:], digits)
	if r.prioritize != nil {
		copy(r.prioritize[r.uidAt[1]:], digits)
	}
}

// recordRequests makes the requests of BenchmarkCycle's pods, prioritize naming the nodes the
// handler's filter passed.
func recordRequests(b *testing.B, h http.Handler, nodes []fwk.NodeInfo, pods int) []request {
	c := newCycle(nodes)
	out := make([]request, pods)
	for i := range out {
		pod := cyclePod(i)
		uid := []byte(pod.UID)
		feasible := c.feasibleFor(pod)
		names := make([]string, len(feasible))
		for j, n := range feasible {
			names[j] = n.Node().Name
		}
		r := &out[i]
		r.filter = mustJSON(b, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		var result extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(serve(b, h, "/filter", r.filter), &result); err != nil {
			b.Fatal(err)
		}
		r.uidAt[0] = bytes.Index(r.filter, uid) + len(uid) - 12
		if len(*result.NodeNames) > 1 {
			r.prioritize = mustJSON(b, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: result.NodeNames})
			r.uidAt[1] = bytes.Index(r.prioritize, uid) + len(uid) - 12
		}
	}
	return out
}

func serve(b *testing.B, h http.Handler, verb string, body []byte) []byte {
	req := httptest.NewRequest(http.MethodPost, verb, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d: %.200s", verb, rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func mustJSON(b *testing.B, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
