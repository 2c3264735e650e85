package policy

import (
	"testing"
	"unsafe"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func inputsNode(rv, stage1 string, labels map[string]string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: labels}}
	n.Status.NodeInfo.ContainerRuntimeVersion = rv
	if stage1 != "" {
		n.Annotations = map[string]string{AnnotationStage1Image: stage1, "other": "x"}
	}
	return n
}

func TestInputsOf(t *testing.T) {
	n := inputsNode("rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0", map[string]string{
		"team": "blue", LabelRuntime: "rkt", LabelStage1: "kvm", CapabilityLabel(Attach): "false",
	})
	in := InputsOf(n)
	want := NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "coreos.com/rkt/stage1-kvm:1.29.0",
		Labels: map[string]string{"team": "blue"}}
	if !in.Equal(want) {
		t.Errorf("InputsOf = %+v, want %+v (owned labels left out)", in, want)
	}
	if got := InputsOf(&v1.Node{}); !got.Equal(NodeInputs{}) || got.Labels != nil {
		t.Errorf("InputsOf(empty node) = %+v, want the zero NodeInputs", got)
	}
	if got, want := Default().ProfileOf(in), Default().Profile(n); got != want {
		t.Errorf("ProfileOf(InputsOf(n)) = %+v, Profile(n) = %+v", got, want)
	}
}

func TestNodeInputsEqual(t *testing.T) {
	base := NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s", Labels: map[string]string{"a": "1"}}
	tests := []struct {
		name string
		o    NodeInputs
		want bool
	}{
		{"same", NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s", Labels: map[string]string{"a": "1"}}, true},
		{"runtime version", NodeInputs{RuntimeVersion: "rkt://1.30.0", Stage1Image: "s", Labels: map[string]string{"a": "1"}}, false},
		{"stage1", NodeInputs{RuntimeVersion: "rkt://1.29.0", Labels: map[string]string{"a": "1"}}, false},
		{"label value", NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s", Labels: map[string]string{"a": "2"}}, false},
		{"label key", NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s", Labels: map[string]string{"b": "1"}}, false},
		{"extra label", NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s", Labels: map[string]string{"a": "1", "b": ""}}, false},
		{"no labels", NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "s"}, false},
	}
	for _, tt := range tests {
		if got := base.Equal(tt.o); got != tt.want {
			t.Errorf("%s: Equal = %v, want %v", tt.name, got, tt.want)
		}
		if got := tt.o.Equal(base); got != tt.want {
			t.Errorf("%s: Equal is not symmetric", tt.name)
		}
	}
	if !(NodeInputs{Labels: map[string]string{}}).Equal(NodeInputs{}) {
		t.Error("an empty and a nil label map differ")
	}
}

// The labeler's writes leave a node's inputs as they were: a labelled node is the same node.
func TestInputsIgnoreOwnedLabels(t *testing.T) {
	n := inputsNode("docker://1.12.6", "", map[string]string{"team": "blue"})
	labelled := n.DeepCopy()
	for k, v := range Default().Profile(n).Labels() {
		labelled.Labels[k] = v
	}
	if !InputsOf(n).Equal(InputsOf(labelled)) {
		t.Errorf("inputs changed by the owned labels: %+v vs %+v", InputsOf(n), InputsOf(labelled))
	}
}

// InputsOf interns: two nodes' equal strings share memory.
func TestInputsOfInterns(t *testing.T) {
	mk := func() *v1.Node {
		// Fresh strings each time, not constants the compiler shares.
		rv := string([]byte("rkt://1.29.0"))
		return inputsNode(rv, string([]byte("img")), map[string]string{string([]byte("team")): string([]byte("blue"))})
	}
	a, b := InputsOf(mk()), InputsOf(mk())
	if unsafeData(a.RuntimeVersion) != unsafeData(b.RuntimeVersion) || unsafeData(a.Stage1Image) != unsafeData(b.Stage1Image) {
		t.Error("runtime version or stage1 image not interned")
	}
	for k, v := range a.Labels {
		for k2, v2 := range b.Labels {
			if unsafeData(k) != unsafeData(k2) || unsafeData(v) != unsafeData(v2) {
				t.Error("labels not interned")
			}
		}
	}
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }
