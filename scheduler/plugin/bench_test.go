package plugin

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"

	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/rktsched/rktsched/internal/prodlike"
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

// BenchmarkClassOf is the class lookup Filter and Score make per node, over 2500 nodes in a
// shuffled order: by the Node object (nodeClasses), and, for comparison, a sync.Map keyed by
// the node's name, which this plugin used before and which hashes the name on every call.
func BenchmarkClassOf(b *testing.B) {
	p := policy.Default()
	nc := newNodeClasses()
	var byName sync.Map
	nodes := make([]*v1.Node, 2500)
	for i := range nodes {
		nodes[i] = prodlike.Node(i)
		nc.add(nodes[i])
		byName.Store(nodes[i].Name, policy.NewProfiled(policy.InputsOf(nodes[i])))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	b.Run("node", func(b *testing.B) {
		i := 0
		for b.Loop() {
			nc.classOf(p, nodes[i%len(nodes)])
			i++
		}
	})
	b.Run("name", func(b *testing.B) {
		i := 0
		for b.Loop() {
			v, _ := byName.Load(nodes[i%len(nodes)].Name)
			_ = v.(*policy.Profiled).Profile(p).Class
			i++
		}
	})
}
