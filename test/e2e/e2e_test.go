//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

// env is the cluster the subtests share, and rktsched's processes in it.
type env struct {
	root      string
	ourBins   string
	c         *cluster.Cluster
	pods      []cluster.PodFile
	extender  *cluster.Component
	labeler   *cluster.Component
	scheduler *cluster.Component
	// ServiceAccount kubeconfigs, minted through the TokenRequest API.
	extenderKubeconfig, labelerKubeconfig string
}

const (
	labelerIdentity = "e2e-labeler"
	writesMetric    = "rktsched_labeler_node_writes_total"
	syncsMetric     = "rktsched_labeler_sync_duration_seconds_count"
	// unschedulableMetric counts the pods kube-scheduler keeps aside as unschedulable.
	unschedulableMetric = `scheduler_pending_pods{queue="unschedulable"`
)

// TestE2E runs rktsched's real binaries, authenticated as the ServiceAccounts manifests/
// defines, beside a real kube-scheduler configured with the shipped
// KubeSchedulerConfiguration, on a local control plane with a mixed Docker/rkt cluster. The
// subtests run in order and share the cluster.
func TestE2E(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	e := setUp(ctx, t)

	runSteps(ctx, t, e, []step[*env]{
		{"manifests apply with RBAC and policy ConfigMap", testManifests, true},
		{"rktsched starts as its ServiceAccounts", startRktsched, true},
		{"every node labelled", testLabels, true},
		{"placement with nodeCacheCapable true", func(ctx context.Context, t *testing.T, e *env) {
			testPlacement(ctx, t, e, "placement-node-cache")
		}, false},
		{"policy edit changes labels and placement", testPolicyEdit, false},
		{"kubectl rktsched explains Pending pods and previews a policy edit", testCLI, false},
		{"bad policy documents are refused", testBadPolicies, false},
		{"extender killed while pods are pending", testExtenderRestart, false},
		{"labeler restarts without writes", testLabelerRestart, false},
		{"API server restarted under rktsched", testAPIServerRestart, true},
		{"two labeler replicas, only the leader writes", testLabelerReplicas, false},
		{"placement with nodeCacheCapable false", func(ctx context.Context, t *testing.T, e *env) {
			e.scheduler.Stop(5 * time.Second)
			var err error
			if e.scheduler, err = e.c.StartScheduler(ctx, e.root, e.extender.URL, false); err != nil {
				t.Fatal(err)
			}
			testPlacement(ctx, t, e, "placement-full-nodes")
		}, false},
		{"kube-scheduler calls the extender over HTTPS", testHTTPS, false},
		// Last: the handler nodes (tainted, a pool of their own) and DRA's ResourceSlices change
		// what the earlier steps count.
		{"runtime handlers: placement and reasons", func(ctx context.Context, t *testing.T, e *env) {
			testHandlers(ctx, t, e, v1.DefaultSchedulerName)
		}, false},
		{"DRA: a GPU claim is allocated on a node whose runtime can use it", func(ctx context.Context, t *testing.T, e *env) {
			testDRA(ctx, t, e, v1.DefaultSchedulerName)
		}, false},
	})
}

func setUp(ctx context.Context, t *testing.T) *env {
	t.Helper()
	e := setUpControlPlane(ctx, t)
	if err := e.c.CreateNodes(ctx, cluster.MixedNodes()); err != nil {
		t.Fatal(err)
	}
	return e
}

