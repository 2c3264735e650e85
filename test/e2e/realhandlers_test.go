//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/test/cluster"
)

// The real node's handlers as RuntimeClasses, and one naming a handler it lacks (a Wasm shim).
const (
	realRuncClass    = "real-runc"
	realOldRuncClass = "real-runc-1-1"
	realSpinClass    = "real-spin"
	// plainScheduler is a kube-scheduler profile without rktsched: what a cluster without it does.
	plainScheduler = "plain-scheduler"
	// readfilesImage prints the files it is given (test/cluster/readfiles); make e2e-images.
	readfilesImage = "rktsched.invalid/readfiles:e2e"
	// olderContainerd is a fake node whose containerd predates image volumes (2.1).
	olderContainerd = "containerd-2-0-1"
)

// The real node's handlers, with what containerd 2 reports of them (runc's features list
// user namespaces with idmapped mounts, runc 1.1's have no idmapped mounts) and the binary
// containerd runs for them.
var realHandlers = []struct {
	class, handler string
	userns         bool
	binary         func(*realEnv) string
}{
	{realRuncClass, cluster.HandlerRunc, true, func(e *realEnv) string { return filepath.Join(e.node.Containerd.BinDir, "runc") }},
	{realOldRuncClass, cluster.HandlerOldRunc, false, func(*realEnv) string { return cluster.OldRuncBinary }},
}

