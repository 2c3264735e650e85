package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
	"github.com/rktsched/rktsched/test/workload"
)

// mode is how kube-scheduler runs: without the extender, or with it in one payload mode.
type mode string

const (
	withoutExtender mode = "none"
	namesMode       mode = "names" // nodeCacheCapable: true
	nodesMode       mode = "nodes" // nodeCacheCapable: false: full Nodes
	// noopMode is names mode with noopextender.Server in place of rktsched's.
	noopMode mode = "noop"
	// answersMode is names mode with an extender that sends rktsched's answers, looked up
	// in tables made before the run (policyAnswers): what rktsched's answers cost
	// kube-scheduler, without rktsched's work. noop/answers is the part of noop/names no
	// extender giving these answers can avoid; answers/names is rktsched-extender's own.
	answersMode mode = "answers"
	// pluginMode is rktsched-scheduler (kube-scheduler with the Rktsched plugin) with the
	// shipped rktsched-scheduler-config.yaml, no extender.
	pluginMode mode = "plugin"
	// affinityMode is kube-scheduler without extender, each pod carrying its hard needs as a
	// required node affinity on the capability labels: the same nodes refused, by
	// kube-scheduler's own NodeAffinity plugin. It is what refusing those nodes costs any
	// scheduler (more nodes to filter before enough feasible ones are found), the floor for
	// the plugin mode.
	affinityMode mode = "affinity"
)

// parseModes reads a comma-separated list of modes; the RATIO lines need "none" first.
func parseModes(list string) ([]mode, error) {
	var out []mode
	for _, m := range strings.Split(list, ",") {
		switch mode(m) {
		case withoutExtender, namesMode, nodesMode, noopMode, answersMode, pluginMode, affinityMode:
			out = append(out, mode(m))
		default:
			return nil, fmt.Errorf("unknown mode %q (want none, names, nodes, noop, answers, plugin or affinity)", m)
		}
	}
	if out[0] != withoutExtender {
		return nil, fmt.Errorf("%q: the runs without the extender come first, the ratios divide by them", list)
	}
	return out, nil
}

// schedulerQPS replaces kube-scheduler's default API client limit (50 requests/s, 100 burst)
// in every run, as kube-scheduler's own scheduler_perf does: at the default, binding is
// capped at 50 pods/s whatever the extender costs.
const schedulerQPS = 5000

const (
	extenderSecondsMetric = "rktsched_extender_request_duration_seconds_sum"
	apiRequestsMetric     = "apiserver_request_total"
)

// runResult is one scheduling run: kube-scheduler started with every pod pending, until the
// last was bound.
type runResult struct {
	mode               mode
	round, nodes, pods int
	// wall is from kube-scheduler's start to the last binding (start-up and cache sync
	// included); steady from the first binding to the last.
	wall, steady time.Duration
	// misplaced counts pods bound to a node whose runtime cannot run them.
	misplaced int
	// extenderTime is the extender's own time answering this run's requests.
	extenderTime time.Duration
	// cpu is the CPU time each process used during the run, by process name.
	cpu map[string]time.Duration
	// attempts is kube-scheduler's scheduling attempts (scheduler_schedule_attempts_total,
	// any result): more than pods means some attempts failed and were retried.
	attempts float64
	// apiRequests is how many requests kube-apiserver served during the run.
	apiRequests float64
	// namesPerFilter is how many node names kube-scheduler sent per filter request, counted
	// by the noop extender (noop mode only).
	namesPerFilter float64
}

// podsPerSecond is the steady binding rate.
func (r runResult) podsPerSecond() float64 { return float64(r.pods-1) / r.steady.Seconds() }

