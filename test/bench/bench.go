package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
	"github.com/rktsched/rktsched/test/noopextender"
	"github.com/rktsched/rktsched/test/workload"
)

const (
	writesMetric = "rktsched_labeler_node_writes_total"
	syncsMetric  = "rktsched_labeler_sync_duration_seconds_count"
	cachedMetric = "rktsched_extender_nodes_cached"
	// heartbeatPeriod is the kubelet's default --node-status-update-frequency.
	heartbeatPeriod = 10 * time.Second
)

type bench struct {
	c                 *cluster.Cluster
	client            kubernetes.Interface // not rate-limited
	root, ours        string
	logf              func(format string, args ...any)
	extender, labeler *cluster.Component
	extenderSpec      cluster.ComponentSpec
	noop              *noopextender.Server
	// answering sends answers, rktsched's for the nodes created so far (answersMode).
	answering *noopextender.Server
	answers   policyAnswers
	nodeNames []string                 // of the nodes created, by index
	classOf   map[string]*policy.Class // by node name, under the default policy
	// profileDir, if set, receives CPU profiles profileTime long of the runs on profileNodes.
	profileDir   string
	profileTime  time.Duration
	profileNodes int
	// pluginBin is rktsched-scheduler, for the plugin mode.
	pluginBin string
}

func newBench(ctx context.Context, c *cluster.Cluster, root, ours string, logf func(string, ...any)) (*bench, error) {
	client, err := c.BulkClient()
	if err != nil {
		return nil, err
	}
	if _, err := c.Kubectl(ctx, "apply", "-k", filepath.Join(root, "manifests")); err != nil {
		return nil, err
	}
	return &bench{c: c, client: client, root: root, ours: ours, logf: logf, classOf: map[string]*policy.Class{}}, nil
}

func (b *bench) run(ctx context.Context, o options) error {
	largest := o.sizes[len(o.sizes)-1]
	b.profileDir, b.profileTime, b.profileNodes = o.profileDir, o.profileTime, largest
	if slices.Contains(o.modes, pluginMode) {
		if err := b.preparePlugin(ctx); err != nil {
			return err
		}
	}
	if err := b.createNodes(ctx, 0, o.sizes[0]); err != nil {
		return err
	}
	if _, err := b.client.NodeV1().RuntimeClasses().Create(ctx, workload.RuntimeClass, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create RuntimeClass %s: %w", workload.RuntimeClass.Name, err)
	}
	if err := b.startRktsched(ctx); err != nil {
		return err
	}
	var err error
	if b.noop, err = noopextender.Start(); err != nil {
		return err
	}
	defer b.noop.Stop()
	if b.answering, err = noopextender.StartAnswering(&b.answers); err != nil {
		return err
	}
	defer b.answering.Stop()
	var runs []runResult
	var hb heartbeatResult
	for _, n := range o.sizes {
		// Growing the cluster is faster than a new control plane per size, and the extender
		// and labeler then also show how they take thousands of new nodes.
		if err := b.createNodes(ctx, len(b.nodeNames), n); err != nil {
			return err
		}
		b.answers.update(b.classOf)
		if err := waitCached(ctx, b.extender, n); err != nil {
			return err
		}
		if err := b.waitForLabels(ctx, n); err != nil {
			return err
		}
		if n == largest {
			if hb, err = b.heartbeats(ctx, n, o.heartbeats); err != nil {
				return err
			}
		}
		sized, err := b.schedulingRuns(ctx, o, n)
		if err != nil {
			return err
		}
		runs = append(runs, sized...)
	}
	mem, err := b.extenderMemory(ctx, largest, max(o.rssNodes, largest))
	if err != nil {
		return err
	}
	report(o, runs, hb, mem)
	return nil
}

// preparePlugin finds or builds rktsched-scheduler and applies the RBAC it needs as the user
// system:kube-scheduler (reading the policy ConfigMap).
func (b *bench) preparePlugin(ctx context.Context) error {
	var err error
	if b.pluginBin, err = cluster.SchedulerPluginBinary(ctx, b.root, os.Getenv("RKTSCHED_BIN"), b.ours, os.Stderr); err != nil {
		return err
	}
	_, err = b.c.Kubectl(ctx, "apply", "-f", filepath.Join(b.root, "manifests", "scheduler", "rktsched-scheduler-rbac.yaml"))
	return err
}

