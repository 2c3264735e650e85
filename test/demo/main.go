// Command demo shows rktsched at work on a local control plane: a small mixed cluster of
// Docker and rkt (stage1 coreos, kvm, fly) nodes, the labeler and the extender running with the
// shipped manifests' ServiceAccounts and the shipped kube-scheduler configuration, and the test
// pods of test/testdata/pods, one per known rkt issue. It prints where each pod went and why
// rktsched refused the other nodes, then `kubectl rktsched explain` of a Pending pod. Run it
// with `make demo` (KEEP=1 leaves the cluster up).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

const namespace = "demo"

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d := &demo{out: os.Stdout, start: time.Now(), keep: keepRequested(os.Getenv("KEEP")), objects: policy.NewObjectSet()}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		if d.c != nil {
			fmt.Fprintf(os.Stderr, "logs: %s\n", filepath.Join(d.c.Dir, "logs"))
		}
		return 1
	}
	return 0
}

func keepRequested(v string) bool {
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

type demo struct {
	out   io.Writer
	start time.Time
	keep  bool
	step  int
	c     *cluster.Cluster
	// objects are the RuntimeClasses created, for the needs column.
	objects *policy.ObjectSet
}

const steps = 10

// phase prints one progress line per phase: the first build takes minutes.
func (d *demo) phase(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "[%d/%d %5.1fs] %s\n", d.step, steps, time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demo) run(ctx context.Context) (err error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rktsched-demo-")
	if err != nil {
		return err
	}
	defer func() {
		if d.keep && err == nil {
			return
		}
		if d.c != nil {
			d.c.Stop()
		}
		if err == nil {
			_ = os.RemoveAll(dir) // on failure the logs stay for reading
		}
	}()

	d.phase("building etcd, kube-apiserver, kube-scheduler and kubectl (first run: about 10 minutes; cached after)")
	binDir, err := cluster.ControlPlaneBinaries(ctx, root, os.Stderr)
	if err != nil {
		return err
	}
	d.phase("building rktsched-extender, rktsched-labeler and kubectl-rktsched")
	ours, err := cluster.ProjectBinaries(ctx, root, os.Getenv("RKTSCHED_BIN"), filepath.Join(dir, "bin"), os.Stderr)
	if err != nil {
		return err
	}

	d.phase("starting etcd and kube-apiserver on loopback (RBAC on)")
	if d.c, err = cluster.Start(ctx, cluster.Config{BinDir: binDir, Dir: dir, Detach: d.keep}); err != nil {
		return err
	}
	c := d.c

	nodes := cluster.MixedNodes()
	d.phase("applying manifests/ and creating %d nodes: %s", len(nodes), describeNodes(nodes))
	if _, err := c.Kubectl(ctx, "apply", "-k", filepath.Join(root, "manifests")); err != nil {
		return err
	}
	if err := c.CreateNodes(ctx, nodes); err != nil {
		return err
	}

	d.phase("starting rktsched-labeler and rktsched-extender (as their ServiceAccounts) and kube-scheduler")
	extender, err := d.startRktsched(ctx, root, ours)
	if err != nil {
		return err
	}
	if err := waitForLabels(ctx, c); err != nil {
		return err
	}

	pods, err := d.submit(ctx, filepath.Join(root, cluster.PodsDir), namespace, "one per known rkt issue")
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // let a pod refused once on a transient reason be placed

	d.phase("done: where each pod went, and why rktsched refused the other nodes")
	if err := d.report(ctx, extender, namespace, pods); err != nil {
		return err
	}
	out, err := c.Kubectl(ctx, "get", "nodes", "-L", policy.LabelRuntime+","+policy.LabelStage1)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n$ kubectl get nodes -L %s,%s\n%s", policy.LabelRuntime, policy.LabelStage1, out)
	if err := d.explain(ctx, ours, explainPod); err != nil {
		return err
	}
	if err := d.handlers(ctx, root, extender); err != nil {
		return err
	}

	if d.keep {
		return d.printKeep()
	}
	fmt.Fprintf(d.out, "\nStopping the cluster (make demo KEEP=1 leaves it running).\n")
	return nil
}

// handlersNamespace holds the pods of the demo's second section.
const handlersNamespace = "demo-handlers"

// handlers is the demo's second section, today's runtimes: containerd nodes whose kubelets
// report runtime handlers (runc, kata-qemu, runsc) and their features in node status, one
// containerd 1.7 declaring its handlers by annotation, RuntimeClasses for them, and one pod
// per rule, shown as the rkt pods are.
func (d *demo) handlers(ctx context.Context, root string, extender *cluster.Component) error {
	c := d.c
	nodes := cluster.HandlerNodes()
	d.phase("today's runtimes: creating %d nodes whose status reports runtime handlers (%s) and RuntimeClasses kata, gvisor, wasm",
		len(nodes), describeHandlers(nodes))
	for i, s := range nodes {
		if _, err := c.Client.CoreV1().Nodes().Create(ctx, s.Node(100+i), metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, rc := range cluster.HandlerRuntimeClasses() {
		if _, err := c.Client.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			return err
		}
		d.objects.Add(rc)
	}
	if err := waitForLabels(ctx, c); err != nil {
		return err
	}
	pods, err := d.submit(ctx, filepath.Join(root, cluster.HandlerPodsDir), handlersNamespace, "one per rule")
	if err != nil {
		return err
	}
	d.phase("done: where each pod went, and why rktsched refused the other nodes")
	if err := d.report(ctx, extender, handlersNamespace, pods); err != nil {
		return err
	}
	labels := strings.Join([]string{policy.LabelRuntimeVersion, policy.HandlerLabel("kata-qemu"), policy.HandlerLabel("runsc"),
		policy.CapabilityLabel(policy.UserNamespaces)}, ",")
	out, err := c.Kubectl(ctx, "get", "nodes", "-l", cluster.HandlerPool, "-L", labels)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n$ kubectl get nodes -l %s -L %s\n%s", cluster.HandlerPool, labels, out)
	return nil
}

// submit creates the pods of dir in namespace and waits until each is placed or refused.
func (d *demo) submit(ctx context.Context, dir, namespace, what string) ([]*v1.Pod, error) {
	podFiles, err := cluster.LoadPods(dir)
	if err != nil {
		return nil, err
	}
	d.phase("submitting %d pods from %s, %s", len(podFiles), filepath.Base(dir), what)
	if err := d.c.EnsureNamespace(ctx, namespace); err != nil {
		return nil, err
	}
	var pods []*v1.Pod
	var names []string
	for _, pf := range podFiles {
		pods = append(pods, pf.Pod)
		names = append(names, pf.Pod.Name)
	}
	if err := d.c.CreatePods(ctx, namespace, pods); err != nil {
		return nil, err
	}
	_, err = d.c.WaitForOutcomes(ctx, namespace, names, 60*time.Second)
	return pods, err
}

func describeHandlers(nodes []cluster.NodeSpec) string {
	var parts []string
	for _, n := range nodes {
		var hs []string
		for _, h := range n.Handlers {
			if h.Name != "" {
				hs = append(hs, h.Name)
			}
		}
		if len(hs) == 0 {
			hs = append(hs, n.Annotations[policy.AnnotationRuntimeHandlers]+" by annotation")
		}
		parts = append(parts, n.Name+": "+strings.Join(hs, ","))
	}
	return strings.Join(parts, "; ")
}

// explainPod is the Pending pod the demo explains with kubectl rktsched: gpu-on-rkt, whose
// nodeSelector picks the four rkt nodes (docker-1 and docker-gpu-1 left out). Of those only
// rkt-coreos-1 has a GPU, so it is the one kube-scheduler asks rktsched about, and rktsched
// refuses it: "rkt stage1-coreos lacks gpu". explain shows the selection (4 of 6 nodes) and
// that no selected node fits, and exits 1.
const explainPod = "gpu-on-rkt"

// explain prints `kubectl rktsched explain pod/NAME` of a Pending pod, run from the built
// binary as an operator would: the pod, the nodes and the policy ConfigMap from the cluster.
// Exit code 1 (fits nowhere) is an answer, not a failure.
func (d *demo) explain(ctx context.Context, ours, pod string) error {
	args := []string{"--kubeconfig=" + d.c.Kubeconfig, "explain", "pod/" + pod, "-n", namespace}
	cmd := exec.CommandContext(ctx, filepath.Join(ours, cluster.CLIBinary), args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && (!errors.As(err, &exit) || exit.ExitCode() != 1) {
		return fmt.Errorf("kubectl rktsched explain pod/%s: %w\n%s", pod, err, out)
	}
	fmt.Fprintf(d.out, "\n$ kubectl rktsched explain pod/%s -n %s\n%s", pod, namespace, out)
	return nil
}

func describeNodes(nodes []cluster.NodeSpec) string {
	count := map[string]int{}
	var order []string
	for _, n := range nodes {
		if count[n.Class] == 0 {
			order = append(order, n.Class)
		}
		count[n.Class]++
	}
	parts := make([]string, len(order))
	for i, class := range order {
		parts[i] = fmt.Sprintf("%d %s", count[class], class)
	}
	return strings.Join(parts, ", ")
}

func (d *demo) startRktsched(ctx context.Context, root, ours string) (*cluster.Component, error) {
	c := d.c
	ns := policysource.DefaultNamespace
	kubeconfigs := map[string]string{}
	for _, sa := range []string{cluster.ExtenderBinary, cluster.LabelerBinary} {
		kc, err := c.ServiceAccountKubeconfig(ctx, ns, sa)
		if err != nil {
			return nil, err
		}
		kubeconfigs[sa] = kc
	}
	extender, err := c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.ExtenderBinary, Binary: filepath.Join(ours, cluster.ExtenderBinary),
		Kubeconfig: kubeconfigs[cluster.ExtenderBinary], Args: []string{"--v=2"},
	})
	if err != nil {
		return nil, err
	}
	if _, err := c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.LabelerBinary, Binary: filepath.Join(ours, cluster.LabelerBinary),
		Kubeconfig: kubeconfigs[cluster.LabelerBinary], Args: []string{"--leader-elect=true", "--leader-elect-identity=demo", "--v=2"},
	}); err != nil {
		return nil, err
	}
	if _, err := c.StartScheduler(ctx, root, extender.URL, true); err != nil {
		return nil, err
	}
	return extender, nil
}

// waitForLabels waits until the labeler has labelled every node, so that pods selecting on
// rktsched's labels are not refused for want of them.
func waitForLabels(ctx context.Context, c *cluster.Cluster) error {
	return cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		n, example, err := cluster.Unlabelled(ctx, c.Client, policy.Default())
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d nodes not labelled yet, e.g. %s", n, example)
		}
		return nil
	})
}

// report prints a table: each pod, the node it went to and that node's runtime, and the nodes
// rktsched refuses for it, grouped by reason (asked of the extender's /filter with every node,
// as kube-scheduler does with nodeCacheCapable: false). A pod that stayed Pending shows
// kube-scheduler's FailedScheduling message too.
func (d *demo) report(ctx context.Context, extender *cluster.Component, namespace string, pods []*v1.Pod) error {
	nodeList, err := d.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	byName := map[string]*v1.Node{}
	for i := range nodeList.Items {
		byName[nodeList.Items[i].Name] = &nodeList.Items[i]
	}
	outcomes, err := d.c.Outcomes(ctx, namespace)
	if err != nil {
		return err
	}
	fmt.Fprintln(d.out)
	tw := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "POD\tNODE\tRUNTIME\tNEEDS\tREFUSED BY RKTSCHED (REASON)")
	for _, pod := range pods {
		o := outcomes[pod.Name]
		node, runtime := "Pending", "-"
		if n := byName[o.Node]; n != nil {
			node, runtime = n.Name, runtimeOf(n)
		}
		refused, err := cluster.Filter(ctx, extender.URL, pod, nodeList.Items)
		if err != nil {
			return err
		}
		lines := groupRefusals(refused)
		if o.Node == "" && o.FailedScheduling != "" {
			msg, _, _ := strings.Cut(o.FailedScheduling, " preemption:")
			lines = append(lines, "kube-scheduler: "+msg)
		}
		needs := policy.Default().AnalyzeWith(pod, d.objects).NeedNames()
		rows := max(len(lines), len(needs), 1)
		for i := 0; i < rows; i++ {
			cells := []string{"", "", "", at(needs, i), at(lines, i)}
			if i == 0 {
				cells[0], cells[1], cells[2] = pod.Name, node, runtime
				if cells[4] == "" {
					cells[4] = "none"
				}
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
	}
	return tw.Flush()
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// runtimeOf names a node's runtime as its rktsched labels say, e.g. "rkt/kvm".
func runtimeOf(n *v1.Node) string {
	r := n.Labels[policy.LabelRuntime]
	if s := n.Labels[policy.LabelStage1]; s != "" {
		r += "/" + s
	}
	return r
}

// groupRefusals turns node -> reason into "node-a, node-b: reason" lines.
func groupRefusals(refused map[string]string) []string {
	byReason := map[string][]string{}
	for node, reason := range refused {
		byReason[reason] = append(byReason[reason], node)
	}
	var lines []string
	for reason, nodes := range byReason {
		sort.Strings(nodes)
		lines = append(lines, strings.Join(nodes, ", ")+": "+reason)
	}
	slices.Sort(lines)
	return lines
}

// printKeep tells how to use and stop the cluster left running, and writes a stop script.
func (d *demo) printKeep() error {
	c := d.c
	// In the order Cluster.Stop uses: the API server's clients together, then the API server,
	// then etcd (the API server shuts down cleanly only while etcd runs).
	var clients, servers []string
	for _, p := range c.Processes() {
		switch {
		case !p.Running():
		case p.Name == "etcd" || p.Name == "kube-apiserver":
			servers = append([]string{"-" + strconv.Itoa(p.Pid())}, servers...)
		default:
			clients = append(clients, "-"+strconv.Itoa(p.Pid()))
		}
	}
	stopScript := filepath.Join(c.Dir, "stop.sh")
	script := fmt.Sprintf(`#!/bin/sh
# Stops the rktsched demo cluster (SIGTERM to each process group, SIGKILL after 5s) and
# removes its directory.
stop() {
  kill -TERM "$@" 2>/dev/null
  for group in "$@"; do
    i=0
    while kill -0 "$group" 2>/dev/null && [ $i -lt 10 ]; do sleep 0.5; i=$((i + 1)); done
    kill -KILL "$group" 2>/dev/null
  done
}
stop %s
for server in %s; do stop "$server"; done
rm -rf '%s'
`, strings.Join(clients, " "), strings.Join(servers, " "), c.Dir)
	if err := os.WriteFile(stopScript, []byte(script), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nThe cluster keeps running (KEEP=1):\n"+
		"  export KUBECONFIG=%s\n"+
		"  alias kubectl=%s   # v1.37, built for the demo\n"+
		"  logs:    %s\n"+
		"  stop it: %s\n", c.Kubeconfig, c.Bin("kubectl"), filepath.Join(c.Dir, "logs"), stopScript)
	return nil
}
