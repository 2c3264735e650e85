package nodeselect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/rktsched/rktsched/policy"
)

func node(name string, labels map[string]string) *v1.Node {
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func required(terms ...v1.NodeSelectorTerm) *v1.Affinity {
	return &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms}}}
}

func TestSelector(t *testing.T) {
	rkt := node("rkt-1", map[string]string{"rktsched.io/runtime": "rkt", "rktsched.io/stage1": "kvm"})
	docker := node("docker-1", map[string]string{"rktsched.io/runtime": "docker"})
	bare := node("bare-1", nil)
	preferredOnly := &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{Weight: 1}}}}
	tests := []struct {
		name     string
		spec     v1.PodSpec
		selects  string // of rkt, docker, bare: "r", "d", "b"
		describe string
	}{
		{"nothing", v1.PodSpec{}, "rdb", ""},
		{"preferred affinity only", v1.PodSpec{Affinity: preferredOnly}, "rdb", ""},
		{"nodeSelector", v1.PodSpec{NodeSelector: map[string]string{"rktsched.io/stage1": "kvm", "rktsched.io/runtime": "rkt"}}, "r",
			"nodeSelector rktsched.io/runtime=rkt,rktsched.io/stage1=kvm"},
		{"terms are ORed, expressions ANDed", v1.PodSpec{Affinity: required(
			v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{
				{Key: "rktsched.io/runtime", Operator: v1.NodeSelectorOpIn, Values: []string{"rkt", "docker"}},
				{Key: "rktsched.io/stage1", Operator: v1.NodeSelectorOpDoesNotExist},
			}},
			v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"bare-1"}}}},
		)}, "db", "required node affinity rktsched.io/runtime In [rkt, docker], rktsched.io/stage1 DoesNotExist or metadata.name In [bare-1]"},
		{"nodeSelector and affinity both apply", v1.PodSpec{NodeSelector: map[string]string{"rktsched.io/runtime": "rkt"}, Affinity: required(
			v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "rktsched.io/stage1", Operator: v1.NodeSelectorOpNotIn, Values: []string{"kvm"}}}},
		)}, "", "nodeSelector rktsched.io/runtime=rkt; required node affinity rktsched.io/stage1 NotIn [kvm]"},
		{"a term that does not parse matches nothing", v1.PodSpec{Affinity: required(
			v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "rktsched.io/runtime", Operator: "Like", Values: []string{"r*"}}}},
		)}, "", "required node affinity rktsched.io/runtime Like [r*]"},
		{"no terms match nothing", v1.PodSpec{Affinity: required()}, "", "required node affinity (no terms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Of(&v1.Pod{Spec: tt.spec})
			if (s == nil) != (tt.describe == "") {
				t.Errorf("Of = %v for %+v", s, tt.spec)
			}
			got := ""
			for _, n := range []*v1.Node{rkt, docker, bare} {
				if s.Matches(n) {
					got += n.Name[:1]
				}
			}
			if got != tt.selects {
				t.Errorf("selects %q, want %q", got, tt.selects)
			}
			if d := s.String(); d != tt.describe {
				t.Errorf("String() = %q, want %q", d, tt.describe)
			}
		})
	}
}

// TestLabelled: the nodes as the labeler labels them under a policy: rktsched's labels are
// the policy's, every other label stays, and the nodes given are left as they were.
func TestLabelled(t *testing.T) {
	p := policy.Default()
	stale := map[string]string{"rktsched.io/runtime": "docker", "capability.rktsched.io/gone": "true", "disktype": "ssd"}
	rkt := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "rkt-1", Labels: stale},
		Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "rkt://1.29.0"}}}
	bare := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare-1"},
		Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "docker://1.12.6"}}}
	tests := []struct {
		node *v1.Node
		want map[string]string
	}{
		{rkt, withLabels(p.Profile(rkt).Labels(), "disktype", "ssd")},
		{bare, p.Profile(bare).Labels()},
	}
	for _, tt := range tests {
		t.Run(tt.node.Name, func(t *testing.T) {
			got := Labelled(p, []*v1.Node{tt.node})[0]
			if diff := cmp.Diff(tt.want, got.Labels); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if got.Name != tt.node.Name || got == tt.node {
				t.Errorf("got %s (%p), want a copy of %s (%p)", got.Name, got, tt.node.Name, tt.node)
			}
		})
	}
	if rkt.Labels["capability.rktsched.io/gone"] != "true" || len(rkt.Labels) != 3 {
		t.Errorf("the given node's labels changed: %v", rkt.Labels)
	}
}

func withLabels(m map[string]string, kv ...string) map[string]string {
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
