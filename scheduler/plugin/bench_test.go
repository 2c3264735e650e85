package plugin

import (
	"context"
	"testing"

	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/rktsched/rktsched/policy"
)

// BenchmarkFilter is one Filter call on a cached node that fits and one on a node that does
// not: what the plugin adds to kube-scheduler per node and pod.
func BenchmarkFilter(b *testing.B) {
	p := policy.Default()
	pl := testPlugin(p, nil)
	pod := withInitContainer(plainPod("init"))
	cs := framework.NewCycleState()
	pl.PreFilter(context.Background(), cs, pod, nil)
	docker := nodeInfo(makeNode("docker-1", "docker://1.12.6", ""))
	rkt := nodeInfo(makeNode("rkt-1", "rkt://1.29.0", ""))
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		ni   fwk.NodeInfo
	}{{"fits", docker}, {"refused", rkt}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pl.Filter(ctx, cs, pod, bc.ni)
			}
		})
	}
}

// BenchmarkPreFilter is the pod's analysis, once per scheduling cycle.
func BenchmarkPreFilter(b *testing.B) {
	pl := testPlugin(policy.Default(), nil)
	pod := withInitContainer(plainPod("init"))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pl.PreFilter(ctx, framework.NewCycleState(), pod, nil)
	}
}
