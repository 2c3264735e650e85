package plugin

import (
	"context"
	"strings"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// signFragmentKey names the plugin's part of a pod's signature.
const signFragmentKey = "rktsched.io/Analysis"

// SignPod signs the pod with what the plugin's verdicts depend on: its needs (hard or soft),
// unknown needs, stage1 override, RuntimeClass and handler, the objects it names that do
// not exist, and the policy they are judged under. Pods with the same
// signature get the same verdict for every node, so kube-scheduler may reuse one pod's
// placement work for the next (opportunistic batching stays on).
func (pl *Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	p := pl.src.store.Load()
	a := p.AnalyzeWith(pod, pl.objects)
	var b strings.Builder
	b.WriteString(p.Digest())
	b.WriteString("|needs:")
	for i, n := range a.Needs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(n.Capability))
		if n.Soft {
			b.WriteString("~soft")
		}
	}
	b.WriteString("|unknown:")
	b.WriteString(strings.Join(a.Unknown, ","))
	b.WriteString("|stage1:")
	b.WriteString(a.Stage1Override)
	b.WriteString("|handler:")
	b.WriteString(a.RuntimeClass + "=" + a.Handler)
	b.WriteString("|missing:")
	b.WriteString(strings.Join(a.MissingObjects, ","))
	return []fwk.SignFragment{{Key: signFragmentKey, Value: b.String()}}, nil
}
