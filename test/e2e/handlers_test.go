//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// ensureHandlerCluster adds the handler nodes and their RuntimeClasses once: the nodes are
// created, then their status.runtimeHandlers and status.features written through the status
// subresource, as a kubelet reports them; the labeler labels them (handler.rktsched.io/...).
func ensureHandlerCluster(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	specs := cluster.HandlerNodes()
	if _, err := e.c.Client.CoreV1().Nodes().Get(ctx, specs[0].Name, metav1.GetOptions{}); err == nil {
		return
	}
	for i, s := range specs {
		n := s.Node(100 + i)
		status := n.Status
		n.Status.RuntimeHandlers, n.Status.Features = nil, nil
		if _, err := e.c.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The labeler may label the node meanwhile: write the status on the latest version.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			live, err := e.c.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			live.Status.RuntimeHandlers, live.Status.Features = status.RuntimeHandlers, status.Features
			_, err = e.c.Client.CoreV1().Nodes().UpdateStatus(ctx, live, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, rc := range cluster.HandlerRuntimeClasses() {
		if _, err := e.c.Client.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// The labeler labels each node with the handlers its status reports.
	if err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		n, err := e.c.Client.CoreV1().Nodes().Get(ctx, "containerd-kata-1", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Labels[policy.HandlerLabel("kata-qemu")] != "true" || n.Labels[policy.CapabilityLabel(policy.UserNamespaces)] != "true" {
			return fmt.Errorf("containerd-kata-1 not labelled from its status yet: %v", n.Labels)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// testHandlers: every pod of cluster.HandlerPodsDir, scheduled by schedulerName, lands where
// HandlerExpectations says, or stays Pending with a FailedScheduling Event carrying the
// policy's reason.
func testHandlers(ctx context.Context, t *testing.T, e *env, schedulerName string) {
	ensureHandlerCluster(ctx, t, e)
	ns := "handlers-" + strings.ReplaceAll(schedulerName, "-scheduler", "")
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePods(ctx, t, e, ns) })
	files, err := cluster.LoadPods(filepath.Join(e.root, cluster.HandlerPodsDir))
	if err != nil {
		t.Fatal(err)
	}
	var pods []*v1.Pod
	for _, pf := range files {
		p := pf.Pod.DeepCopy()
		p.Spec.SchedulerName = schedulerName
		pods = append(pods, p)
	}
	if err := e.c.CreatePods(ctx, ns, pods); err != nil {
		t.Fatal(err)
	}
	out := waitForExpectations(ctx, t, e, ns, pods, 60*time.Second)
	for _, p := range pods {
		if want := HandlerExpectations[p.Name]; want.Reason != "" && !strings.Contains(out[p.Name].FailedScheduling, want.Reason) {
			t.Errorf("pod %s: FailedScheduling %q lacks %q", p.Name, out[p.Name].FailedScheduling, want.Reason)
		}
	}
}

// testRuntimeClassLate: a pod whose RuntimeClass does not exist when it is scheduled is
// refused with a reason naming it; creating the RuntimeClass requeues it at once (the
// plugin's RuntimeClass hint), well before kube-scheduler's 5-minute flush of unschedulable
// pods. The API server admits no pod naming a missing RuntimeClass, so the pod is created
// gated while the class exists, the class deleted, then the gate lifted.
func testRuntimeClassLate(ctx context.Context, t *testing.T, e *pluginEnv) {
	ensureHandlerCluster(ctx, t, e.env)
	const ns, name = "handlers-late", "kata-late"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePods(ctx, t, e.env, ns) })
	rcs := e.c.Client.NodeV1().RuntimeClasses()
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: "kata-qemu"}
	if _, err := rcs.Create(ctx, rc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			SchedulerName: secondScheduler, RuntimeClassName: &rc.Name, RestartPolicy: v1.RestartPolicyNever,
			SchedulingGates: []v1.PodSchedulingGate{{Name: "rktsched.io/e2e"}},
			NodeSelector:    map[string]string{cluster.HandlerPool: "handlers"},
			Tolerations:     []v1.Toleration{{Key: cluster.HandlerPool, Operator: v1.TolerationOpEqual, Value: "handlers", Effect: v1.TaintEffectNoSchedule}},
			Containers:      []v1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{pod}); err != nil {
		t.Fatal(err)
	}
	if err := rcs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The plugin's informer must have seen the deletion before the gate goes.
	if err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		live, err := e.c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		live.Spec.SchedulingGates = nil
		_, err = e.c.Client.CoreV1().Pods(ns).Update(ctx, live, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := waitForReason(ctx, e.env, ns, name, "RuntimeClass kata-late does not exist"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := rcs.Create(ctx, &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: "kata-qemu"}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	node, err := waitForNode(ctx, e.env, ns, name, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if node != "containerd-kata-1" && node != "containerd-old-1" {
		t.Errorf("pod %s placed on %s, which does not offer kata-qemu", name, node)
	}
	t.Logf("placed on %s %v after its RuntimeClass was created", node, time.Since(start).Round(time.Millisecond))
}

// expected is the pod's entry in Expectations or HandlerExpectations.
func expected(pod string) Expectation {
	if want, ok := Expectations[pod]; ok {
		return want
	}
	return HandlerExpectations[pod]
}
