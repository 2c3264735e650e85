//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

// Images the real node runs, under $RKTSCHED_IMAGES (make e2e passes its bin/): make image's
// (every rktsched binary), make image-scheduler's, and make e2e-images's sandbox and
// kube-scheduler images.
const (
	imageArchive          = "image.tar"
	schedulerImageArchive = "image-scheduler.tar"
	kubeSchedulerArchive  = "e2e-images/kube-scheduler.tar"
	sandboxArchive        = "e2e-images/pause.tar"
	readfilesArchive      = "e2e-images/readfiles.tar"
	sandboxImage          = "rktsched.invalid/pause:e2e"
	rktschedImage         = "rktsched.io/rktsched:latest"
)

// The shipped Deployments and their Service.
const (
	extenderApp  = "rktsched-extender"
	labelerApp   = "rktsched-labeler"
	extenderPort = 8888
)

// realTaint keeps the caveat pods off the real node while they are placed, so that they go
// exactly where the process-based suite expects (it has no such node).
var realTaint = v1.Taint{Key: "rktsched.io/e2e-real-node", Value: "true", Effect: v1.TaintEffectNoSchedule}

type realEnv struct {
	*env
	node *cluster.RealNode
}

// TestRealNode runs the shipped manifests for real: the image from make image, imported into
// a real containerd, run by a real kubelet on a node beside the fake ones, with the shipped
// Deployments' probes and restricted securityContext, in-cluster client configuration and
// leader election from inside the cluster, and kube-scheduler (a process with the shipped
// configuration) calling the extender pods through their Service.
func TestRealNode(t *testing.T) {
	// A host that cannot run it skips with the reason, or fails when
	// RKTSCHED_REQUIRE_REAL_NODE=1 (.ci/run): CI never skips the real node silently.
	cluster.RequireRealNodeHost(t)
	images := os.Getenv("RKTSCHED_IMAGES")
	if images == "" {
		cluster.NoRealNode(t, "RKTSCHED_IMAGES is not set: make e2e builds the images (make image, make e2e-images) and sets it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	e := &realEnv{env: setUpControlPlane(ctx, t)}
	runtimeDir, err := cluster.RuntimeBinaries(ctx, e.root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	e.node, err = e.c.StartRealNode(ctx, cluster.RealNodeConfig{
		SandboxArchive: filepath.Join(images, sandboxArchive), SandboxImage: sandboxImage,
		Images: []string{filepath.Join(images, imageArchive), filepath.Join(images, schedulerImageArchive),
			filepath.Join(images, kubeSchedulerArchive), filepath.Join(images, readfilesArchive)},
		RuntimeDir: runtimeDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range []*cluster.Process{e.node.Kubelet, e.node.ControllerManager, e.node.Containerd.Process()} {
				t.Logf("--- last lines of %s (%s):\n%s", p.Name, p.LogPath, p.LogTail(25))
			}
		}
		if err := e.node.Stop(); err != nil {
			t.Errorf("stopping the real node: %v", err)
		}
		if pids := cluster.Shims(e.node.Dir); len(pids) > 0 {
			t.Errorf("containerd shims outlive the real node: pids %v", pids)
		}
		after, err := cluster.SnapshotHost(cluster.HostDirs...)
		if err != nil {
			t.Fatal(err)
		}
		if d := e.node.HostBefore.Diff(after); d != "" {
			t.Errorf("the real node left the host changed:\n%s", d)
		}
	})

	runSteps(ctx, t, e, []step[*realEnv]{
		{"shipped manifests run on the real node", testRealManifests, true},
		{"the real node is labelled from what its kubelet reports", testRealLabels, true},
		{"kube-scheduler calls the extender pods through their Service", testRealPlacement, true},
		{"the chart's rendered output in place of manifests/, for real", testRealChart, true},
		{"a pod the policy lets onto the real node runs to completion", testRealPodRuns, false},
		{"extender pods deleted: their replacements stay Pending", testRealDeadlock, false},
		{"the sidecar static pod ends the deadlock and survives its extender's death", testRealSidecar, true},
		{"rktsched-scheduler as the shipped second-scheduler Deployment", testRealSecondScheduler, false},
		// Today's runtime (issue 29): containerd 2 with the runc and runc-1-1 handlers.
		{"the kubelet reports the runtime handlers and the labeler labels them", testRealHandlerReport, true},
		{"a pod per handler runs to completion by that handler's runtime", testRealHandlerPods, false},
		{"a handler the node lacks: Pending with our reason, ContainerCreating without rktsched", testRealMissingHandler, false},
		{"hostUsers: false runs in a user namespace on runc, is refused for runc-1-1", testRealUserNamespaces, false},
		{"an image volume runs on containerd 2.4, is refused for containerd 2.0", testRealImageVolume, false},
	})
}

// testRealManifests: kubectl apply -k manifests/, with only the real node in the cluster and
// a kube-scheduler without extender placing rktsched's own pods (as a cluster's scheduler does
// before it is pointed at the extender). Both Deployments become Available on the real node,
// their containers run as 65532 on a read-only root filesystem.
func testRealManifests(ctx context.Context, t *testing.T, e *realEnv) {
	boot := startBootstrapScheduler(ctx, t, e)
	defer boot.Stop(5 * time.Second)
	testManifests(ctx, t, e.env)
	checkRunning(ctx, t, e, labelerApp, extenderApp)
	checkNoForbidden(ctx, t, e, labelerApp)
	checkNoForbidden(ctx, t, e, extenderApp)
}

// startBootstrapScheduler runs a kube-scheduler without extender: what places rktsched's own
// pods before any scheduler calls the extender.
func startBootstrapScheduler(ctx context.Context, t *testing.T, e *realEnv) *cluster.Component {
	t.Helper()
	boot, err := e.c.StartSchedulerConfig(ctx, "kube-scheduler-bootstrap", []byte(fmt.Sprintf(
		"apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: %s\nleaderElection:\n  leaderElect: false\n",
		e.c.SchedulerKubeconfig())))
	if err != nil {
		t.Fatal(err)
	}
	return boot
}

// checkRunning waits until the Deployments are Available, every pod of theirs on the real
// node, and checks their containers' restricted securityContext from the host.
func checkRunning(ctx context.Context, t *testing.T, e *realEnv, apps ...string) {
	t.Helper()
	for _, name := range apps {
		waitAvailable(ctx, t, e, name, 90*time.Second)
	}
	for _, name := range apps {
		for _, p := range appPods(ctx, t, e, name) {
			if p.Spec.NodeName != cluster.RealNodeName {
				t.Errorf("pod %s runs on %q, want %s", p.Name, p.Spec.NodeName, cluster.RealNodeName)
			}
		}
		checkRestricted(t, "/ko-app/"+name)
	}
}

// checkNoForbidden fails if a container of the app's pods logged an RBAC refusal: the shipped
// RBAC must grant everything the binary asks for.
func checkNoForbidden(ctx context.Context, t *testing.T, e *realEnv, app string) {
	t.Helper()
	for _, p := range appPods(ctx, t, e, app) {
		out, err := e.c.Kubectl(ctx, "logs", "-n", p.Namespace, p.Name, "--all-containers")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "is forbidden") {
				t.Errorf("pod %s: %s", p.Name, line)
				break
			}
		}
	}
}