// testRealHandlerReport (issue 29, case 1): the kubelet's own status.runtimeHandlers lists
// containerd's handlers with the features containerd found, and the labeler labels them.
func testRealHandlerReport(ctx context.Context, t *testing.T, e *realEnv) {
	var node *v1.Node
	err := cluster.Poll(ctx, 60*time.Second, func(ctx context.Context) error {
		var err error
		if node, err = e.c.Client.CoreV1().Nodes().Get(ctx, cluster.RealNodeName, metav1.GetOptions{}); err != nil {
			return err
		}
		for _, h := range realHandlers {
			if node.Labels[policy.HandlerLabelPrefix+h.handler] != "true" {
				return fmt.Errorf("node %s: no label %s%s=true; labels %v, handlers %s", node.Name,
					policy.HandlerLabelPrefix, h.handler, ownedLabels(node), handlersOf(node))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s: %s, status.runtimeHandlers %s", node.Name, node.Status.NodeInfo.ContainerRuntimeVersion, handlersOf(node))
	pinned, err := cluster.PinnedVersion(e.root, "CONTAINERD_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	// Stamped as containerd's release Makefile stamps it: without the v.
	if v, want := node.Status.NodeInfo.ContainerRuntimeVersion, "containerd://"+strings.TrimPrefix(pinned, "v"); v != want {
		t.Errorf("kubelet reports runtime %q, want %s (test/cluster/versions.env)", v, want)
	}
	reported := map[string]*v1.NodeRuntimeHandlerFeatures{}
	for _, h := range node.Status.RuntimeHandlers {
		reported[h.Name] = h.Features
	}
	// "" is the default handler (runc), as the kubelet reports it.
	want := map[string]bool{"": true}
	for _, h := range realHandlers {
		want[h.handler] = h.userns
	}
	for name, userns := range want {
		f, ok := reported[name]
		if !ok {
			t.Errorf("status.runtimeHandlers lacks %q: %s", name, handlersOf(node))
			continue
		}
		if got := f != nil && ptr.Deref(f.UserNamespaces, false); got != userns {
			t.Errorf("handler %q reports userNamespaces %v, want %v", name, got, userns)
		}
	}
	classes := map[string]string{realSpinClass: "spin"}
	for _, h := range realHandlers {
		classes[h.class] = h.handler
	}
	for name, handler := range classes {
		rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: handler}
		if _, err := e.c.Client.NodeV1().RuntimeClasses().Create(ctx, rc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func handlersOf(n *v1.Node) string {
	var out []string
	for _, h := range n.Status.RuntimeHandlers {
		f := "no features"
		if h.Features != nil {
			f = fmt.Sprintf("userNamespaces=%v recursiveReadOnlyMounts=%v", ptr.Deref(h.Features.UserNamespaces, false), ptr.Deref(h.Features.RecursiveReadOnlyMounts, false))
		}
		out = append(out, fmt.Sprintf("%q(%s)", h.Name, f))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// realPod is a pod for the real node only: it selects it by hostname and tolerates its taint,
// and runs readfiles on files.
func realPod(name, scheduler, runtimeClass string, files ...string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PodSpec{
			SchedulerName: scheduler,
			RestartPolicy: v1.RestartPolicyNever,
			NodeSelector:  map[string]string{v1.LabelHostname: cluster.RealNodeName},
			Tolerations:   []v1.Toleration{{Key: realTaint.Key, Operator: v1.TolerationOpExists}},
			Containers: []v1.Container{{
				Name: "main", Image: readfilesImage, ImagePullPolicy: v1.PullNever,
				Command: append([]string{"/ko-app/readfiles"}, files...),
			}},
		},
	}
	if runtimeClass != "" {
		p.Spec.RuntimeClassName = ptr.To(runtimeClass)
	}
	return p
}

func createPods(ctx context.Context, t *testing.T, e *realEnv, ns string, pods ...*v1.Pod) {
	t.Helper()
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if _, err := e.c.Client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSucceeded waits until the pod ran to completion, on the real node, and returns it.
func waitSucceeded(ctx context.Context, t *testing.T, e *realEnv, ns, name string) *v1.Pod {
	t.Helper()
	var got *v1.Pod
	err := cluster.Poll(ctx, 60*time.Second, func(ctx context.Context) error {
		var err error
		if got, err = e.c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return err
		}
		switch got.Status.Phase {
		case v1.PodSucceeded:
			return nil
		case v1.PodFailed:
			return cluster.Permanent(fmt.Errorf("pod %s failed: %+v", name, got.Status))
		}
		return fmt.Errorf("pod %s on %q: %s %+v", name, got.Spec.NodeName, got.Status.Phase, got.Status.ContainerStatuses)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.NodeName != cluster.RealNodeName {
		t.Errorf("pod %s ran on %q, want %s", name, got.Spec.NodeName, cluster.RealNodeName)
	}
	return got
}

// logsOf is the pod's main container's log.
func logsOf(ctx context.Context, t *testing.T, e *realEnv, ns, name string) string {
	t.Helper()
	out, err := e.c.Kubectl(ctx, "logs", "-n", ns, name, "-c", "main")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ociRuntime is the OCI runtime binary containerd ran the pod's main container with, read
// from containerd's own record of the container (ctr containers info: the runc shim's
// options).
func ociRuntime(ctx context.Context, t *testing.T, e *realEnv, p *v1.Pod) string {
	t.Helper()
	if len(p.Status.ContainerStatuses) == 0 {
		t.Fatalf("pod %s has no container status", p.Name)
	}
	id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
	out, err := e.node.Containerd.Ctr(ctx, "containers", "info", id)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Runtime struct {
			Name string
			// Options are the runc shim's options (containerd.runc.v1.Options), protobuf.
			Options struct {
				Value []byte `json:"value"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("ctr containers info %s: %v\n%s", id, err, out)
	}
	// binary_name is field 6 of containerd's runc Options (api/types/runc/options).
	const binaryName = 6
	for b := info.Runtime.Options.Value; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		if num == binaryName && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			return string(v)
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			break
		}
		b = b[n:]
	}
	t.Fatalf("container %s: no binary_name in its runtime options:\n%s", id, out)
	return ""
}

// testRealHandlerPods (case 2): a pod naming each handler's RuntimeClass, through the
// extender and through rktsched-scheduler, runs to completion on the real node, by the OCI
// runtime binary of that handler.
func testRealHandlerPods(ctx context.Context, t *testing.T, e *realEnv) {
	const ns = "real-node-handlers"
	var pods []*v1.Pod
	for _, h := range realHandlers {
		for _, s := range []string{v1.DefaultSchedulerName, secondScheduler} {
			pods = append(pods, realPod(h.handler+"-"+s, s, h.class, "/proc/self/uid_map"))
		}
	}
	createPods(ctx, t, e, ns, pods...)
	for _, h := range realHandlers {
		for _, s := range []string{v1.DefaultSchedulerName, secondScheduler} {
			p := waitSucceeded(ctx, t, e, ns, h.handler+"-"+s)
			if got, want := ociRuntime(ctx, t, e, p), h.binary(e); got != want {
				t.Errorf("pod %s (RuntimeClass %s) ran by %q, want %s", p.Name, h.class, got, want)
			}
			if by, err := scheduledBy(ctx, e.env, ns, p.Name); err != nil || by != s {
				t.Errorf("pod %s scheduled by %q (%v), want %s", p.Name, by, err, s)
			}
		}
	}
}

// testRealMissingHandler (case 3): a RuntimeClass naming a handler the node lacks: the pod
// stays Pending with our reason through the extender and through rktsched-scheduler, where a
// kube-scheduler without rktsched places it and the kubelet cannot create its sandbox.
func testRealMissingHandler(ctx context.Context, t *testing.T, e *realEnv) {
	const ns = "real-node-missing-handler"
	plain, err := e.c.StartSchedulerConfig(ctx, plainScheduler, []byte(fmt.Sprintf(
		"apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: %s\nleaderElection:\n  leaderElect: false\nprofiles:\n- schedulerName: %s\n",
		e.c.SchedulerKubeconfig(), plainScheduler)))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Stop(5 * time.Second)
	createPods(ctx, t, e, ns,
		realPod("spin-extender", v1.DefaultSchedulerName, realSpinClass),
		realPod("spin-plugin", secondScheduler, realSpinClass),
		realPod("spin-plain", plainScheduler, realSpinClass))
	const reason = "node lacks runtime handler spin"
	for _, name := range []string{"spin-extender", "spin-plugin"} {
		if o, err := waitForReason(ctx, e.env, ns, name, reason); err != nil {
			t.Error(err)
		} else {
			t.Logf("%s: %s", name, o.FailedScheduling)
		}
	}
	if node, err := waitForNode(ctx, e.env, ns, "spin-plain", 30*time.Second); err != nil || node != cluster.RealNodeName {
		t.Fatalf("without rktsched the pod was placed on %q (%v), want %s", node, err, cluster.RealNodeName)
	}
	// The kubelet's FailedCreatePodSandBox Event, and the container waiting in
	// ContainerCreating.
	err = cluster.Poll(ctx, 60*time.Second, func(ctx context.Context) error {
		events, err := e.c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=spin-plain,reason=FailedCreatePodSandBox"})
		if err != nil {
			return err
		}
		p, err := e.c.Client.CoreV1().Pods(ns).Get(ctx, "spin-plain", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(events.Items) == 0 || len(p.Status.ContainerStatuses) == 0 || p.Status.ContainerStatuses[0].State.Waiting == nil {
			return fmt.Errorf("no FailedCreatePodSandBox Event yet for a waiting container: %+v", p.Status)
		}
		msg := events.Items[0].Message
		if w := p.Status.ContainerStatuses[0].State.Waiting; w.Reason != "ContainerCreating" || !strings.Contains(msg, `"spin"`) {
			return cluster.Permanent(fmt.Errorf("container waits with %q, kubelet says %q; want ContainerCreating and a message naming spin", w.Reason, msg))
		}
		t.Logf("without rktsched: placed on %s, ContainerCreating; kubelet: %s", cluster.RealNodeName, msg)
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// testRealUserNamespaces (case 4): hostUsers: false on runc, whose entry reports user
// namespaces, runs in one (its /proc/self/uid_map maps 0 to a host ID other than 0); on runc-1-1,
// whose entry reports them false, it is refused with our reason through both ways in.
func testRealUserNamespaces(ctx context.Context, t *testing.T, e *realEnv) {
	const ns = "real-node-userns"
	userns := func(p *v1.Pod) *v1.Pod { p.Spec.HostUsers = ptr.To(false); return p }
	createPods(ctx, t, e, ns,
		userns(realPod("userns-runc", v1.DefaultSchedulerName, realRuncClass, "/proc/self/uid_map")),
		userns(realPod("userns-old-runc-extender", v1.DefaultSchedulerName, realOldRuncClass)),
		userns(realPod("userns-old-runc-plugin", secondScheduler, realOldRuncClass)))
	waitSucceeded(ctx, t, e, ns, "userns-runc")
	out := logsOf(ctx, t, e, ns, "userns-runc")
	// "==> /proc/self/uid_map <==" then "inside outside count".
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if f := strings.Fields(lines[len(lines)-1]); len(f) != 3 || f[0] != "0" || f[1] == "0" {
		t.Errorf("userns-runc's uid_map %q: want 0 mapped to a host ID other than 0", out)
	} else {
		t.Logf("userns-runc runs in a user namespace: uid_map %q", lines[len(lines)-1])
	}
	const reason = "containerd handler runc-1-1 lacks user-namespaces (reported false)"
	for _, name := range []string{"userns-old-runc-extender", "userns-old-runc-plugin"} {
		if _, err := waitForReason(ctx, e.env, ns, name, reason); err != nil {
			t.Error(err)
		}
	}
}

// testRealImageVolume (case 5): a pod mounting an image volume runs on the real node
// (containerd 2.4 >= 2.1) and reads the image's file from it; the same pod bound for a fake
// node reporting containerd 2.0 is refused with our reason.
func testRealImageVolume(ctx context.Context, t *testing.T, e *realEnv) {
	const ns = "real-node-image-volume"
	if err := e.c.CreateNodes(ctx, []cluster.NodeSpec{{Name: olderContainerd, RuntimeVersion: "containerd://2.0.5", Class: "containerd"}}); err != nil {
		t.Fatal(err)
	}
	const file = "/image/var/run/ko/image-volume.txt"
	imageVolume := func(p *v1.Pod) *v1.Pod {
		p.Spec.Volumes = []v1.Volume{{Name: "image", VolumeSource: v1.VolumeSource{
			Image: &v1.ImageVolumeSource{Reference: readfilesImage, PullPolicy: v1.PullIfNotPresent},
		}}}
		p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "image", MountPath: "/image"}}
		return p
	}
	older := imageVolume(realPod("image-volume-older", v1.DefaultSchedulerName, "", file))
	older.Spec.NodeSelector = map[string]string{v1.LabelHostname: olderContainerd}
	createPods(ctx, t, e, ns, imageVolume(realPod("image-volume", v1.DefaultSchedulerName, "", file)), older)
	waitSucceeded(ctx, t, e, ns, "image-volume")
	if out := logsOf(ctx, t, e, ns, "image-volume"); !strings.Contains(out, "an image volume's file") {
		t.Errorf("image-volume read %q, want the image's kodata/image-volume.txt", out)
	}
	if _, err := waitForReason(ctx, e.env, ns, "image-volume-older", "containerd 2.0.5 lacks image-volumes (needs 2.1)"); err != nil {
		t.Error(err)
	}
	if needs := policy.Default().Analyze(older).NeedNames(); !slices.Contains(needs, string(policy.ImageVolumes)) {
		t.Errorf("the pod needs %v, want %s among them", needs, policy.ImageVolumes)
	}
}
