package policy

import (
	"maps"
	"unique"

	v1 "k8s.io/api/core/v1"
)

// NodeInputs is everything the policy reads of a Node, and the only place that says so: a
// node's profile is a function of its NodeInputs alone, so two Nodes with Equal inputs get the
// same profile under every policy.
//
// The labels are all of the node's labels whose keys rktsched does not own (OwnedLabel), not
// only the ones the runtimes of some policy match on: which those are changes with the policy,
// while the inputs of a node must not (a cache of inputs stays valid across policy reloads).
// The owned labels are left out because a document may not match runtimes on them and because
// the labeler writes them: a node's inputs are the same before and after it is labelled.
//
// The strings of a NodeInputs made by InputsOf are interned: thousands of nodes share a dozen
// label keys and a few values. The Labels map is shared, never to be modified.
type NodeInputs struct {
	// RuntimeVersion is status.nodeInfo.containerRuntimeVersion, e.g. "rkt://1.29.0".
	RuntimeVersion string
	// Stage1Image is the AnnotationStage1Image annotation; empty when the node has none.
	Stage1Image string
	// Labels are the node's labels that rktsched does not own; nil when there are none.
	Labels map[string]string
}

// InputsOf returns what the policy reads of n.
func InputsOf(n *v1.Node) NodeInputs { return inputsOf(n, false) }

// inputsOf is InputsOf, with the owned labels kept too when withOwned is set (for SlimNode,
// whose Nodes the labeler diffs its owned labels against).
func inputsOf(n *v1.Node, withOwned bool) NodeInputs {
	in := NodeInputs{
		RuntimeVersion: intern(n.Status.NodeInfo.ContainerRuntimeVersion),
		Stage1Image:    intern(n.Annotations[AnnotationStage1Image]),
	}
	kept := 0
	for k := range n.Labels {
		if withOwned || !OwnedLabel(k) {
			kept++
		}
	}
	if kept == 0 {
		return in
	}
	in.Labels = make(map[string]string, kept)
	for k, v := range n.Labels {
		if withOwned || !OwnedLabel(k) {
			in.Labels[intern(k)] = intern(v)
		}
	}
	return in
}

// Equal reports whether in and o are the same inputs: then every policy gives both the same
// profile. A nil and an empty Labels map are equal.
func (in NodeInputs) Equal(o NodeInputs) bool {
	return in.RuntimeVersion == o.RuntimeVersion && in.Stage1Image == o.Stage1Image && maps.Equal(in.Labels, o.Labels)
}

// applyTo writes the inputs into n, the way InputsOf reads them. n.Labels becomes in.Labels.
func (in NodeInputs) applyTo(n *v1.Node) {
	n.Status.NodeInfo.ContainerRuntimeVersion = in.RuntimeVersion
	if in.Stage1Image != "" {
		n.Annotations = map[string]string{AnnotationStage1Image: in.Stage1Image}
	}
	n.Labels = in.Labels
}

func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
