//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/test/cluster"
)

// draDriver is the DRA driver the fake GPU nodes' ResourceSlices name, and the DeviceClass
// of its GPUs: a GPU class of the built-in policy.
const draDriver = "gpu.nvidia.com"

// ensureDRA publishes, once, what a DRA driver would: the DeviceClass gpu.nvidia.com and a
// ResourceSlice of two GPUs for each node of the mixed cluster with GPUs (docker-gpu-1,
// rkt-coreos-1), and starts the resourceclaim controller.
func ensureDRA(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	dc := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: draDriver},
		Spec: resourcev1.DeviceClassSpec{Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{
			Expression: fmt.Sprintf("device.driver == %q", draDriver)}}}}}
	if _, err := e.c.Client.ResourceV1().DeviceClasses().Create(ctx, dc, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return
		}
		t.Fatal(err)
	}
	for _, spec := range cluster.MixedNodes() {
		if spec.GPUs == 0 {
			continue
		}
		slice := &resourcev1.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: spec.Name + "-gpus"},
			Spec: resourcev1.ResourceSliceSpec{
				Driver:   draDriver,
				Pool:     resourcev1.ResourcePool{Name: spec.Name, ResourceSliceCount: 1},
				NodeName: ptr.To(spec.Name),
				Devices:  []resourcev1.Device{{Name: "gpu-0"}, {Name: "gpu-1"}},
			},
		}
		if _, err := e.c.Client.ResourceV1().ResourceSlices().Create(ctx, slice, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	kcm, err := e.c.StartClaimController(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.c.Logf("resourceclaim controller: %s", kcm.LogPath)
}

// testDRA: a pod whose ResourceClaimTemplate asks for a GPU of the DeviceClass gpu.nvidia.com
// (the resourceclaim controller makes its claim) is placed, and its claim allocated, on the
// Docker node with GPUs, never on the rkt node that publishes GPUs too; the same pod kept to
// the rkt node by its nodeSelector stays Pending with the policy's reason.
func testDRA(ctx context.Context, t *testing.T, e *env, schedulerName string) {
	ensureDRA(ctx, t, e)
	ns := "dra-" + strings.ReplaceAll(schedulerName, "-scheduler", "")
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePods(ctx, t, e, ns) })
	tmpl := &resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: "one-gpu"},
		Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
			Requests: []resourcev1.DeviceRequest{{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: draDriver}}}}}}}
	if _, err := e.c.Client.ResourceV1().ResourceClaimTemplates(ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gpuPod := func(name string, nodeSelector map[string]string) *v1.Pod {
		return &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1.PodSpec{
				SchedulerName: schedulerName, RestartPolicy: v1.RestartPolicyNever, NodeSelector: nodeSelector,
				ResourceClaims: []v1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: &tmpl.Name}},
				Containers: []v1.Container{{Name: "cuda", Image: "registry.k8s.io/pause:3.10",
					Resources: v1.ResourceRequirements{Claims: []v1.ResourceClaim{{Name: "gpu"}}}}},
			},
		}
	}
	onRkt := gpuPod("dra-gpu-on-rkt", map[string]string{v1.LabelHostname: "rkt-coreos-1"})
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{gpuPod("dra-gpu", nil), onRkt}); err != nil {
		t.Fatal(err)
	}
	node, err := waitForNode(ctx, e, ns, "dra-gpu", 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if node != "docker-gpu-1" {
		t.Errorf("pod dra-gpu placed on %s; only docker-gpu-1 has GPUs its runtime can use", node)
	}
	// Its claim, made from the template by the resourceclaim controller, is allocated there.
	pod, err := e.c.Client.CoreV1().Pods(ns).Get(ctx, "dra-gpu", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Status.ResourceClaimStatuses) != 1 || pod.Status.ResourceClaimStatuses[0].ResourceClaimName == nil {
		t.Fatalf("pod dra-gpu has no claim made from its template: %+v", pod.Status.ResourceClaimStatuses)
	}
	claim, err := e.c.Client.ResourceV1().ResourceClaims(ns).Get(ctx, *pod.Status.ResourceClaimStatuses[0].ResourceClaimName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a := claim.Status.Allocation; a == nil || len(a.Devices.Results) != 1 || a.Devices.Results[0].Pool != "docker-gpu-1" {
		t.Errorf("claim %s allocated %+v, want a GPU of docker-gpu-1's pool", claim.Name, claim.Status.Allocation)
	}
	o, err := waitForReason(ctx, e, ns, onRkt.Name, "rkt stage1-coreos lacks gpu")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s -> %s; %s: %s", "dra-gpu", node, onRkt.Name, o.FailedScheduling)
}