func (b *bench) createNodes(ctx context.Context, from, to int) error {
	if to <= from {
		return nil
	}
	start := time.Now()
	nodes := make([]*v1.Node, to-from)
	for i := range nodes {
		nodes[i] = workload.Node(from + i)
		b.nodeNames = append(b.nodeNames, nodes[i].Name)
		b.classOf[nodes[i].Name] = policy.Default().Profile(nodes[i]).Class
	}
	err := cluster.Parallel(ctx, len(nodes), 16, func(ctx context.Context, i int) error {
		_, err := b.client.CoreV1().Nodes().Create(ctx, nodes[i], metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("create nodes: %w", err)
	}
	b.logf("created nodes %d..%d in %v", from, to-1, time.Since(start).Round(time.Millisecond))
	return nil
}

// startRktsched runs the labeler and the extender as their ServiceAccounts, as the e2e
// suite does.
func (b *bench) startRktsched(ctx context.Context) error {
	ns := policysource.DefaultNamespace
	var err error
	kubeconfig := map[string]string{}
	for _, sa := range []string{cluster.ExtenderBinary, cluster.LabelerBinary} {
		if kubeconfig[sa], err = b.c.ServiceAccountKubeconfig(ctx, ns, sa); err != nil {
			return err
		}
	}
	var extenderArgs []string
	if b.profileDir != "" {
		extenderArgs = []string{"--profiling"}
	}
	b.extenderSpec = cluster.ComponentSpec{
		Name: cluster.ExtenderBinary, Binary: filepath.Join(b.ours, cluster.ExtenderBinary),
		Kubeconfig: kubeconfig[cluster.ExtenderBinary], Args: extenderArgs,
	}
	if b.extender, err = b.c.StartComponent(ctx, b.extenderSpec); err != nil {
		return err
	}
	b.labeler, err = b.c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.LabelerBinary, Binary: filepath.Join(b.ours, cluster.LabelerBinary),
		Kubeconfig: kubeconfig[cluster.LabelerBinary],
		Args:       []string{"--leader-elect=true", "--leader-elect-identity=bench"},
	})
	return err
}

