package extender

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// TestConcurrentRequests runs every verb and mode at once while nodes change and the
// policy flips, for the race detector; every answer must still be whole and consistent.
func TestConcurrentRequests(t *testing.T) {
	nodes := benchNodes(200)
	s := newTestServer(t, false, nodes...)
	gpu := pod("gpu", gpuPod)
	policies := []*policy.Policy{policy.Default(), mustParse(t, policytest.EditDefault(t,
		"gpu:                   {action: filter", "gpu:                   {action: ignore"))}
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := prodlike.Node(i % len(nodes))
			n.ResourceVersion = fmt.Sprint(i)
			if i%3 == 0 {
				n.Annotations[policy.AnnotationStage1Image] = "coreos.com/rkt/stage1-fly:1.29.0"
			}
			s.nodes.update(n)
			if i%50 == 0 {
				p := policies[i/50%2]
				s.store.Set(p)
				s.PolicyChanged(p)
			}
		}
	}()
	asked := map[string]bool{}
	for _, name := range names(nodes) {
		asked[name] = true
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				mode := modes[(w+i)%2]
				body := mode.args(gpu, nodes)
				switch i % 3 {
				case 0:
					var res extenderv1.ExtenderFilterResult
					decodeOK(t, serve(t, s, http.MethodPost, "filter", body), &res)
					if got := len(passedNames(&res)) + len(res.FailedAndUnresolvableNodes); got != len(nodes) {
						t.Errorf("filter accounted for %d nodes, want %d", got, len(nodes))
					}
				case 1:
					var res extenderv1.HostPriorityList
					decodeOK(t, serve(t, s, http.MethodPost, "prioritize", body), &res)
					// Scores are relative to the lowest: each listed node once, scoring 1..10.
					seen := map[string]bool{}
					for _, hp := range res {
						if !asked[hp.Host] || seen[hp.Host] || hp.Score < 1 || hp.Score > extenderv1.MaxExtenderPriority {
							t.Errorf("prioritize listed %s (score %d): want each node asked at most once, scoring 1..10", hp.Host, hp.Score)
						}
						seen[hp.Host] = true
					}
				case 2:
					var res extenderv1.ExtenderPreemptionResult
					decodeOK(t, serve(t, s, http.MethodPost, "preempt", forms[w%2].args(gpu, names(nodes))), &res)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
}

func mustParse(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAllocationsDoNotGrowWithNodes: past the answer, judging a node allocates nothing, so
// a request's allocation count is the same at 50 and at 2000 nodes. The exception is preempt,
// whose victims come in an object keyed by node name: jsontext's duplicate-name check keeps
// the names of an object of over 64 members in a map, one string each (at most one
// allocation per candidate node, and kube-scheduler sends at most max(100, 10%) candidates).
func TestAllocationsDoNotGrowWithNodes(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers at random")
	}
	p := prodlike.Pod("incoming", 0)
	allocs := func(verb, mode string, n int) float64 {
		nodes := benchNodes(n)
		s := newTestServer(t, false, nodes...)
		var body []byte
		switch {
		case verb == "preempt" && mode == "names":
			body = forms[1].args(p, names(nodes))
		case verb == "preempt":
			body = forms[0].args(p, names(nodes))
		case mode == "names":
			body = namesArgs(p, nodes)
		default:
			body = nodesArgs(p, nodes)
		}
		serveBench(s, verb, body) // fill the caches and pools
		return testing.AllocsPerRun(20, func() { serveBench(s, verb, body) })
	}
	for _, verb := range allVerbs {
		for _, mode := range []string{"names", "nodes"} {
			t.Run(verb+"/"+mode, func(t *testing.T) {
				small, large := allocs(verb, mode, 50), allocs(verb, mode, 2000)
				allowed := small + 2
				if verb == "preempt" {
					allowed += 2000 + 16 // the duplicate-name check: a string per name and the map growing
				}
				if large > allowed {
					t.Errorf("%v allocations at 50 nodes, %v at 2000: judging nodes allocates", small, large)
				}
			})
		}
	}
}
