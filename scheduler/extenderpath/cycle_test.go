package extenderpath

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler"
	schedulerapi "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rktsched/rktsched/extender"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
	"github.com/rktsched/rktsched/test/noopextender"
	"github.com/rktsched/rktsched/test/workload"
)

// BenchmarkCycle is one pod's extender calls in names mode as kube-scheduler makes them:
// HTTPExtender.Filter with the feasible nodes its own filters found, the refusals turned into
// node statuses, then HTTPExtender.Prioritize with the nodes left and the scores merged (as
// findNodesThatPassExtenders and prioritizeNodes do, k8s.io/kubernetes/pkg/scheduler,
// schedule_one.go). The pods are the workload of make bench-scale, in turn, each new to the
// extender; the cluster is its nodes at 1000, 2500 and 5000.
//
// It reports cpu-ns/pod, the CPU time of the whole process (client and server) per pod.
// rktsched/<n> against noop/<n>, run together, is what names mode costs over any extender.
// It leaves out what kube-scheduler saves when the extender refuses nodes: it scores fewer
// (make bench-e2e measures that).
func BenchmarkCycle(b *testing.B) {
	for _, n := range []int{1000, 2500, 5000} {
		nodes, infos := benchCluster(n)
		ours := httptest.NewServer(newRktsched(b, nodes))
		noop, err := noopextender.Start()
		if err != nil {
			b.Fatal(err)
		}
		for _, ext := range []struct {
			name string
			url  string
		}{{"noop", noop.URL}, {"rktsched", ours.URL}} {
			b.Run(fmt.Sprintf("%s/%d", ext.name, n), func(b *testing.B) {
				client := httpExtender(b, ext.url)
				cycle := newCycle(infos)
				start := processCPU()
				i := 0
				for b.Loop() {
					cycle.run(b, client, i)
					i++
				}
				reportCPU(b, start, i)
				b.ReportMetric(float64(cycle.sent)/float64(i), "names/pod")
			})
		}
		noop.Stop()
		ours.Close()
	}
}