// schedulingRuns runs the modes round after round on the cluster's nodes, so that drift on a
// noisy machine hits them alike.
func (b *bench) schedulingRuns(ctx context.Context, o options, nodes int) ([]runResult, error) {
	shipped, err := os.ReadFile(filepath.Join(b.root, cluster.SchedulerConfigPath))
	if err != nil {
		return nil, err
	}
	n := o.pods
	if n == 0 {
		n = nodes
	}
	pods := make([]*v1.Pod, n)
	withAffinity := make([]*v1.Pod, n)
	for i := range pods {
		pods[i] = workload.Pod(i)
		withAffinity[i] = workload.HardNeedsAsAffinity(policy.Default(), pods[i])
	}
	var results []runResult
	for round := 1; round <= o.rounds; round++ {
		for _, m := range roundOrder(o.modes, round) {
			cfg, err := b.schedulerConfig(shipped, m)
			if err != nil {
				return nil, err
			}
			runPods := pods
			if m == affinityMode {
				runPods = withAffinity
			}
			r, err := b.schedule(ctx, cfg, m, round, runPods)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round, m, err)
			}
			b.logf("%d nodes, round %d %-8s: %d pods bound in %v (%v from the first binding): %.0f pods/s; %d on nodes that cannot run them; %.0f scheduling attempts; extender busy %v",
				nodes, round, m, r.pods, r.wall.Round(time.Millisecond), r.steady.Round(time.Millisecond), r.podsPerSecond(), r.misplaced, r.attempts, r.extenderTime.Round(time.Millisecond))
			if m != withoutExtender && m != noopMode && r.misplaced > 0 {
				return nil, fmt.Errorf("round %d, %s: %d pods on nodes that cannot run them", round, m, r.misplaced)
			}
			results = append(results, r)
		}
	}
	return results, nil
}

// roundOrder is the order of the modes in a round: as given in odd rounds, the modes after
// "none" reversed in even ones, so that a machine slowing down (or speeding up) within a round
// does not always favour the same mode of a pair.
func roundOrder(modes []mode, round int) []mode {
	if round%2 == 1 {
		return modes
	}
	out := slices.Clone(modes)
	slices.Reverse(out[1:])
	return out
}

// schedulerConfig is the shipped KubeSchedulerConfiguration for this cluster, in mode m, with
// the client limit raised.
func (b *bench) schedulerConfig(shipped []byte, m mode) ([]byte, error) {
	if m == pluginMode {
		return b.pluginSchedulerConfig()
	}
	url := b.extender.URL
	switch m {
	case noopMode:
		url = b.noop.URL
	case answersMode:
		url = b.answering.URL
	}
	cfg, err := cluster.LocalSchedulerConfigWith(shipped, b.c.SchedulerKubeconfig(),
		cluster.SchedulerOptions{ExtenderURL: url, NodeCacheCapable: m != nodesMode})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, err
	}
	if m == withoutExtender || m == affinityMode {
		delete(doc, "extenders")
	}
	conn, _ := doc["clientConnection"].(map[string]any)
	conn["qps"], conn["burst"] = schedulerQPS, schedulerQPS
	return yaml.Marshal(doc)
}

// pluginSchedulerConfig is the shipped rktsched-scheduler configuration for this cluster
// (kubeconfig, leader election off), with the client limit raised.
func (b *bench) pluginSchedulerConfig() ([]byte, error) {
	shipped, err := os.ReadFile(filepath.Join(b.root, cluster.PluginSchedulerConfigPath))
	if err != nil {
		return nil, err
	}
	cfg, err := cluster.LocalPluginSchedulerConfig(shipped, b.c.SchedulerKubeconfig(), false)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(cfg, &doc); err != nil {
		return nil, err
	}
	conn, _ := doc["clientConnection"].(map[string]any)
	conn["qps"], conn["burst"] = schedulerQPS, schedulerQPS
	return yaml.Marshal(doc)
}

