package nodeselect

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
