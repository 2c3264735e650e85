package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	toolscache "k8s.io/client-go/tools/cache"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/rktsched/rktsched/extender"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
	"github.com/rktsched/rktsched/test/cluster"
)

// TestParityWithExtender: the same pods and nodes, one of every class of the default policy,
// through the extender's HTTP handler (full-Node requests, as kube-scheduler sends them) and
// through the plugin give the same nodes that fit, the same reason strings for the others and
// the same scores up to a constant (kube-scheduler scales the extender's 0..10 by 10).
func TestParityWithExtender(t *testing.T) {
	p := policy.Default()
	nodes := allClassNodes(t, p)
	ext, err := extender.New(extender.Config{Policy: policy.NewStore(p), PodCacheTTL: time.Minute, MaxBodyBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ext)
	defer srv.Close()
	checkParity(t, testPlugin(p, nil), srv.URL, caveatPods(t), nodes)
}

// TestParityOnHandlers is TestParityWithExtender on nodes that report runtime handlers and
// features, with pods naming RuntimeClasses (one that does not exist too): the plugin reads
// the RuntimeClasses from its objects, the extender from its informers.
func TestParityOnHandlers(t *testing.T) {
	// fly's lack of namespace isolation ignored: then no class of the document refuses the
	// plain handler pods, and only the handler nodes' own classes do.
	doc := policytest.EditDefault(t, "namespace-isolation:   {action: filter, weight: 5}", "namespace-isolation:   {action: ignore, weight: 5}")
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	var nodes []*v1.Node
	for i, spec := range cluster.HandlerNodes() {
		n := spec.Node(i)
		nodes = append(nodes, n)
		objs = append(objs, n)
	}
	set := policy.NewObjectSet()
	for _, rc := range cluster.HandlerRuntimeClasses() {
		objs = append(objs, rc)
		set.Add(rc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cache *extender.NodeCache
	cache, err = extender.NewNodeCache(fake.NewClientset(objs...))
	if err != nil {
		t.Fatal(err)
	}
	cache.Start(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), cache.HasSynced) {
		t.Fatal("the extender's caches did not sync")
	}
	ext, err := extender.New(extender.Config{Policy: policy.NewStore(p), Nodes: cache, PodCacheTTL: time.Minute, MaxBodyBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ext)
	defer srv.Close()
	files, err := cluster.LoadPods(filepath.Join("..", "..", cluster.HandlerPodsDir))
	if err != nil {
		t.Fatal(err)
	}
	var pods []*v1.Pod
	for _, f := range files {
		for _, rc := range []string{"", "kata", "gvisor", "wasm", "missing"} {
			pod := f.Pod.DeepCopy()
			pod.Name, pod.Namespace, pod.Spec.RuntimeClassName = pod.Name+"-"+rc, "default", &rc
			pods = append(pods, pod)
		}
	}
	for _, pod := range pods {
		// A plugin and policy of its own for each pod: PreFilter meets these nodes' classes
		// for the first time (neither the extender's classifying them nor an earlier pod's
		// Filter calls must help it).
		own, err := policy.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		pl := testPlugin(own, nil)
		pl.objects = set
		checkParity(t, pl, srv.URL, []*v1.Pod{pod}, nodes)
	}
}

// checkParity sends each pod and the nodes to the extender (full Nodes) and through the
// plugin as the framework calls it, and compares what fits, the reasons and the scores.
func checkParity(t *testing.T, pl *Plugin, url string, pods []*v1.Pod, nodes []*v1.Node) {
	t.Helper()
	var infos []fwk.NodeInfo
	for _, n := range nodes {
		infos = append(infos, nodeInfo(n))
	}
	for _, pod := range pods {
		t.Run(pod.Name, func(t *testing.T) {
			// The extender.
			var filtered extenderv1.ExtenderFilterResult
			post(t, url+"/filter", extenderv1.ExtenderArgs{Pod: pod, Nodes: nodeList(nodes)}, &filtered)
			if filtered.Error != "" || len(filtered.FailedNodes) > 0 {
				t.Fatalf("extender filter: error %q, failed %v", filtered.Error, filtered.FailedNodes)
			}
			var extFits []string
			for _, n := range filtered.Nodes.Items {
				extFits = append(extFits, n.Name)
			}
			extScores := map[string]int64{}
			if len(extFits) > 0 {
				var prio extenderv1.HostPriorityList
				post(t, url+"/prioritize", extenderv1.ExtenderArgs{Pod: pod, Nodes: filtered.Nodes}, &prio)
				for _, hp := range prio {
					extScores[hp.Host] = hp.Score * (100 / extenderv1.MaxExtenderPriority)
				}
			}

			// The plugin, as the framework calls it.
			cs := framework.NewCycleState()
			_, st := pl.PreFilter(context.Background(), cs, pod, infos)
			if !st.IsSuccess() && !st.IsSkip() {
				t.Fatal(st)
			}
			var plFits []string
			plRefused := map[string]string{}
			for _, n := range nodes {
				if st.IsSkip() {
					plFits = append(plFits, n.Name)
					continue
				}
				if fst := pl.Filter(context.Background(), cs, pod, nodeInfo(n)); fst.IsSuccess() {
					plFits = append(plFits, n.Name)
				} else {
					plRefused[n.Name] = fst.Message()
				}
			}
			plScores := map[string]int64{}
			if !pl.PreScore(context.Background(), cs, pod, nil).IsSkip() {
				lowest := int64(-1)
				for _, n := range nodes {
					if !slices.Contains(plFits, n.Name) {
						continue
					}
					s, st := pl.Score(context.Background(), cs, pod, nodeInfo(n))
					if !st.IsSuccess() {
						t.Fatal(st)
					}
					plScores[n.Name] = s
					if lowest < 0 || s < lowest {
						lowest = s
					}
				}
				// Relative, as the extender answers: each less the lowest, zeros left out.
				for name, s := range plScores {
					if plScores[name] = s - lowest; plScores[name] == 0 {
						delete(plScores, name)
					}
				}
			}

			if diff := cmp.Diff(extFits, plFits); diff != "" {
				t.Errorf("nodes that fit (-extender +plugin):\n%s", diff)
			}
			if diff := cmp.Diff(filtered.FailedAndUnresolvableNodes, extenderv1.FailedNodesMap(plRefused)); diff != "" {
				t.Errorf("refusal reasons (-extender +plugin):\n%s", diff)
			}
			if diff := cmp.Diff(extScores, plScores); diff != "" {
				t.Errorf("relative scores (-extender +plugin):\n%s", diff)
			}
		})
	}
}

func nodeList(nodes []*v1.Node) *v1.NodeList {
	l := &v1.NodeList{}
	for _, n := range nodes {
		l.Items = append(l.Items, *n)
	}
	return l
}

func post(t *testing.T, url string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}