// onlyRealNode runs fn with every fake node cordoned and the real node untainted, so that the
// pods fn creates, which must run, go to the real node; then puts both back.
func onlyRealNode(ctx context.Context, t *testing.T, e *realEnv, fn func()) {
	t.Helper()
	cordon := func(on bool) {
		list, err := e.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range list.Items {
			n := &list.Items[i]
			if n.Name == cluster.RealNodeName || n.Spec.Unschedulable == on {
				continue
			}
			n.Spec.Unschedulable = on
			if _, err := e.c.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cordon(true)
	if err := setTaint(ctx, e, false); err != nil {
		t.Fatal(err)
	}
	fn()
	cordon(false)
	if err := setTaint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
}

// waitAvailable waits until the Deployment has all its replicas updated, ready and available.
func waitAvailable(ctx context.Context, t *testing.T, e *realEnv, name string, timeout time.Duration) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	err := cluster.Poll(ctx, timeout, func(ctx context.Context) error {
		var err error
		if d, err = e.c.Client.AppsV1().Deployments(policysource.DefaultNamespace).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return err
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		if s := d.Status; s.ObservedGeneration < d.Generation || s.UpdatedReplicas != want || s.ReadyReplicas != want || s.AvailableReplicas != want {
			return fmt.Errorf("deployment %s: %d replicas wanted, status %+v", name, want, s)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v\npods: %s", err, podSummary(ctx, e, name))
	}
	return d
}

// appPods lists the pods of a shipped app that are not being deleted.
func appPods(ctx context.Context, t *testing.T, e *realEnv, app string) []v1.Pod {
	t.Helper()
	list, err := e.c.Client.CoreV1().Pods(policysource.DefaultNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// podSummary describes an app's pods for failure messages.
func podSummary(ctx context.Context, e *realEnv, app string) string {
	list, err := e.c.Client.CoreV1().Pods(policysource.DefaultNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + app})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range list.Items {
		fmt.Fprintf(&b, "\n  %s on %q: %s", p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			if c.Status != v1.ConditionTrue {
				fmt.Fprintf(&b, " %s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message)
			}
		}
		for _, cs := range p.Status.ContainerStatuses {
			fmt.Fprintf(&b, " container %s ready=%v restarts=%d", cs.Name, cs.Ready, cs.RestartCount)
			if w := cs.State.Waiting; w != nil {
				fmt.Fprintf(&b, " waiting %s: %s", w.Reason, w.Message)
			}
		}
	}
	return b.String()
}

// checkRestricted finds the host processes running binary (the containers' main processes)
// and checks, from /proc, what the shipped securityContext asks for: user and group 65532, no
// privilege escalation, a read-only root filesystem.
func checkRestricted(t *testing.T, binary string) {
	t.Helper()
	pids := processesOf(binary)
	if len(pids) == 0 {
		t.Fatalf("no process runs %s on the host", binary)
	}
	for _, pid := range pids {
		status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Uid:\t65532\t65532\t65532\t65532", "Gid:\t65532\t65532\t65532\t65532", "NoNewPrivs:\t1", "CapEff:\t0000000000000000"} {
			if !strings.Contains(string(status), want+"\n") {
				t.Errorf("%s (pid %s): /proc status lacks %q", binary, pid, want)
			}
		}
		mounts, err := os.ReadFile(filepath.Join("/proc", pid, "mounts"))
		if err != nil {
			t.Fatal(err)
		}
		root := ""
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[1] == "/" {
				root = f[3]
			}
		}
		if !strings.HasPrefix(root+",", "ro,") {
			t.Errorf("%s (pid %s): root filesystem mounted %q, want read-only", binary, pid, root)
		}
	}
}

// processesOf lists the pids whose command line starts with binary.
func processesOf(binary string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.HasPrefix(string(cmdline), binary+"\x00") {
			out = append(out, e.Name())
		}
	}
	return out
}

// testRealLabels: the labeler pod, through the kubernetes Service and leader election from
// inside the cluster, labels the real node from its kubelet's containerRuntimeVersion
// (containerd://1.6.20~ds1..., which nobody here wrote).
func testRealLabels(ctx context.Context, t *testing.T, e *realEnv) {
	nodes := waitForLabels(ctx, t, e.env, policy.Default(), 60*time.Second)
	if len(nodes) != 1 {
		t.Fatalf("%d nodes, want only %s", len(nodes), cluster.RealNodeName)
	}
	n := nodes[0]
	version := n.Status.NodeInfo.ContainerRuntimeVersion
	if !strings.HasPrefix(version, "containerd://") {
		t.Fatalf("kubelet reports runtime %q, want containerd://...", version)
	}
	if got := n.Labels[policy.LabelRuntime]; got != "containerd" {
		t.Errorf("label %s=%q, want containerd (kubelet reports %q)", policy.LabelRuntime, got, version)
	}
	t.Logf("node %s: runtime %q, labels %v", n.Name, version, ownedLabels(&n))
	lease, err := e.c.Client.CoordinationV1().Leases(policysource.DefaultNamespace).Get(ctx, labelerApp, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the labeler pod's leader-election Lease: %v", err)
	}
	holder := ptr.Deref(lease.Spec.HolderIdentity, "")
	if !strings.HasPrefix(holder, labelerApp+"-") {
		t.Errorf("Lease %s held by %q, want one of the labeler's pods", labelerApp, holder)
	}
}

// testRealPlacement: kube-scheduler, a process with the shipped configuration whose urlPrefix
// is the extender Service's ClusterIP (there is no cluster DNS), places the caveat pods on the
// fake nodes exactly as in the process-based suite, and the extender pods served it.
func testRealPlacement(ctx context.Context, t *testing.T, e *realEnv) {
	if err := setTaint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
	if err := e.c.CreateNodes(ctx, cluster.MixedNodes()); err != nil {
		t.Fatal(err)
	}
	placeThroughService(ctx, t, e, "real-node-placement")
}

// placeThroughService runs kube-scheduler (the shipped configuration) against the extender
// Service's ClusterIP and checks the caveat pods are placed as expected in namespace, by the
// extender pods.
func placeThroughService(ctx context.Context, t *testing.T, e *realEnv, namespace string) {
	svc, err := e.c.Client.CoreV1().Services(policysource.DefaultNamespace).Get(ctx, extenderApp, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.node.Routes.Route(ctx, svc.Namespace, svc.Name); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s:%d", svc.Spec.ClusterIP, extenderPort)
	if err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		return getOK(ctx, url+"/readyz")
	}); err != nil {
		var direct []string
		for _, p := range appPods(ctx, t, e, extenderApp) {
			direct = append(direct, fmt.Sprintf("pod %s: %v", p.Name, getOK(ctx, fmt.Sprintf("http://%s:%d/readyz", p.Status.PodIP, extenderPort))))
		}
		t.Fatalf("the extender Service %s: %v\nroutes:\n%s\nthe pods directly: %v", url, err, e.node.Routes, direct)
	}
	if e.scheduler, err = e.c.StartScheduler(ctx, e.root, url, true); err != nil {
		t.Fatal(err)
	}
	waitForLabels(ctx, t, e.env, policy.Default(), 60*time.Second)
	before := extenderRequests(ctx, t, e)
	testPlacement(ctx, t, e.env, namespace)
	if after := extenderRequests(ctx, t, e); after <= before {
		t.Errorf("the extender pods served %v requests before the placement and %v after", before, after)
	}
}

// extenderRequests sums rktsched_extender_requests_total over the extender pods, read at
// their pod IPs.
func extenderRequests(ctx context.Context, t *testing.T, e *realEnv) float64 {
	t.Helper()
	var sum float64
	for _, p := range appPods(ctx, t, e, extenderApp) {
		n, _, err := cluster.MetricSum(ctx, fmt.Sprintf("http://%s:%d", p.Status.PodIP, extenderPort), requestsMetric)
		if err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
		sum += n
	}
	return sum
}

func getOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	// A new connection each time: one kept alive would outlive a change of the routes.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// setTaint puts realTaint on the real node, or takes it off.
func setTaint(ctx context.Context, e *realEnv, on bool) error {
	return cluster.Poll(ctx, 10*time.Second, func(ctx context.Context) error {
		n, err := e.c.Client.CoreV1().Nodes().Get(ctx, cluster.RealNodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		var taints []v1.Taint
		for _, tn := range n.Spec.Taints {
			if tn.Key != realTaint.Key {
				taints = append(taints, tn)
			}
		}
		if on {
			taints = append(taints, realTaint)
		}
		n.Spec.Taints = taints
		_, err = e.c.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// testRealPodRuns: the caveat pod with init containers and an attachable (stdin) container,
// which the policy lets onto containerd nodes, is placed on the real node by kube-scheduler
// through the extender and runs to completion there: the "fits" verdict holds on a real
// runtime.
func testRealPodRuns(ctx context.Context, t *testing.T, e *realEnv) {
	const ns = "real-node-runs"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "init-and-attach"},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			NodeSelector:  map[string]string{policy.LabelRuntime: "containerd"},
			Tolerations:   []v1.Toleration{{Key: realTaint.Key, Operator: v1.TolerationOpExists}},
			InitContainers: []v1.Container{{
				Name: "setup", Image: rktschedImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"/ko-app/rktsched-labeler", "--version"},
			}},
			Containers: []v1.Container{{
				Name: "main", Image: rktschedImage, ImagePullPolicy: v1.PullNever,
				Command: []string{"/ko-app/rktsched-extender", "--version"},
				Stdin:   true, StdinOnce: true,
			}},
		},
	}
	a := policy.Default().Analyze(pod)
	var needs []string
	for _, n := range a.Needs {
		needs = append(needs, string(n.Capability))
	}
	if !strings.Contains(strings.Join(needs, ","), string(policy.InitContainers)) || !strings.Contains(strings.Join(needs, ","), string(policy.Attach)) {
		t.Fatalf("the pod shows needs %v, want init-containers and attach among them", needs)
	}
	if _, err := e.c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSucceeded(ctx, t, e, ns, pod.Name)
	for _, c := range []string{"setup", "main"} {
		out, err := e.c.Kubectl(ctx, "logs", "-n", ns, pod.Name, "-c", c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "rktsched") {
			t.Errorf("kubectl logs of container %s: %q, want the binary's version line", c, out)
		}
	}
}

// testRealDeadlock shows the deadlock of the Deployment + Service mode with ignorable: false:
// every extender pod deleted, their replacements need scheduling, and kube-scheduler cannot
// schedule anything without the extender, them included.
func testRealDeadlock(ctx context.Context, t *testing.T, e *realEnv) {
	if err := setTaint(ctx, e, false); err != nil {
		t.Fatal(err)
	}
	svc, err := e.c.Client.CoreV1().Services(policysource.DefaultNamespace).Get(ctx, extenderApp, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	filterURL := fmt.Sprintf("http://%s:%d/filter", svc.Spec.ClusterIP, extenderPort)
	old := appPods(ctx, t, e, extenderApp)
	if len(old) == 0 {
		t.Fatal("no extender pods")
	}
	// The pods vanish, as on a lost node: kube-scheduler is held (SIGSTOP) while they are
	// force-deleted and their containers end, or it would place the replacements through the
	// old pods in their last seconds.
	if err := syscall.Kill(e.scheduler.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(e.scheduler.Pid(), syscall.SIGCONT); err != nil {
				t.Error(err)
			}
		}
	}
	defer resume()
	if _, err := e.c.Kubectl(ctx, "delete", "pod", "-n", policysource.DefaultNamespace, "-l", "app.kubernetes.io/name="+extenderApp, "--grace-period=0", "--force"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Poll(ctx, 30*time.Second, func(context.Context) error {
		if pids := processesOf("/ko-app/" + extenderApp); len(pids) > 0 {
			return fmt.Errorf("extender processes still run: %v", pids)
		}
		if !strings.Contains(e.node.Routes.String(), "REJECT") {
			return fmt.Errorf("the extender Service still has endpoints:\n%s", e.node.Routes)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resume()
	var stuck []string
	err = cluster.Poll(ctx, 90*time.Second, func(ctx context.Context) error {
		out, err := e.c.Outcomes(ctx, policysource.DefaultNamespace)
		if err != nil {
			return err
		}
		stuck = nil
		var waiting []string
		for _, p := range appPods(ctx, t, e, extenderApp) {
			if isOneOf(p.Name, old) {
				continue
			}
			o := out[p.Name]
			switch {
			case o.Node != "":
				return cluster.Permanent(fmt.Errorf("replacement %s was scheduled to %s", p.Name, o.Node))
			case o.FailedScheduling != "":
				if !strings.Contains(o.FailedScheduling, filterURL) {
					return cluster.Permanent(fmt.Errorf("replacement %s: FailedScheduling %q does not name the extender's %s", p.Name, o.FailedScheduling, filterURL))
				}
				stuck = append(stuck, p.Name+": "+o.FailedScheduling)
			default:
				waiting = append(waiting, p.Name)
			}
		}
		if len(stuck) == 0 || len(waiting) > 0 {
			return fmt.Errorf("replacements with a FailedScheduling event: %v; without yet: %v", stuck, waiting)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stuck {
		t.Logf("deadlocked: %s", s)
	}
}

func isOneOf(name string, pods []v1.Pod) bool {
	for _, p := range pods {
		if p.Name == name {
			return true
		}
	}
	return false
}

// The sidecar mode's files (manifests/sidecar) and where kubeadm puts what they name.
const (
	sidecarDir          = "manifests/sidecar"
	kubeadmSchedulerPod = "test/e2e/testdata/kubeadm-kube-scheduler.yaml"
	sidecarListen       = "--listen=127.0.0.1:10262"
)

// testRealSidecar: the kubeadm-style sidecar mode ends the deadlock. kube-scheduler and the
// extender run in one static pod on the real node (kubeadm's kube-scheduler manifest with
// manifests/sidecar's patches applied as `kubeadm --patches` applies them, and the shipped
// sidecar configuration). The caveat pods left Pending while no scheduler ran are placed as
// expected; the extender container killed, kubelet restarts it in place (the same pod, no
// scheduling needed) and the next pods are placed as expected too.
func testRealSidecar(ctx context.Context, t *testing.T, e *realEnv) {
	e.scheduler.Stop(5 * time.Second)
	ns := policysource.DefaultNamespace
	// The mode switch an overlay with the sidecar Component makes: no extender Deployment,
	// Service or PodDisruptionBudget, and the RoleBinding for kube-scheduler's credentials.
	if _, err := e.c.Kubectl(ctx, "delete", "-n", ns, "deployment/"+extenderApp, "service/"+extenderApp, "poddisruptionbudget/"+extenderApp); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Kubectl(ctx, "apply", "-f", filepath.Join(e.root, sidecarDir, "rbac.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := setTaint(ctx, e, true); err != nil {
		t.Fatal(err)
	}
	const before = "sidecar-pending-before"
	pending := createCaveatPods(ctx, t, e.env, before, nil)

	// /etc/kubernetes as kubeadm fills it, in the node's directory: scheduler.conf and the
	// sidecar configuration copied where its README says.
	etc := filepath.Join(e.node.Dir, "etc-kubernetes")
	if err := os.MkdirAll(filepath.Join(etc, "rktsched"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := cluster.SelfContainedKubeconfig(e.c.SchedulerKubeconfig(), filepath.Join(etc, "scheduler.conf")); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(filepath.Join(e.root, sidecarDir, "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "rktsched", "kube-scheduler-config.yaml"), shipped, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := sidecarStaticPod(ctx, t, e, etc)
	if err := os.WriteFile(filepath.Join(e.node.StaticPodDir, "kube-scheduler.yaml"), manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	mirror := waitMirrorReady(ctx, t, e, 0)
	t.Logf("static pod %s Ready on %s (containers %v)", mirror.Name, mirror.Spec.NodeName, containerNames(mirror))
	waitForExpectations(ctx, t, e.env, before, pending, 90*time.Second)

	// The extender container dies: kubelet restarts it in the same pod.
	pids := processesOf("/ko-app/" + extenderApp)
	var sidecar []string
	for _, pid := range pids {
		if cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline")); strings.Contains(string(cmdline), sidecarListen+"\x00") {
			sidecar = append(sidecar, pid)
		}
	}
	if len(sidecar) != 1 {
		t.Fatalf("%d sidecar extender processes (%s), want 1", len(sidecar), sidecarListen)
	}
	pid, _ := strconv.Atoi(sidecar[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	const after = "sidecar-after-kill"
	next := createCaveatPods(ctx, t, e.env, after, nil)
	restarted := waitMirrorReady(ctx, t, e, 1)
	if restarted.UID != mirror.UID {
		t.Errorf("the static pod was replaced (uid %s, then %s): the extender should restart in place", mirror.UID, restarted.UID)
	}
	waitForExpectations(ctx, t, e.env, after, next, 90*time.Second)
}

// sidecarStaticPod applies manifests/sidecar's kubeadm patches to kubeadm's kube-scheduler
// manifest in kubeadm's order (file names sorted; +strategic then +json), with kubectl patch
// --local, and points its hostPath volumes from /etc/kubernetes to etc.
func sidecarStaticPod(ctx context.Context, t *testing.T, e *realEnv, etc string) []byte {
	t.Helper()
	base := filepath.Join(e.root, kubeadmSchedulerPod)
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cluster.PinnedVersion(e.root, "KUBE_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "/kube-scheduler:"+v+"\n") {
		t.Fatalf("%s does not run kube-scheduler %s (test/cluster/versions.env): update its image", kubeadmSchedulerPod, v)
	}
	patches, err := filepath.Glob(filepath.Join(e.root, sidecarDir, "kube-scheduler*+*.yaml"))
	if err != nil || len(patches) != 2 {
		t.Fatalf("kubeadm patches in %s: %v (%v), want 2", sidecarDir, patches, err)
	}
	current := filepath.Join(e.node.Dir, "kube-scheduler-patched.yaml")
	if err := os.WriteFile(current, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, patch := range patches { // Glob sorts
		kind := strings.TrimSuffix(filepath.Base(patch)[strings.Index(filepath.Base(patch), "+")+1:], ".yaml")
		out, err := e.c.Kubectl(ctx, "patch", "--local", "-f", current, "--type", kind, "--patch-file", patch, "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(current, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var pod v1.Pod
	patched, err := os.ReadFile(current)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(patched, &pod); err != nil {
		t.Fatal(err)
	}
	moved := 0
	for i := range pod.Spec.Volumes {
		if hp := pod.Spec.Volumes[i].HostPath; hp != nil {
			rest, ok := strings.CutPrefix(hp.Path, "/etc/kubernetes/")
			if !ok {
				t.Fatalf("hostPath volume %s outside /etc/kubernetes: %s", pod.Spec.Volumes[i].Name, hp.Path)
			}
			hp.Path = filepath.Join(etc, rest)
			moved++
		}
	}
	if moved != 2 || len(pod.Spec.Containers) != 2 {
		t.Fatalf("the patched pod has %d hostPath volumes and %d containers, want 2 and 2:\n%s", moved, len(pod.Spec.Containers), patched)
	}
	out, err := yaml.Marshal(&pod)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitMirrorReady waits until the kube-scheduler static pod's mirror pod is Ready with its
// extender container restarted restarts times.
func waitMirrorReady(ctx context.Context, t *testing.T, e *realEnv, restarts int32) *v1.Pod {
	t.Helper()
	name := "kube-scheduler-" + cluster.RealNodeName
	var pod *v1.Pod
	err := cluster.Poll(ctx, 90*time.Second, func(ctx context.Context) error {
		var err error
		if pod, err = e.c.Client.CoreV1().Pods(metav1.NamespaceSystem).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return err
		}
		ready := false
		for _, c := range pod.Status.Conditions {
			ready = ready || c.Type == v1.PodReady && c.Status == v1.ConditionTrue
		}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == extenderApp && cs.RestartCount > restarts {
				return cluster.Permanent(fmt.Errorf("container %s restarted %d times, want %d", cs.Name, cs.RestartCount, restarts))
			}
			if cs.Name == extenderApp && cs.RestartCount == restarts && ready {
				return nil
			}
		}
		return fmt.Errorf("mirror pod %s: ready %v, containers %+v", name, ready, pod.Status.ContainerStatuses)
	})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

func containerNames(p *v1.Pod) []string {
	var out []string
	for _, c := range p.Spec.Containers {
		out = append(out, c.Name)
	}
	return out
}

// testRealChart replaces the manifests/ install with the chart's rendered output (helm
// template, the default values, release rktsched in rktsched-system): its labeler and
// extender run on the real node, and kube-scheduler places the caveat pods through the
// chart's extender Service.
func testRealChart(ctx context.Context, t *testing.T, e *realEnv) {
	e.scheduler.Stop(5 * time.Second)
	ns := policysource.DefaultNamespace
	if _, err := e.c.Kubectl(ctx, "delete", "-k", filepath.Join(e.root, "manifests"), "--wait=true", "--timeout=90s"); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Poll(ctx, 90*time.Second, func(ctx context.Context) error {
		_, err := e.c.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace %s still there (%v)", ns, err)
	}); err != nil {
		t.Fatal(err)
	}
	helm := os.Getenv("RKTSCHED_HELM")
	if helm == "" {
		t.Fatal("RKTSCHED_HELM is not set: make e2e passes bin/helm")
	}
	rendered, err := exec.CommandContext(ctx, helm, "template", "rktsched", filepath.Join(e.root, "charts", "rktsched"), "--namespace", ns).Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	chartFile := filepath.Join(e.node.Dir, "chart.yaml")
	if err := os.WriteFile(chartFile, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Kubectl(ctx, "apply", "-f", filepath.Join(e.root, "manifests", "namespace.yaml")); err != nil {
		t.Fatal(err)
	}
	boot := startBootstrapScheduler(ctx, t, e)
	onlyRealNode(ctx, t, e, func() {
		out, err := e.c.Kubectl(ctx, "apply", "-f", chartFile)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "Warning") {
			t.Errorf("kubectl apply of the chart warned:\n%s", out)
		}
		checkRunning(ctx, t, e, labelerApp, extenderApp)
	})
	boot.Stop(5 * time.Second)
	for _, p := range appPods(ctx, t, e, extenderApp) {
		if p.Labels["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("extender pod %s is not the chart's (labels %v)", p.Name, p.Labels)
		}
	}
	placeThroughService(ctx, t, e, "real-node-chart")
	checkNoForbidden(ctx, t, e, labelerApp)
	checkNoForbidden(ctx, t, e, extenderApp)
}

// testRealSecondScheduler: manifests/second-scheduler applied as shipped, its Deployment runs
// on the real node (placed by the sidecar kube-scheduler), takes its Lease from inside the
// cluster, and places the caveat pods that name it as expected.
func testRealSecondScheduler(ctx context.Context, t *testing.T, e *realEnv) {
	onlyRealNode(ctx, t, e, func() {
		out, err := e.c.Kubectl(ctx, "apply", "-k", filepath.Join(e.root, "manifests", "second-scheduler"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("kubectl apply -k manifests/second-scheduler:\n%s", out)
		checkRunning(ctx, t, e, secondScheduler)
	})
	err := cluster.Poll(ctx, 60*time.Second, func(ctx context.Context) error {
		lease, err := e.c.Client.CoordinationV1().Leases(policysource.DefaultNamespace).Get(ctx, secondScheduler, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if holder := ptr.Deref(lease.Spec.HolderIdentity, ""); !strings.HasPrefix(holder, secondScheduler+"-") {
			return fmt.Errorf("Lease %s held by %q, want one of its pods", secondScheduler, holder)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkNoForbidden(ctx, t, e, secondScheduler)
	const ns = "real-node-second-scheduler"
	pods := createCaveatPods(ctx, t, e.env, ns, ours)
	waitForExpectations(ctx, t, e.env, ns, pods, 90*time.Second)
	for _, p := range pods {
		if Expectations[p.Name].Nodes == nil {
			continue
		}
		by, err := scheduledBy(ctx, e.env, ns, p.Name)
		if err != nil {
			t.Fatal(err)
		}
		if by != secondScheduler {
			t.Errorf("pod %s was scheduled by %q, want %s", p.Name, by, secondScheduler)
		}
	}
}
