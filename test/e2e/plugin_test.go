//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

// secondScheduler is the schedulerName of manifests/second-scheduler/.
const secondScheduler = "rktsched-scheduler"

// pluginEnv is env plus rktsched-scheduler running as a second scheduler.
type pluginEnv struct {
	*env
	bin   string
	sched *cluster.Component
}

// TestPlugin runs rktsched-scheduler (kube-scheduler with the Rktsched plugin, no extender)
// as the shipped second scheduler (manifests/second-scheduler/: its ServiceAccount and RBAC,
// its configuration, leader election on its own Lease) on a local control plane with the
// mixed cluster, then kube-scheduler beside it. The subtests run in order.
func TestPlugin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := &pluginEnv{env: setUp(ctx, t)}
	var err error
	if e.bin, err = cluster.SchedulerPluginBinary(ctx, e.root, os.Getenv("RKTSCHED_BIN"), t.TempDir(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	runSteps(ctx, t, e, []step[*pluginEnv]{
		{"manifests apply", testPluginManifests, true},
		{"rktsched-scheduler starts as its ServiceAccount", startPluginScheduler, true},
		{"caveat pods placed without an extender", testPluginPlacement, false},
		{"policy edit requeues a pending pod", testPluginPolicyEdit, false},
		{"a bad policy is refused, the last good one kept", testPluginBadPolicy, false},
		{"beside kube-scheduler, each places its own pods", testPluginSideBySide, false},
		{"runtime handlers placed by rktsched-scheduler", func(ctx context.Context, t *testing.T, e *pluginEnv) {
			testHandlers(ctx, t, e.env, secondScheduler)
		}, false},
		{"a RuntimeClass created after its pod requeues it", testRuntimeClassLate, false},
		{"DRA: rktsched-scheduler allocates a GPU claim only where the runtime can use it", func(ctx context.Context, t *testing.T, e *pluginEnv) {
			testDRA(ctx, t, e.env, secondScheduler)
		}, false},
	})
}

// testPluginManifests applies the kustomize base (namespace, policy ConfigMap) and then
// manifests/second-scheduler/, dry run first: it must pass and warn about nothing.
func testPluginManifests(ctx context.Context, t *testing.T, e *pluginEnv) {
	testManifests(ctx, t, e.env)
	dir := filepath.Join(e.root, "manifests", "second-scheduler")
	for _, args := range [][]string{{"apply", "--dry-run=server", "-k", dir}, {"apply", "-k", dir}} {
		out, err := e.c.Kubectl(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("kubectl %s:\n%s", strings.Join(args, " "), out)
		if strings.Contains(out, "Warning") {
			t.Errorf("kubectl %s warned:\n%s", strings.Join(args, " "), out)
		}
	}
}

// startPluginScheduler runs the labeler (the test pods select rkt nodes by its labels), then
// rktsched-scheduler with the shipped second-scheduler configuration (only its kubeconfig
// changed: the ServiceAccount's token) and waits until it leads: its Lease is held and the
// policy metric is on its /metrics.
func startPluginScheduler(ctx context.Context, t *testing.T, e *pluginEnv) {
	var err error
	if e.labelerKubeconfig, err = e.c.ServiceAccountKubeconfig(ctx, policysource.DefaultNamespace, cluster.LabelerBinary); err != nil {
		t.Fatal(err)
	}
	if e.labeler, err = startLabeler(ctx, e.env); err != nil {
		t.Fatal(err)
	}
	waitForLabels(ctx, t, e.env, policy.Default(), 30*time.Second)
	kubeconfig, err := e.c.ServiceAccountKubeconfig(ctx, policysource.DefaultNamespace, cluster.SchedulerBinary)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(e.root, cluster.SecondSchedulerConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cluster.LocalPluginSchedulerConfig(shipped, kubeconfig, true)
	if err != nil {
		t.Fatal(err)
	}
	e.sched, err = e.c.StartSchedulerBinary(ctx, cluster.SchedulerBinary, e.bin, cfg,
		"--v=4", "--authorization-always-allow-paths=/healthz,/readyz,/metrics")
	if err != nil {
		t.Fatal(err)
	}
	err = cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		lease, err := e.c.Client.CoordinationV1().Leases(policysource.DefaultNamespace).Get(ctx, secondScheduler, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			return fmt.Errorf("lease %s has no holder", secondScheduler)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("rktsched-scheduler does not lead: %v\n%s", err, e.sched.LogTail(20))
	}
	if g := metric(ctx, t, e.sched, "rktsched_policy_generation"); g != 1 {
		t.Errorf("rktsched_policy_generation %v on rktsched-scheduler's /metrics, want 1", g)
	}
	if v := metric(ctx, t, e.sched, "kubernetes_build_info"); v != 1 {
		t.Errorf("kubernetes_build_info %v", v)
	}
}

// ours returns copies of pods for the second scheduler.
func ours(pods ...*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		out[i] = p.DeepCopy()
		out[i].Spec.SchedulerName = secondScheduler
	}
	return out
}

// testPluginPlacement: every caveat pod lands where Expectations says, or stays Pending with a
// FailedScheduling Event carrying the policy's reason, as with the extender; the placed ones
// were placed by rktsched-scheduler.
func testPluginPlacement(ctx context.Context, t *testing.T, e *pluginEnv) {
	const ns = "plugin-placement"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e.env, ns)
	var pods []*v1.Pod
	for _, pf := range e.pods {
		pods = append(pods, pf.Pod)
	}
	pods = ours(pods...)
	if err := e.c.CreatePods(ctx, ns, pods); err != nil {
		t.Fatal(err)
	}
	out := waitForExpectations(ctx, t, e.env, ns, pods, 60*time.Second)
	for _, p := range pods {
		o := out[p.Name]
		if o.Node == "" {
			if !strings.Contains(o.FailedScheduling, Expectations[p.Name].Reason) {
				t.Errorf("pod %s: FailedScheduling %q lacks %q", p.Name, o.FailedScheduling, Expectations[p.Name].Reason)
			}
			continue
		}
		by, err := scheduledBy(ctx, e.env, ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if by != secondScheduler {
			t.Errorf("pod %s was placed by %q, want %s", p.Name, by, secondScheduler)
		}
	}
	// Opportunistic batching is on for the profile (a plugin without SignPod, or an extender,
	// turns it off): kube-scheduler has asked for a batch hint.
	if n, ok, err := e.sched.Metric(ctx, "scheduler_batch_attempts_total"); err != nil || !ok || n == 0 {
		t.Errorf("scheduler_batch_attempts_total %v (found %v, error %v), want > 0: opportunistic batching is off", n, ok, err)
	}
	// The init-containers pod on rkt: the same aggregated reason the extender's gives.
	p := podNamed(t, e.env, "init-containers", "init-on-rkt")
	p.Spec.NodeSelector = map[string]string{v1.LabelHostname: "rkt-coreos-1"}
	if err := e.c.CreatePods(ctx, ns, ours(p)); err != nil {
		t.Fatal(err)
	}
	o, err := waitForReason(ctx, e.env, ns, p.Name, "1 rkt stage1-coreos lacks init-containers")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", p.Name, o.FailedScheduling)
}

// scheduledBy returns the controller that reported the pod's Scheduled Event: the
// schedulerName of the profile that placed it.
func scheduledBy(ctx context.Context, e *env, namespace, pod string) (string, error) {
	var by string
	err := cluster.Poll(ctx, 10*time.Second, func(ctx context.Context) error {
		events, err := e.c.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.Set{"reason": "Scheduled", "involvedObject.name": pod}.String(),
		})
		if err != nil {
			return err
		}
		if len(events.Items) == 0 {
			return fmt.Errorf("no Scheduled Event for pod %s", pod)
		}
		ev := events.Items[0]
		if by = ev.ReportingController; by == "" {
			by = ev.Source.Component
		}
		return nil
	})
	return by, err
}