// schedule creates pods in a new namespace, starts kube-scheduler and times the bindings as
// a watch sees them, then stops kube-scheduler and deletes the pods.
func (b *bench) schedule(ctx context.Context, config []byte, m mode, round int, pods []*v1.Pod) (runResult, error) {
	r := runResult{mode: m, round: round, nodes: len(b.nodeNames), pods: len(pods)}
	ns := fmt.Sprintf("bench-%d-%d-%s", r.nodes, round, m)
	if err := b.c.EnsureNamespace(ctx, ns); err != nil {
		return r, err
	}
	err := cluster.Parallel(ctx, len(pods), 16, func(ctx context.Context, i int) error {
		_, err := b.client.CoreV1().Pods(ns).Create(ctx, pods[i], metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return r, fmt.Errorf("create pods: %w", err)
	}
	defer func() {
		if err := b.deletePods(ctx, ns); err != nil {
			b.logf("delete pods in %s: %v", ns, err)
		}
	}()
	binds := newBindings(len(pods))
	stop := make(chan struct{})
	factory := informers.NewSharedInformerFactoryWithOptions(b.client, 0, informers.WithNamespace(ns))
	defer func() {
		close(stop)
		factory.Shutdown() // waits for the informer, which stop ends
	}()
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    binds.observe,
		UpdateFunc: func(_, obj any) { binds.observe(obj) },
	}); err != nil {
		return r, err
	}
	factory.Start(stop)
	factory.WaitForCacheSync(stop)

	busy0, _, err := cluster.MetricSum(ctx, b.extender.URL, extenderSecondsMetric)
	if err != nil {
		return r, err
	}
	cpu0, err := b.cpuTimes()
	if err != nil {
		return r, err
	}
	requests0, _, err := b.c.APIServerMetric(ctx, apiRequestsMetric)
	if err != nil {
		return r, err
	}
	filters0, names0 := b.noop.Counts()
	noopBusy0, answeringBusy0 := b.noop.Busy(), b.answering.Busy()
	start := time.Now()
	name := fmt.Sprintf("kube-scheduler-%d-%d-%s", r.nodes, round, m)
	args := []string{"--v=1", "--authorization-always-allow-paths=/healthz,/metrics,/debug/pprof/*"}
	binary := b.c.Bin("kube-scheduler")
	if m == pluginMode {
		binary = b.pluginBin
	}
	sched, err := b.c.StartSchedulerBinary(ctx, name, binary, config, args...)
	if err != nil {
		return r, err
	}
	defer sched.Stop(5 * time.Second)
	if b.profileDir != "" && r.nodes == b.profileNodes {
		profiled := map[string]*cluster.Component{"kube-scheduler": sched}
		if m == namesMode || m == nodesMode {
			profiled[cluster.ExtenderBinary] = b.extender
		}
		var profiles sync.WaitGroup
		defer profiles.Wait()
		over := make(chan struct{}) // before profiles.Wait: a run that never binds has nothing to profile
		defer close(over)
		for process, comp := range profiled {
			file := filepath.Join(b.profileDir, fmt.Sprintf("%s-%d-%d-%s.pprof", process, r.nodes, round, m))
			profiles.Go(func() {
				// From the first binding: kube-scheduler's start-up (listing every node and
				// pod) would fill a short profile at thousands of nodes.
				select {
				case <-binds.first:
				case <-over:
					return
				}
				if err := profile(ctx, comp, file, b.profileTime); err != nil {
					b.logf("profile of %s: %v", comp.Name, err)
				}
			})
		}
	}
	select {
	case <-binds.all:
	case <-sched.Done():
		return r, fmt.Errorf("kube-scheduler exited: %w\n%s", sched.Err(), sched.LogTail(20))
	case <-time.After(10 * time.Minute):
		return r, fmt.Errorf("%d of %d pods bound after 10 minutes", binds.count(), len(pods))
	case <-ctx.Done():
		return r, ctx.Err()
	}
	cpu1, err := b.cpuTimes()
	if err != nil {
		return r, err
	}
	// kube-scheduler counts an attempt once its binding returns, which the watch may see
	// first: give the last ones a moment.
	err = cluster.Poll(ctx, 5*time.Second, func(ctx context.Context) error {
		var err error
		if r.attempts, _, err = sched.Metric(ctx, "scheduler_schedule_attempts_total"); err != nil {
			return err
		}
		if int(r.attempts) < len(pods) {
			return fmt.Errorf("%v scheduling attempts for %d pods bound", r.attempts, len(pods))
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	requests1, _, err := b.c.APIServerMetric(ctx, apiRequestsMetric)
	if err != nil {
		return r, err
	}
	r.apiRequests = requests1 - requests0
	r.cpu = map[string]time.Duration{}
	for name, t := range cpu1 {
		r.cpu[name] = t - cpu0[name]
	}
	busy1, _, err := cluster.MetricSum(ctx, b.extender.URL, extenderSecondsMetric)
	if err != nil {
		return r, err
	}
	r.extenderTime = time.Duration((busy1 - busy0) * float64(time.Second))
	switch m {
	case noopMode:
		r.extenderTime = b.noop.Busy() - noopBusy0
	case answersMode:
		r.extenderTime = b.answering.Busy() - answeringBusy0
	}
	if filters1, names1 := b.noop.Counts(); m == noopMode && filters1 > filters0 {
		r.namesPerFilter = float64(names1-names0) / float64(filters1-filters0)
	}
	r.wall, r.steady = binds.last.Sub(start), binds.last.Sub(binds.firstAt)
	r.misplaced = b.misplaced(pods, binds.nodes)
	return r, nil
}

// cpuTimes returns the CPU time used so far by each running process of the cluster, by
// name; every kube-scheduler counts as "kube-scheduler".
func (b *bench) cpuTimes() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, p := range b.c.Processes() {
		if !p.Running() {
			continue
		}
		t, err := cluster.CPUTimeOf(p.Pid())
		if err != nil {
			return nil, err
		}
		name := p.Name
		if strings.HasPrefix(name, "kube-scheduler") {
			name = "kube-scheduler"
		}
		out[name] += t
	}
	// The bench's own: its watch on the pods, and in the noop and answers modes the
	// extender it serves.
	t, err := cluster.CPUTimeOf(os.Getpid())
	if err != nil {
		return nil, err
	}
	out[benchProcess] = t
	return out, nil
}

// benchProcess is the bench's own CPU time in runResult.cpu.
const benchProcess = "bench"

// misplaced counts pods bound to a node the default policy says cannot run them.
func (b *bench) misplaced(pods []*v1.Pod, nodeOf map[string]string) int {
	n := 0
	for _, p := range pods {
		class := b.classOf[nodeOf[p.Name]]
		if class == nil || !policy.Default().AnalyzeWith(p, workload.Objects).Verdict(class).Fits {
			n++
		}
	}
	return n
}

func (b *bench) deletePods(ctx context.Context, ns string) error {
	if err := b.c.DeletePods(ctx, ns); err != nil {
		return err
	}
	return cluster.Poll(ctx, time.Minute, func(ctx context.Context) error {
		list, err := b.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{Limit: 1})
		if err != nil {
			return err
		}
		if len(list.Items) > 0 {
			return fmt.Errorf("pods left in %s", ns)
		}
		return nil
	})
}

// bindings records when each pod was first seen bound, and where.
type bindings struct {
	want       int
	first, all chan struct{} // closed when the first pod, and when want pods, are bound
	mu         sync.Mutex
	nodes      map[string]string // pod name -> node
	firstAt    time.Time
	last       time.Time
}

func newBindings(want int) *bindings {
	return &bindings{want: want, first: make(chan struct{}), all: make(chan struct{}), nodes: make(map[string]string, want)}
}

func (bs *bindings) observe(obj any) {
	p, ok := obj.(*v1.Pod)
	if !ok || p.Spec.NodeName == "" {
		return
	}
	now := time.Now()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if _, seen := bs.nodes[p.Name]; seen {
		return
	}
	bs.nodes[p.Name] = p.Spec.NodeName
	if len(bs.nodes) == 1 {
		bs.firstAt = now
		close(bs.first)
	}
	bs.last = now
	if len(bs.nodes) == bs.want {
		close(bs.all)
	}
}

func (bs *bindings) count() int {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	return len(bs.nodes)
}

// profile writes a CPU profile of comp over d to path.
func profile(ctx context.Context, comp *cluster.Component, path string, d time.Duration) error {
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", comp.URL, max(1, int(d.Seconds())))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// The component's client may time out (the extender's: 10 s) before the profile ends.
	client := &http.Client{Transport: comp.Client.Transport, Timeout: d + 30*time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
