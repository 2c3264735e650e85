package extenderpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
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
	for _, ext := range extenders(b, objs) {
		exchanges := record(b, ext.handler, infos, pods)
		b.Run(fmt.Sprintf("%s/%d", ext.name, nodes), func(b *testing.B) {
			start := processCPU()
			i := 0
			for b.Loop() {
				x := &exchanges[i%len(exchanges)]
				x.newPod(pods + i)
				serve(b, ext.handler, "/filter", x.requests[0])
				if x.requests[1] != nil {
					serve(b, ext.handler, "/prioritize", x.requests[1])
				}
				i++
			}
			reportCPU(b, start, i)
		})
	}
}

// side is one side of BenchmarkServe and BenchmarkAnswers, served in process.
type side struct {
	name    string
	handler http.Handler
}

// extenders are the no-op extender and rktsched's over the cluster objs.
func extenders(b *testing.B, objs []runtime.Object) []side {
	return []side{{"noop", (&noopextender.Server{}).Handler()}, {"rktsched", newRktsched(b, objs)}}
}

// exchange is one pod's requests to filter and prioritize and the extender's answers to
// them (prioritize's nil: not called, one node passed or none); where the pod's UID's last 12
// digits are in each request; the feasible nodes the filter request named, by name.
type exchange struct {
	requests, answers [2][]byte
	uidAt             [2]int
	fromNodeName      map[string]fwk.NodeInfo
}

// newPod gives the requests' pod the UID of pod i.
func (x *exchange) newPod(i int) {
	digits := fmt.Appendf(nil, "%012d", i)
	copy(x.requests[0][x.uidAt[0]:], digits)
	if x.requests[1] != nil {
		copy(x.requests[1][x.uidAt[1]:], digits)
	}
}

// record makes the requests of BenchmarkCycle's pods, prioritize naming the nodes the
// handler's filter passed, and keeps the handler's answers.
func record(b *testing.B, h http.Handler, nodes []fwk.NodeInfo, pods int) []exchange {
	c := newCycle(nodes)
	out := make([]exchange, pods)
	for i := range out {
		pod := cyclePod(i)
		uid := []byte(pod.UID)
		feasible := c.feasibleFor(pod)
		x := &out[i]
		x.fromNodeName = make(map[string]fwk.NodeInfo, len(feasible))
		names := make([]string, len(feasible))
		for j, n := range feasible {
			names[j] = n.Node().Name
			x.fromNodeName[names[j]] = n
		}
		x.requests[0] = mustJSON(b, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		x.uidAt[0] = bytes.Index(x.requests[0], uid) + len(uid) - 12
		x.answers[0] = serve(b, h, "/filter", x.requests[0])
		var result extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(x.answers[0], &result); err != nil {
			b.Fatal(err)
		}
		if len(*result.NodeNames) > 1 {
			x.requests[1] = mustJSON(b, &extenderv1.ExtenderArgs{Pod: pod, NodeNames: result.NodeNames})
			x.uidAt[1] = bytes.Index(x.requests[1], uid) + len(uid) - 12
			x.answers[1] = serve(b, h, "/prioritize", x.requests[1])
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
