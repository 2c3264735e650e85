package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSlimNode(t *testing.T) {
	full := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "rkt-kvm-1", UID: "u-1", ResourceVersion: "42",
			Labels:      map[string]string{"kubernetes.io/hostname": "rkt-kvm-1", LabelRuntime: "rkt"},
			Annotations: map[string]string{AnnotationStage1Image: "coreos.com/rkt/stage1-kvm:1.29.0", "other": "x"},
		},
		Status: v1.NodeStatus{
			NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "rkt://1.29.0", KernelVersion: "4.9"},
			Images:   []v1.ContainerImage{{Names: []string{"busybox"}, SizeBytes: 1}},
		},
	}
	obj, err := SlimNode(full)
	if err != nil {
		t.Fatal(err)
	}
	slim := obj.(*v1.Node)
	want := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "rkt-kvm-1", UID: "u-1", ResourceVersion: "42", Labels: full.Labels,
			Annotations: map[string]string{AnnotationStage1Image: "coreos.com/rkt/stage1-kvm:1.29.0"},
		},
		Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "rkt://1.29.0"}},
	}
	if diff := cmp.Diff(want, slim); diff != "" {
		t.Errorf("SlimNode (-want +got):\n%s", diff)
	}
	if got, want := Default().Profile(slim), Default().Profile(full); got != want {
		t.Errorf("profile of the slim node %+v, of the full node %+v", got, want)
	}
	cm := &v1.ConfigMap{}
	if obj, _ := SlimNode(cm); obj != cm {
		t.Error("SlimNode changed an object that is no Node")
	}
}