// testPluginPolicyEdit: a pod Pending because rkt stage1-coreos lacks init-containers is
// placed soon after the policy gives coreos init containers. Nothing else happens in the
// cluster (no kubelet, no labeler): only the plugin activating the pods the old policy refused
// requeues it before kube-scheduler's 5-minute flush of unschedulable pods.
func testPluginPolicyEdit(ctx context.Context, t *testing.T, e *pluginEnv) {
	const ns = "plugin-policy-edit"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e.env, ns)
	defer setPolicy(ctx, t, e.env, policy.DefaultDocument())
	p := podNamed(t, e.env, "init-containers", "init-before-edit")
	p.Spec.NodeSelector = map[string]string{v1.LabelHostname: "rkt-coreos-1"}
	if err := e.c.CreatePods(ctx, ns, ours(p)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForReason(ctx, e.env, ns, p.Name, "rkt stage1-coreos lacks init-containers"); err != nil {
		t.Fatal(err)
	}
	gen := metric(ctx, t, e.sched, "rktsched_policy_generation")
	doc, _ := editedPolicy(t)
	edited := time.Now()
	setPolicy(ctx, t, e.env, doc)
	node, err := waitForNode(ctx, e.env, ns, p.Name, 30*time.Second)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.sched.LogTail(20))
	}
	t.Logf("pod %s placed on %s %v after the policy edit", p.Name, node, time.Since(edited).Round(time.Millisecond))
	if node != "rkt-coreos-1" {
		t.Errorf("pod %s placed on %s, want rkt-coreos-1", p.Name, node)
	}
	if g := metric(ctx, t, e.sched, "rktsched_policy_generation"); g != gen+1 {
		t.Errorf("rktsched_policy_generation %v after the edit, want %v", g, gen+1)
	}
	// Back to the default, in force before the next step reads the metrics.
	setPolicy(ctx, t, e.env, policy.DefaultDocument())
	waitForMetric(ctx, t, e.sched, "rktsched_policy_generation", gen+2)
}