// waitForLabels waits until all n nodes carry the labels the default policy gives them.
// It lists every few seconds, not more: a list of 5000 Nodes is tens of megabytes.
func (b *bench) waitForLabels(ctx context.Context, n int) error {
	start := time.Now()
	for {
		unlabelled, _, err := cluster.Unlabelled(ctx, b.client, policy.Default())
		if err != nil {
			return err
		}
		if unlabelled == 0 {
			b.logf("the labeler labelled %d nodes in %v", n, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(start) > 5*time.Minute {
			return fmt.Errorf("%d of %d nodes still not labelled after %v", unlabelled, n, time.Since(start))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// heartbeatResult is what the labeler did while the nodes sent heartbeats.
type heartbeatResult struct {
	nodes, updates int
	syncs, writes  float64
	// extender and labeler are their memory once the heartbeats are over (peak: meanwhile
	// or before).
	extender, labeler cluster.Memory
}

// heartbeats updates every node's Ready condition's lastHeartbeatTime each heartbeatPeriod,
// as kubelets do, for d, and counts the labeler's syncs and writes meanwhile.
func (b *bench) heartbeats(ctx context.Context, n int, d time.Duration) (heartbeatResult, error) {
	r := heartbeatResult{nodes: n}
	writes0, syncs0, err := b.labelerCounters(ctx)
	if err != nil {
		return r, err
	}
	b.logf("heartbeats from %d nodes every %v for %v", n, heartbeatPeriod, d)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		tick := time.Now()
		patch := fmt.Appendf(nil, `{"status":{"conditions":[{"type":"Ready","status":"True","lastHeartbeatTime":%q}]}}`,
			tick.UTC().Format(time.RFC3339))
		err := cluster.Parallel(ctx, n, 16, func(ctx context.Context, i int) error {
			_, err := b.client.CoreV1().Nodes().PatchStatus(ctx, b.nodeNames[i], patch)
			return err
		})
		if err != nil {
			return r, fmt.Errorf("heartbeat: %w", err)
		}
		r.updates += n
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Until(tick.Add(heartbeatPeriod))):
		}
	}
	writes1, syncs1, err := b.labelerCounters(ctx)
	if err != nil {
		return r, err
	}
	r.writes, r.syncs = writes1-writes0, syncs1-syncs0
	if r.extender, err = cluster.MemoryOf(b.extender.Pid()); err != nil {
		return r, err
	}
	if r.labeler, err = cluster.MemoryOf(b.labeler.Pid()); err != nil {
		return r, err
	}
	b.logf("%d heartbeats: the labeler synced %.0f times and wrote %.0f times; RSS: extender %s, labeler %s",
		r.updates, r.syncs, r.writes, mib(r.extender.RSS), mib(r.labeler.RSS))
	return r, nil
}

func (b *bench) labelerCounters(ctx context.Context) (writes, syncs float64, err error) {
	var errs [2]error
	var found [2]bool
	writes, found[0], errs[0] = cluster.MetricSum(ctx, b.labeler.URL, writesMetric)
	syncs, found[1], errs[1] = cluster.MetricSum(ctx, b.labeler.URL, syncsMetric)
	if err := errors.Join(errs[:]...); err != nil {
		return 0, 0, err
	}
	if !found[0] || !found[1] {
		return 0, 0, fmt.Errorf("the labeler's /metrics lacks %s or %s", writesMetric, syncsMetric)
	}
	return writes, syncs, nil
}

// memoryResult is the extenders' and the labeler's memory with many nodes.
type memoryResult struct {
	nodes int
	// fresh is an extender started with every node already there: its memory is the cache's
	// (and the initial list's), with no request served. running is the extender that served
	// the scheduling runs, full-Node requests of 1000 nodes included.
	fresh, running, labeler cluster.Memory
	// freshHeap is the fresh extender's Go heap in use (go_memstats_heap_inuse_bytes).
	freshHeap float64
}

// extenderMemory grows the cluster to total nodes, then reads the memory of the extender
// that served the runs, of the labeler, and of a fresh extender once its cache is full.
func (b *bench) extenderMemory(ctx context.Context, have, total int) (memoryResult, error) {
	r := memoryResult{nodes: total}
	if err := b.createNodes(ctx, have, total); err != nil {
		return r, err
	}
	if err := waitCached(ctx, b.extender, total); err != nil {
		return r, err
	}
	if err := b.waitForLabels(ctx, total); err != nil {
		return r, err
	}
	var err error
	if r.running, err = cluster.MemoryOf(b.extender.Pid()); err != nil {
		return r, err
	}
	if r.labeler, err = cluster.MemoryOf(b.labeler.Pid()); err != nil {
		return r, err
	}
	spec := b.extenderSpec
	spec.Name += "-fresh"
	fresh, err := b.c.StartComponent(ctx, spec)
	if err != nil {
		return r, err
	}
	defer fresh.Stop(5 * time.Second)
	if err := waitCached(ctx, fresh, total); err != nil {
		return r, err
	}
	if r.fresh, err = cluster.MemoryOf(fresh.Pid()); err != nil {
		return r, err
	}
	if r.freshHeap, _, err = fresh.Metric(ctx, "go_memstats_heap_inuse_bytes"); err != nil {
		return r, err
	}
	b.logf("with %d nodes: fresh extender RSS %s (peak %s, Go heap in use %s); extender after the runs RSS %s (peak %s); labeler RSS %s (peak %s)",
		total, mib(r.fresh.RSS), mib(r.fresh.PeakRSS), mib(int64(r.freshHeap)), mib(r.running.RSS), mib(r.running.PeakRSS),
		mib(r.labeler.RSS), mib(r.labeler.PeakRSS))
	return r, nil
}

// waitCached waits until the extender's node cache holds n nodes.
func waitCached(ctx context.Context, extender *cluster.Component, n int) error {
	return cluster.Poll(ctx, time.Minute, func(ctx context.Context) error {
		got, _, err := extender.Metric(ctx, cachedMetric)
		if err != nil {
			return err
		}
		if int(got) != n {
			return fmt.Errorf("%s = %v, want %d", cachedMetric, got, n)
		}
		return nil
	})
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }
