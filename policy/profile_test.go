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

// Stage1 flavours are matched by the whole token of the image name, never by a substring:
// with flavours kvm and fly, "stage1-kvm-fly" is neither (formerly fly, because "fly" sorts
// before "kvm" among flavours of the same length).
func TestStage1FlavourToken(t *testing.T) {
	doc := header + `capabilities:
  attach: {action: filter}
runtimes:
- name: rkt
  schemes: [rkt]
  defaultStage1: coreos
  stage1:
    coreos: {}
    kvm: {}
    fly: {}
`
	withKvmFly := doc + "    kvm-fly: {}\n"
	tests := []struct {
		image      string
		want       string // flavour under doc
		wantKvmFly string // flavour under withKvmFly
	}{
		{"coreos.com/rkt/stage1-kvm:1.29.0", "kvm", "kvm"},
		{"coreos.com/rkt/stage1-fly@sha512-0123", "fly", "fly"},
		{"stage1-fly.aci", "fly", "fly"},
		{"/usr/lib/rkt/stage1-images/stage1-kvm.aci", "kvm", "kvm"},
		{"kvm", "kvm", "kvm"},
		{"fly", "fly", "fly"},
		{"coreos.com/rkt/stage1-kvm-fly:1.29.0", "unrecognised", "kvm-fly"},
		// Issue 26: what names no listed flavour is the least capable, never coreos.
		{"stage1-fly-kvm", "unrecognised", "unrecognised"},
		{"example.com/stage1-flyer:1", "unrecognised", "unrecognised"},
		{"example.com/kvm/stage1-custom:1", "unrecognised", "unrecognised"}, // the last path element names it
		{"example.com/stage1-kvm/x:1", "unrecognised", "unrecognised"},
		{"stage1-", "unrecognised", "unrecognised"},
		{"mystage1-kvm", "unrecognised", "unrecognised"},
		{"stage1-KVM", "unrecognised", "unrecognised"},
		{"stage1-kvm-qemu", "unrecognised", "unrecognised"},
		{"stage1-kvm.aci?v=1", "unrecognised", "unrecognised"},
		{"coreos.com/rkt/stage1-kvm/", "unrecognised", "unrecognised"},
		{"", "coreos", "coreos"}, // no annotation: the default flavour
	}
	for _, doc := range []struct {
		text   string
		kvmFly bool
	}{{doc, false}, {withKvmFly, true}} {
		p, err := Parse([]byte(doc.text))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			want := tt.want
			if doc.kvmFly {
				want = tt.wantKvmFly
			}
			// Many times: the outcome must not depend on any order.
			for range 20 {
				got := p.Profile(node("rkt://1.29.0", tt.image)).Class.Stage1
				if got != want {
					t.Fatalf("kvm-fly listed %v: stage1 of %q = %q, want %q", doc.kvmFly, tt.image, got, want)
				}
			}
		}
	}
}