// waitForMetric waits until the component's metric is want.
func waitForMetric(ctx context.Context, t *testing.T, comp *cluster.Component, name string, want float64) {
	t.Helper()
	err := cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
		n, _, err := comp.Metric(ctx, name)
		if err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%s %v, want %v", name, n, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testPluginBadPolicy: a broken document is refused by rktsched-scheduler (its
// reload-error metric +1, a PolicyRejected Event from it), and pods are still judged by the
// last good policy.
func testPluginBadPolicy(ctx context.Context, t *testing.T, e *pluginEnv) {
	const ns = "plugin-bad-policy"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e.env, ns)
	defer setPolicy(ctx, t, e.env, policy.DefaultDocument())
	errs := metric(ctx, t, e.sched, "rktsched_policy_reload_errors_total")
	gen := metric(ctx, t, e.sched, "rktsched_policy_generation")
	bad := policytest.EditDefault(t, "attach:                {action: filter", "attach:                {action: fliter")
	setPolicy(ctx, t, e.env, []byte(bad))
	waitForMetric(ctx, t, e.sched, "rktsched_policy_reload_errors_total", errs+1)
	if g := metric(ctx, t, e.sched, "rktsched_policy_generation"); g != gen {
		t.Errorf("rktsched_policy_generation %v after a rejected document, want %v", g, gen)
	}
	rejected, err := policyRejections(ctx, e.env)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(rejected, func(ev v1.Event) bool {
		return ev.Source.Component == cluster.SchedulerBinary && strings.Contains(ev.Message, "fliter")
	}) {
		t.Errorf("no PolicyRejected Event from %s naming the bad action among %d", cluster.SchedulerBinary, len(rejected))
	}
	// The last good policy still refuses attach on rkt.
	p := podNamed(t, e.env, "attach", "attach-after-bad-policy")
	if err := e.c.CreatePods(ctx, ns, ours(p)); err != nil {
		t.Fatal(err)
	}
	node, err := waitForNode(ctx, e.env, ns, p.Name, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dockerNodes, node) {
		t.Errorf("pod %s on %q, want a Docker node", p.Name, node)
	}
}

// testPluginSideBySide: with kube-scheduler running too (no extender), pods naming
// rktsched-scheduler are placed by it and judged by the policy; default-scheduler's are
// placed by kube-scheduler, which does not know the policy.
func testPluginSideBySide(ctx context.Context, t *testing.T, e *pluginEnv) {
	const ns = "plugin-side-by-side"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e.env, ns)
	cfg := fmt.Sprintf("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"+
		"clientConnection:\n  kubeconfig: %s\nleaderElection:\n  leaderElect: false\n", e.c.SchedulerKubeconfig())
	kube, err := e.c.StartSchedulerConfig(ctx, "kube-scheduler-beside-plugin", []byte(cfg), "--v=2")
	if err != nil {
		t.Fatal(err)
	}
	defer kube.Stop(5 * time.Second)

	onCoreos := func(name string) *v1.Pod {
		p := podNamed(t, e.env, "init-containers", name)
		p.Spec.NodeSelector = map[string]string{v1.LabelHostname: "rkt-coreos-1"}
		return p
	}
	theirs := onCoreos("theirs-on-coreos")
	mine := ours(onCoreos("ours-on-coreos"), podNamed(t, e.env, "init-containers", "ours-anywhere"))
	if err := e.c.CreatePods(ctx, ns, append([]*v1.Pod{theirs}, mine...)); err != nil {
		t.Fatal(err)
	}
	node, err := waitForNode(ctx, e.env, ns, theirs.Name, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if node != "rkt-coreos-1" {
		t.Errorf("pod %s on %s, want rkt-coreos-1 (its nodeSelector)", theirs.Name, node)
	}
	if node, err = waitForNode(ctx, e.env, ns, "ours-anywhere", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(dockerNodes, node) {
		t.Errorf("pod ours-anywhere on %s, want a Docker node", node)
	}
	if _, err := waitForReason(ctx, e.env, ns, "ours-on-coreos", "rkt stage1-coreos lacks init-containers"); err != nil {
		t.Fatal(err)
	}
	for pod, want := range map[string]string{theirs.Name: v1.DefaultSchedulerName, "ours-anywhere": secondScheduler} {
		by, err := scheduledBy(ctx, e.env, ns, pod)
		if err != nil {
			t.Fatal(err)
		}
		if by != want {
			t.Errorf("pod %s placed by %q, want %q", pod, by, want)
		}
	}
}