// processCPU is the CPU time of the whole process, every thread: client and server.
func processCPU() time.Duration {
	var r syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// reportCPU reports the process's CPU time since start per pod, as cpu-ns/pod.
func reportCPU(b *testing.B, start time.Duration, pods int) {
	b.ReportMetric(float64(processCPU()-start)/float64(pods), "cpu-ns/pod")
}

// benchCluster is the workload's first n nodes, and their NodeInfos as kube-scheduler's
// cache holds them.
func benchCluster(n int) ([]runtime.Object, []fwk.NodeInfo) {
	objs := []runtime.Object{workload.RuntimeClass}
	infos := make([]fwk.NodeInfo, n)
	for i := range n {
		node := workload.Node(i)
		objs = append(objs, node)
		infos[i] = framework.NewNodeInfo()
		infos[i].SetNode(node)
	}
	return objs, infos
}

// newRktsched is rktsched-extender with the default policy and a node cache fed by informers
// over a fake clientset holding objs.
func newRktsched(b *testing.B, objs []runtime.Object) *extender.Server {
	client := fake.NewClientset(objs...)
	nodes, err := extender.NewNodeCache(client)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	nodes.Start(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), nodes.HasSynced) {
		b.Fatal("the node cache did not sync")
	}
	srv, err := extender.New(extender.Config{
		Policy: policy.NewStore(policy.Default()), Nodes: nodes, PodCacheTTL: time.Minute,
		MaxBodyBytes: extender.DefaultMaxBodyBytes, Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// httpExtender is kube-scheduler's client for the extender at url, configured as the shipped
// kube-scheduler-config.yaml configures rktsched's.
func httpExtender(b *testing.B, url string) fwk.Extender {
	e, err := scheduler.NewHTTPExtender(&schedulerapi.Extender{
		URLPrefix: url, FilterVerb: "filter", PrioritizeVerb: "prioritize", Weight: 1, NodeCacheCapable: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// cycle sends each pod the nodes kube-scheduler's filters would find feasible for it, from
// where the last pod's search stopped.
type cycle struct {
	nodes, gpuNodes []fwk.NodeInfo
	next            int
	sent            int
	feasible        []fwk.NodeInfo
}

func newCycle(nodes []fwk.NodeInfo) *cycle {
	c := &cycle{nodes: nodes}
	for _, n := range nodes {
		if _, ok := n.Node().Status.Allocatable[cluster.GPUResource]; ok {
			c.gpuNodes = append(c.gpuNodes, n)
		}
	}
	return c
}

func (c *cycle) run(b *testing.B, e fwk.Extender, i int) {
	pod := cyclePod(i)
	feasible := c.feasibleFor(pod)
	c.sent += len(feasible)
	passed, failed, unresolvable, err := e.Filter(pod, feasible)
	if err != nil {
		b.Fatal(err)
	}
	recordRefusals(failed, unresolvable)
	if len(passed) == 0 {
		b.Fatalf("pod %s fits none of %d nodes", pod.Name, len(feasible))
	}
	if len(passed) == 1 { // kube-scheduler picks it without scoring
		return
	}
	scores, weight, err := e.Prioritize(pod, passed)
	if err != nil {
		b.Fatal(err)
	}
	mergeScores(*scores, weight, len(passed), e.Name())
}

// recordRefusals is what findNodesThatPassExtenders does with an extender's refusals.
func recordRefusals(failed, unresolvable extenderv1.FailedNodesMap) *framework.NodeToStatus {
	statuses := framework.NewDefaultNodeToStatus()
	for name, msg := range unresolvable {
		statuses.Set(name, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, msg))
	}
	for name, msg := range failed {
		if _, ok := unresolvable[name]; !ok {
			statuses.Set(name, fwk.NewStatus(fwk.Unschedulable, msg))
		}
	}
	return statuses
}

// mergeScores is what prioritizeNodes does with an extender's scores.
func mergeScores(scores extenderv1.HostPriorityList, weight int64, nodes int, extender string) map[string]*fwk.NodePluginScores {
	merged := make(map[string]*fwk.NodePluginScores, nodes)
	var mu sync.Mutex // prioritizeNodes merges each extender's scores under a lock
	mu.Lock()
	defer mu.Unlock()
	for _, hp := range scores {
		s := merged[hp.Host]
		if s == nil {
			s = &fwk.NodePluginScores{Name: hp.Host, Scores: make([]fwk.PluginScore, 0, 1)}
			merged[hp.Host] = s
		}
		final := hp.Score * weight * (fwk.MaxNodeScore / extenderv1.MaxExtenderPriority)
		s.Scores = append(s.Scores, fwk.PluginScore{Name: extender, Score: final})
		s.TotalScore += final
	}
	return merged
}

// cyclePod is pod i of the workload as the API server holds it.
func cyclePod(i int) *v1.Pod {
	pod := workload.Pod(i)
	pod.Namespace, pod.UID = "bench", types.UID(fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
	return pod
}

// feasibleFor is what kube-scheduler's filters find for pod: GPU nodes only for a GPU pod
// (NodeResourcesFit), otherwise every node, the search stopping at numFeasibleNodesToFind.
func (c *cycle) feasibleFor(pod *v1.Pod) []fwk.NodeInfo {
	if _, ok := pod.Spec.Containers[0].Resources.Requests[cluster.GPUResource]; ok {
		return c.gpuNodes
	}
	want := numFeasibleNodesToFind(len(c.nodes))
	c.feasible = c.feasible[:0]
	for len(c.feasible) < want {
		c.feasible = append(c.feasible, c.nodes[c.next])
		c.next = (c.next + 1) % len(c.nodes)
	}
	return c.feasible
}

// numFeasibleNodesToFind is kube-scheduler's, with percentageOfNodesToScore unset as in the
// shipped configuration (schedule_one.go).
func numFeasibleNodesToFind(all int) int {
	const minNodes, minPercent = 100, 5
	if all < minNodes {
		return all
	}
	percent := max(50-all/125, minPercent)
	return max(all*percent/100, minNodes)
}
