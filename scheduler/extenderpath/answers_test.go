package extenderpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/rktsched/rktsched/test/noopextender"
)

// BenchmarkAnswers is kube-scheduler's side of BenchmarkCycle alone, at 5000 nodes: decoding
// the answers to filter and prioritize as HTTPExtender.send does (encoding/json), turning the
// refusals into node statuses and merging the scores. The answers are those rktsched-extender
// and the no-op extender gave the workload's first 200 pods.
//
// rktsched's cpu-ns/pod over noop's is what kube-scheduler itself pays to receive the
// policy's decisions (the refusals with their reasons, the scores of the nodes a soft need
// prefers): a cost of names mode that no extender can take off by being faster.
func BenchmarkAnswers(b *testing.B) {
	const nodes, pods = 5000, 200
	objs, infos := benchCluster(nodes)
	ours := httptest.NewServer(newRktsched(b, objs))
	defer ours.Close()
	noop, err := noopextender.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer noop.Stop()
	for _, ext := range []struct{ name, url string }{{"noop", noop.URL}, {"rktsched", ours.URL}} {
		answers := recordAnswers(b, ext.url, infos, pods)
		b.Run(fmt.Sprintf("%s/%d", ext.name, nodes), func(b *testing.B) {
			start := processCPU()
			i, size := 0, 0
			for b.Loop() {
				a := &answers[i%len(answers)]
				size += len(a.filter) + len(a.prioritize)
				a.receive(b)
				i++
			}
			reportCPU(b, start, i)
			b.ReportMetric(float64(size)/float64(i), "answer-bytes/pod")
		})
	}
}

// answer is one pod's answers to filter and prioritize (nil: not called, one node passed),
// and the feasible nodes the filter request named, by name.
type answer struct {
	filter, prioritize []byte
	fromNodeName       map[string]fwk.NodeInfo
}

// receive is what kube-scheduler does with the answers.
func (a *answer) receive(b *testing.B) {
	var result extenderv1.ExtenderFilterResult
	if err := json.NewDecoder(bytes.NewReader(a.filter)).Decode(&result); err != nil {
		b.Fatal(err)
	}
	passed := make([]fwk.NodeInfo, len(*result.NodeNames)) // HTTPExtender.Filter
	for i, name := range *result.NodeNames {
		passed[i] = a.fromNodeName[name]
	}
	recordRefusals(result.FailedNodes, result.FailedAndUnresolvableNodes)
	if a.prioritize == nil {
		return
	}
	var scores extenderv1.HostPriorityList
	if err := json.NewDecoder(bytes.NewReader(a.prioritize)).Decode(&scores); err != nil {
		b.Fatal(err)
	}
	mergeScores(scores, 1, len(passed), "extender")
}

// recordAnswers asks the extender at url about pods of the workload as BenchmarkCycle does,
// and keeps its answers.
func recordAnswers(b *testing.B, url string, nodes []fwk.NodeInfo, pods int) []answer {
	c := newCycle(nodes)
	out := make([]answer, pods)
	for i := range out {
		pod := cyclePod(i)
		feasible := c.feasibleFor(pod)
		a := &out[i]
		a.fromNodeName = make(map[string]fwk.NodeInfo, len(feasible))
		names := make([]string, len(feasible))
		for j, n := range feasible {
			names[j] = n.Node().Name
			a.fromNodeName[names[j]] = n
		}
		a.filter = post(b, url+"/filter", &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names})
		var result extenderv1.ExtenderFilterResult
		if err := json.Unmarshal(a.filter, &result); err != nil {
			b.Fatal(err)
		}
		if len(*result.NodeNames) > 1 {
			a.prioritize = post(b, url+"/prioritize", &extenderv1.ExtenderArgs{Pod: pod, NodeNames: result.NodeNames})
		}
	}
	return out
}

func post(b *testing.B, url string, args *extenderv1.ExtenderArgs) []byte {
	body, err := json.Marshal(args)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %s %v: %.200s", url, resp.Status, err, out)
	}
	return out
}