// setUpControlPlane builds the binaries and starts a control plane with no nodes.
func setUpControlPlane(ctx context.Context, t *testing.T) *env {
	t.Helper()
	e := &env{}
	var err error
	if e.root, err = cluster.RepoRoot(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	binDir, err := cluster.ControlPlaneBinaries(ctx, e.root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	// make e2e builds bin/ and passes it; a bare go test builds the binaries itself.
	if e.ourBins, err = cluster.ProjectBinaries(ctx, e.root, os.Getenv("RKTSCHED_BIN"), t.TempDir(), os.Stderr); err != nil {
		t.Fatal(err)
	}
	t.Logf("binaries ready in %v (control plane %s, rktsched %s)", time.Since(start).Round(time.Millisecond), binDir, e.ourBins)
	if e.pods, err = cluster.LoadPods(filepath.Join(e.root, cluster.PodsDir)); err != nil {
		t.Fatal(err)
	}
	e.c, err = cluster.Start(ctx, cluster.Config{BinDir: binDir, KeepDir: true, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range e.c.Processes() {
				t.Logf("--- last lines of %s (%s):\n%s", p.Name, p.LogPath, p.LogTail(25))
			}
			t.Logf("kept the cluster's work directory with every log: %s", e.c.Dir)
		}
		e.c.Stop()
		if !t.Failed() {
			_ = os.RemoveAll(e.c.Dir)
		}
	})
	return e
}

// testManifests applies manifests/ as an operator would: the namespace first, then a
// server-side dry run of everything (which must pass and warn about nothing, the namespace's
// restricted Pod Security level included), then for real. The Deployments are created but
// never run (no kubelet); their RBAC, ServiceAccounts and ConfigMap are what rktsched's
// processes run with below.
func testManifests(ctx context.Context, t *testing.T, e *env) {
	dir := filepath.Join(e.root, "manifests")
	if _, err := e.c.Kubectl(ctx, "apply", "-f", filepath.Join(dir, "namespace.yaml")); err != nil {
		t.Fatal(err)
	}
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
	cm, err := e.c.Client.CoreV1().ConfigMaps(policysource.DefaultNamespace).Get(ctx, policysource.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data[policy.ConfigMapKey] != string(policy.DefaultDocument()) {
		t.Errorf("ConfigMap %s key %s is not policy/default.yaml", policysource.DefaultName, policy.ConfigMapKey)
	}
}

func startRktsched(ctx context.Context, t *testing.T, e *env) {
	var err error
	ns := policysource.DefaultNamespace
	if e.extenderKubeconfig, err = e.c.ServiceAccountKubeconfig(ctx, ns, cluster.ExtenderBinary); err != nil {
		t.Fatal(err)
	}
	if e.labelerKubeconfig, err = e.c.ServiceAccountKubeconfig(ctx, ns, cluster.LabelerBinary); err != nil {
		t.Fatal(err)
	}
	if e.extender, err = startExtender(ctx, e, 0); err != nil {
		t.Fatal(err)
	}
	if e.labeler, err = startLabeler(ctx, e); err != nil {
		t.Fatal(err)
	}
	if e.scheduler, err = e.c.StartScheduler(ctx, e.root, e.extender.URL, true); err != nil {
		t.Fatal(err)
	}
}

func startExtender(ctx context.Context, e *env, port int) (*cluster.Component, error) {
	return e.c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.ExtenderBinary, Binary: filepath.Join(e.ourBins, cluster.ExtenderBinary),
		Kubeconfig: e.extenderKubeconfig, Port: port, Args: []string{"--v=4"},
	})
}

// startLabeler runs the labeler with leader election on (the Lease RBAC is part of what is
// tested) and a fixed identity, so that a restarted labeler is the Lease's holder at once.
func startLabeler(ctx context.Context, e *env) (*cluster.Component, error) {
	return e.c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.LabelerBinary, Binary: filepath.Join(e.ourBins, cluster.LabelerBinary),
		Kubeconfig: e.labelerKubeconfig,
		Args:       []string{"--leader-elect=true", "--leader-elect-identity=" + labelerIdentity, "--v=4"},
	})
}

// ownedLabels returns the node's labels that rktsched owns.
func ownedLabels(node *v1.Node) map[string]string {
	out := map[string]string{}
	for k, v := range node.Labels {
		if policy.OwnedLabel(k) {
			out[k] = v
		}
	}
	return out
}

