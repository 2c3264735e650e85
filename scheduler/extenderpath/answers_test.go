package extenderpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"
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
	for _, ext := range extenders(b, objs) {
		exchanges := record(b, ext.handler, infos, pods)
		b.Run(fmt.Sprintf("%s/%d", ext.name, nodes), func(b *testing.B) {
			start := processCPU()
			i, size := 0, 0
			for b.Loop() {
				x := &exchanges[i%len(exchanges)]
				size += len(x.answers[0]) + len(x.answers[1])
				x.receive(b)
				i++
			}
			reportCPU(b, start, i)
			b.ReportMetric(float64(size)/float64(i), "answer-bytes/pod")
		})
	}
}

// receive is what kube-scheduler does with the answers.
func (x *exchange) receive(b *testing.B) {
	var result extenderv1.ExtenderFilterResult
	if err := json.NewDecoder(bytes.NewReader(x.answers[0])).Decode(&result); err != nil {
		b.Fatal(err)
	}
	passed := make([]fwk.NodeInfo, len(*result.NodeNames)) // HTTPExtender.Filter
	for i, name := range *result.NodeNames {
		passed[i] = x.fromNodeName[name]
	}
	recordRefusals(result.FailedNodes, result.FailedAndUnresolvableNodes)
	if x.answers[1] == nil {
		return
	}
	var scores extenderv1.HostPriorityList
	if err := json.NewDecoder(bytes.NewReader(x.answers[1])).Decode(&scores); err != nil {
		b.Fatal(err)
	}
	mergeScores(scores, 1, len(passed), "extender")
}