// waitForLabels waits until every node carries exactly the labels p says it should, of those
// rktsched owns.
func waitForLabels(ctx context.Context, t *testing.T, e *env, p *policy.Policy, timeout time.Duration) []v1.Node {
	t.Helper()
	var nodes []v1.Node
	err := cluster.Poll(ctx, timeout, func(ctx context.Context) error {
		list, err := e.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		nodes = list.Items
		var diffs []string
		for i := range nodes {
			if d := cmp.Diff(p.Profile(&nodes[i]).Labels(), ownedLabels(&nodes[i])); d != "" {
				diffs = append(diffs, fmt.Sprintf("node %s (-want +got):\n%s", nodes[i].Name, d))
			}
		}
		if len(diffs) > 0 {
			return errors.New(strings.Join(diffs, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nodes not labelled as policy %s says: %v", p.Digest(), err)
	}
	return nodes
}

func testLabels(ctx context.Context, t *testing.T, e *env) {
	nodes := waitForLabels(ctx, t, e, policy.Default(), 30*time.Second)
	// The same, spelt out from the design's tables rather than computed by the policy.
	want := map[string]map[string]string{
		"docker-1": {"rktsched.io/runtime": "docker", "rktsched.io/runtime-version": "1.12.6",
			"capability.rktsched.io/attach": "true", "capability.rktsched.io/gpu": "true"},
		"rkt-coreos-1": {"rktsched.io/runtime": "rkt", "rktsched.io/stage1": "coreos", "rktsched.io/runtime-version": "1.29.0",
			"capability.rktsched.io/gpu": "false", "capability.rktsched.io/port-forward": "true"},
		// Started with rktsched.io/runtime=docker, attach=true and a retired capability.
		"rkt-coreos-2": {"rktsched.io/runtime": "rkt", "rktsched.io/stage1": "coreos",
			"capability.rktsched.io/attach": "false", "capability.rktsched.io/retired": "",
			"team.example.com/owner": "storage"},
		"rkt-kvm-1": {"rktsched.io/stage1": "kvm", "capability.rktsched.io/port-forward": "false",
			"capability.rktsched.io/namespace-isolation": "true"},
		"rkt-fly-1": {"rktsched.io/stage1": "fly", "capability.rktsched.io/host-pid": "true",
			"capability.rktsched.io/host-ipc": "true", "capability.rktsched.io/namespace-isolation": "false"},
	}
	for _, n := range nodes {
		for k, v := range want[n.Name] {
			if got, ok := n.Labels[k]; got != v || ok != (v != "") {
				t.Errorf("node %s label %s = %q (present %v), want %q", n.Name, k, got, ok, v)
			}
		}
		if _, ok := n.Labels[policy.LabelStage1]; ok != strings.HasPrefix(n.Name, "rkt-") {
			t.Errorf("node %s: %s present = %v", n.Name, policy.LabelStage1, ok)
		}
	}
}

// testPlacement submits every test pod into a new namespace and checks each lands only on a
// node that can run it, or stays Pending with the extender's reason in its FailedScheduling
// Event.
func testPlacement(ctx context.Context, t *testing.T, e *env, namespace string) {
	pods := createCaveatPods(ctx, t, e, namespace, nil)
	waitForExpectations(ctx, t, e, namespace, pods, 60*time.Second)
	// Pending pods stay Pending: kube-scheduler has parked every one of them as unschedulable
	// (its scheduler_pending_pods{queue="unschedulable"}), so none is being tried any more,
	// and none is bound.
	pending := 0
	for _, p := range pods {
		if len(Expectations[p.Name].Nodes) == 0 {
			pending++
		}
	}
	if err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		n, _, err := e.scheduler.Metric(ctx, unschedulableMetric)
		if err != nil {
			return err
		}
		if int(n) < pending {
			return fmt.Errorf("%s is %v, want at least the %d pods no node can run", unschedulableMetric, n, pending)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.Outcomes(ctx, namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if len(Expectations[p.Name].Nodes) == 0 && out[p.Name].Node != "" {
			t.Errorf("pod %s was placed on %s; no node can run it", p.Name, out[p.Name].Node)
		}
	}
}

// waitForExpectations waits until each pod is where Expectations says: on one of its nodes,
// or Pending with its reason. A pod placed on another node fails the test at once.
func waitForExpectations(ctx context.Context, t *testing.T, e *env, namespace string, pods []*v1.Pod, timeout time.Duration) map[string]cluster.Outcome {
	t.Helper()
	var out map[string]cluster.Outcome
	err := cluster.Poll(ctx, timeout, func(ctx context.Context) error {
		var err error
		if out, err = e.c.Outcomes(ctx, namespace); err != nil {
			return err
		}
		var unmet []string
		for _, p := range pods {
			want, o := expected(p.Name), out[p.Name]
			switch {
			case o.Node != "" && !slices.Contains(want.Nodes, o.Node):
				return cluster.Permanent(fmt.Errorf("pod %s was placed on %s; only %v can run it", p.Name, o.Node, want.Nodes))
			case o.Node != "":
			case want.Reason != "" && strings.Contains(o.FailedScheduling, want.Reason):
			default:
				unmet = append(unmet, fmt.Sprintf("%s: want a node of %v or the reason %q, got %+v", p.Name, want.Nodes, want.Reason, o))
			}
		}
		if len(unmet) > 0 {
			return errors.New(strings.Join(unmet, "\n"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		t.Logf("%-20s -> %s%s", p.Name, out[p.Name].Node, out[p.Name].FailedScheduling)
	}
	return out
}

// createCaveatPods creates every caveat pod in a new namespace (changed by mutate, if set)
// and returns them; they are deleted when the (sub)test ends, so that the GPUs they hold on
// the fake nodes are free for the next.
func createCaveatPods(ctx context.Context, t *testing.T, e *env, namespace string, mutate func(...*v1.Pod) []*v1.Pod) []*v1.Pod {
	t.Helper()
	if err := e.c.EnsureNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	var pods []*v1.Pod
	for _, pf := range e.pods {
		pods = append(pods, pf.Pod)
	}
	if mutate != nil {
		pods = mutate(pods...)
	}
	t.Cleanup(func() { deletePods(ctx, t, e, namespace) })
	if err := e.c.CreatePods(ctx, namespace, pods); err != nil {
		t.Fatal(err)
	}
	return pods
}

func deletePods(ctx context.Context, t *testing.T, e *env, namespace string) {
	if err := e.c.DeletePods(ctx, namespace); err != nil {
		t.Errorf("delete pods in %s: %v", namespace, err)
	}
}

// podNamed returns a copy of the test pod name, renamed.
func podNamed(t *testing.T, e *env, name, newName string) *v1.Pod {
	t.Helper()
	for _, pf := range e.pods {
		if pf.Pod.Name == name {
			p := pf.Pod.DeepCopy()
			p.Name = newName
			return p
		}
	}
	t.Fatalf("no test pod %s", name)
	return nil
}

// setPolicy writes doc into the policy ConfigMap.
func setPolicy(ctx context.Context, t *testing.T, e *env, doc []byte) {
	t.Helper()
	if err := setPolicyDoc(ctx, e, doc); err != nil {
		t.Fatal(err)
	}
}

// waitForExtenderVerdict waits until the extender's /filter, asked about pod on node, refuses
// it with a reason containing reason, or (reason "") accepts it: the extender has the
// expected policy in force.
func waitForExtenderVerdict(ctx context.Context, t *testing.T, e *env, pod *v1.Pod, nodeName, reason string) {
	t.Helper()
	node, err := e.c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
		refused, err := cluster.Filter(ctx, e.extender.URL, pod, []v1.Node{*node})
		if err != nil {
			return err
		}
		got, isRefused := refused[nodeName]
		if isRefused != (reason != "") || !strings.Contains(got, reason) {
			return fmt.Errorf("refused %v with reason %q", isRefused, got)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("extender's verdict on %s for pod %s, want refusal %q (empty: accepted): %v", nodeName, pod.Name, reason, err)
	}
}

// The rkt stage1-coreos lacks line of the default policy, and the same without init-containers.
const (
	coreosLacks     = "lacks: [attach, init-containers, gpu, host-ipc, host-pid, hostpath-create, subpath-create,\n"
	coreosLacksInit = "lacks: [attach, gpu, host-ipc, host-pid, hostpath-create, subpath-create,\n"
)

// editedPolicy is the default policy with rkt stage1-coreos able to run init containers.
func editedPolicy(t *testing.T) ([]byte, *policy.Policy) {
	t.Helper()
	doc := []byte(policytest.EditDefault(t, coreosLacks, coreosLacksInit))
	p, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return doc, p
}

// testPolicyEdit: an edit of the ConfigMap relabels the nodes and changes where pods go, then
// the default comes back.
func testPolicyEdit(ctx context.Context, t *testing.T, e *env) {
	const ns = "policy-edit"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e, ns)
	onCoreos := func(name string) *v1.Pod {
		p := podNamed(t, e, "init-containers", name)
		p.Spec.NodeSelector = map[string]string{policy.LabelStage1: "coreos"}
		return p
	}
	before := onCoreos("init-before-edit")
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{before}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForReason(ctx, e, ns, before.Name, "rkt stage1-coreos lacks init-containers"); err != nil {
		t.Fatal(err)
	}

	doc, edited := editedPolicy(t)
	setPolicy(ctx, t, e, doc)
	nodes := waitForLabels(ctx, t, e, edited, 30*time.Second)
	for _, n := range nodes {
		if strings.HasPrefix(n.Name, "rkt-coreos-") && n.Labels[policy.CapabilityLabel(policy.InitContainers)] != "true" {
			t.Errorf("node %s: %s = %q after the edit", n.Name, policy.CapabilityLabel(policy.InitContainers), n.Labels[policy.CapabilityLabel(policy.InitContainers)])
		}
	}
	waitForExtenderVerdict(ctx, t, e, before, "rkt-coreos-1", "")

	after := onCoreos("init-after-edit")
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{after}); err != nil {
		t.Fatal(err)
	}
	coreosNodes := []string{"rkt-coreos-1", "rkt-coreos-2"}
	for _, name := range []string{after.Name, before.Name} {
		node, err := waitForNode(ctx, e, ns, name, 45*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(coreosNodes, node) {
			t.Errorf("pod %s placed on %s, want one of %v", name, node, coreosNodes)
		}
	}

	setPolicy(ctx, t, e, policy.DefaultDocument())
	waitForLabels(ctx, t, e, policy.Default(), 30*time.Second)
	waitForExtenderVerdict(ctx, t, e, before, "rkt-coreos-1", "rkt stage1-coreos lacks init-containers")
}

func mustParse(t *testing.T, doc []byte) *policy.Policy {
	t.Helper()
	p, err := policy.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// nodeVersions returns each node's resourceVersion and labels.
func nodeVersions(ctx context.Context, t *testing.T, e *env) map[string]string {
	t.Helper()
	list, err := e.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range list.Items {
		out[n.Name] = fmt.Sprintf("resourceVersion %s labels %v", n.ResourceVersion, n.Labels)
	}
	return out
}

func waitForReason(ctx context.Context, e *env, namespace, pod, reason string) (cluster.Outcome, error) {
	var o cluster.Outcome
	err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		out, err := e.c.Outcomes(ctx, namespace)
		if err != nil {
			return err
		}
		o = out[pod]
		if o.Node != "" {
			return cluster.Permanent(fmt.Errorf("pod %s was placed on %s; want it Pending with %q", pod, o.Node, reason))
		}
		if !strings.Contains(o.FailedScheduling, reason) {
			return fmt.Errorf("pod %s: want FailedScheduling with %q, got %+v", pod, reason, o)
		}
		return nil
	})
	return o, err
}

func waitForNode(ctx context.Context, e *env, namespace, pod string, timeout time.Duration) (string, error) {
	var o cluster.Outcome
	err := cluster.Poll(ctx, timeout, func(ctx context.Context) error {
		out, err := e.c.Outcomes(ctx, namespace)
		if err != nil {
			return err
		}
		if o = out[pod]; o.Node == "" {
			return fmt.Errorf("pod %s not placed: %+v", pod, o)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return o.Node, nil
}

// testExtenderRestart: with the extender down (ignorable: false), kube-scheduler places no pod
// at all rather than one on a node that cannot run it; once the extender is back on the same
// address, every pod is placed where it can run, and those no node can run stay Pending.
func testExtenderRestart(ctx context.Context, t *testing.T, e *env) {
	const ns = "extender-restart"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e, ns)
	port := e.extender.Port
	e.extender.Kill()
	var pods []*v1.Pod
	for _, pf := range e.pods {
		pods = append(pods, pf.Pod)
	}
	if err := e.c.CreatePods(ctx, ns, pods); err != nil {
		t.Fatal(err)
	}
	// Long enough for kube-scheduler to try each pod a few times (backoff 1s, 2s, ...), and
	// to say why it placed none: it could not reach the extender.
	deadline := time.Now().Add(4 * time.Second)
	tried := map[string]bool{}
	for time.Now().Before(deadline) || len(tried) < len(pods) {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("kube-scheduler reported the unreachable extender for only %d of %d pods: %v", len(tried), len(pods), tried)
		}
		out, err := e.c.Outcomes(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		for name, o := range out {
			if o.Node != "" {
				t.Fatalf("pod %s was placed on %s while the extender was down", name, o.Node)
			}
			if strings.Contains(o.FailedScheduling, e.extender.URL+"/filter") {
				tried[name] = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	var err error
	if e.extender, err = startExtender(ctx, e, port); err != nil {
		t.Fatal(err)
	}
	// Backoff is at most 10s per pod. The pods no node can run get the extender's reason
	// again.
	waitForExpectations(ctx, t, e, ns, pods, 45*time.Second)
}

// testLabelerRestart: a restarted labeler finds every node labelled and writes nothing.
func testLabelerRestart(ctx context.Context, t *testing.T, e *env) {
	before := nodeVersions(ctx, t, e)
	if n, ok, err := cluster.MetricSum(ctx, e.labeler.URL, writesMetric); err != nil || !ok {
		t.Fatalf("%s/metrics lacks %s (found %v, error %v)", e.labeler.URL, writesMetric, ok, err)
	} else {
		t.Logf("the first labeler wrote %v times", n)
	}
	e.labeler.Stop(10 * time.Second)
	if err := e.labeler.Err(); err != nil {
		t.Errorf("labeler did not exit cleanly on SIGTERM: %v", err)
	}
	var err error
	if e.labeler, err = startLabeler(ctx, e); err != nil {
		t.Fatal(err)
	}
	// The restarted labeler takes the Lease (at once: same identity, or the old one released
	// it) and acts on what its synced caches show; give it time to do so.
	err = cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
		lease, err := e.c.Client.CoordinationV1().Leases(policysource.DefaultNamespace).Get(ctx, cluster.LabelerBinary, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if h := ptr.Deref(lease.Spec.HolderIdentity, ""); h != labelerIdentity {
			return fmt.Errorf("leader election Lease %s holder = %q, want %s", cluster.LabelerBinary, h, labelerIdentity)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// It syncs every node once as its informer lists them: past that many syncs, a write it
	// meant to make would have been made.
	err = cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
		n, ok, err := cluster.MetricSum(ctx, e.labeler.URL, syncsMetric)
		if err != nil {
			return err
		}
		if !ok || n < float64(len(before)) {
			return fmt.Errorf("the restarted labeler synced %v of %d nodes", n, len(before))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, nodeVersions(ctx, t, e)); diff != "" {
		t.Errorf("the restarted labeler changed nodes (-before +after):\n%s", diff)
	}
	n, ok, err := cluster.MetricSum(ctx, e.labeler.URL, writesMetric)
	if err != nil || !ok || n != 0 {
		t.Errorf("%s after restart = %v (found %v, error %v), want 0", writesMetric, n, ok, err)
	}
}
