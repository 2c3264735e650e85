package policy

import (
	"maps"
	"slices"
	"strings"
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
// The strings of a NodeInputs are interned: thousands of nodes share a dozen label keys, a
// few values and one or two handler reports. The Labels map is shared, never to be modified.
type NodeInputs struct {
	// RuntimeVersion is status.nodeInfo.containerRuntimeVersion, e.g. "rkt://1.29.0".
	RuntimeVersion string
	// Stage1Image is the AnnotationStage1Image annotation; empty when the node has none.
	Stage1Image string
	// Handlers is the runtime handlers the node offers, with their features, in one canonical
	// string (see handlerReport); empty when it reports none. From status.runtimeHandlers, or
	// the AnnotationRuntimeHandlers annotation when the kubelet reports none.
	Handlers string
	// SupplementalGroupsPolicy is status.features.supplementalGroupsPolicy.
	SupplementalGroupsPolicy Report
	// Labels are the node's labels that rktsched does not own; nil when there are none.
	Labels map[string]string
}

// Report is what a node says about a feature: nothing, false or true.
type Report uint8

const (
	NotReported Report = iota
	ReportedFalse
	ReportedTrue
)

func reportOf(b *bool) Report {
	switch {
	case b == nil:
		return NotReported
	case *b:
		return ReportedTrue
	}
	return ReportedFalse
}

// NodeParts are the raw parts of a Node the policy reads, however they were read: from a
// v1.Node (InputsOf), or field by field from a request's JSON (the extender's wire reader).
// Inputs turns them into NodeInputs; it is the one place that interprets them.
type NodeParts struct {
	RuntimeVersion string
	// Stage1Image and RuntimeHandlersAnnotation are the values of the node annotations
	// AnnotationStage1Image and AnnotationRuntimeHandlers ("" when absent).
	Stage1Image, RuntimeHandlersAnnotation string
	RuntimeHandlers                        []v1.NodeRuntimeHandler
	Features                               *v1.NodeFeatures
	Labels                                 map[string]string
}

// PartsOf returns the parts of n the policy reads. Nothing is copied.
func PartsOf(n *v1.Node) NodeParts {
	return NodeParts{
		RuntimeVersion:            n.Status.NodeInfo.ContainerRuntimeVersion,
		Stage1Image:               n.Annotations[AnnotationStage1Image],
		RuntimeHandlersAnnotation: n.Annotations[AnnotationRuntimeHandlers],
		RuntimeHandlers:           n.Status.RuntimeHandlers,
		Features:                  n.Status.Features,
		Labels:                    n.Labels,
	}
}

// InputsOf returns what the policy reads of n.
func InputsOf(n *v1.Node) NodeInputs { return PartsOf(n).Inputs() }

// Inputs interprets the parts: the handlers the node offers come from status.runtimeHandlers,
// or, only where that is empty, from the annotation (entries trimmed, empty ones dropped;
// declared handlers report no features), as the design's "Today's runtimes" settles.
func (parts NodeParts) Inputs() NodeInputs {
	in := NodeInputs{
		RuntimeVersion: intern(parts.RuntimeVersion),
		Stage1Image:    intern(parts.Stage1Image),
	}
	if parts.Features != nil {
		in.SupplementalGroupsPolicy = reportOf(parts.Features.SupplementalGroupsPolicy)
	}
	switch {
	case len(parts.RuntimeHandlers) > 0:
		entries := make([]string, 0, len(parts.RuntimeHandlers))
		for _, h := range parts.RuntimeHandlers {
			if strings.ContainsRune(h.Name, ',') {
				continue // no RuntimeClass can name it (handlers are DNS labels); ',' separates entries
			}
			var f handlerFeatures
			if h.Features != nil {
				f = featuresOf(h.Features.RecursiveReadOnlyMounts, h.Features.UserNamespaces)
			}
			entries = append(entries, h.Name+":"+f.String())
		}
		in.Handlers = canonicalHandlers(entries)
	case parts.RuntimeHandlersAnnotation != "":
		var entries []string
		for name := range strings.SplitSeq(parts.RuntimeHandlersAnnotation, ",") {
			if name = strings.TrimSpace(name); name != "" {
				entries = append(entries, name+":")
			}
		}
		in.Handlers = canonicalHandlers(entries)
	}
	kept := 0
	for k := range parts.Labels {
		if !OwnedLabel(k) {
			kept++
		}
	}
	if kept == 0 {
		return in
	}
	in.Labels = make(map[string]string, kept)
	for k, v := range parts.Labels {
		if !OwnedLabel(k) {
			in.Labels[intern(k)] = intern(v)
		}
	}
	return in
}

// canonicalHandlers sorts and joins "name:features" entries, keeping the first entry of a
// name listed twice, so that equal reports are equal strings.
func canonicalHandlers(entries []string) string {
	slices.SortStableFunc(entries, func(a, b string) int {
		return strings.Compare(a[:strings.LastIndexByte(a, ':')], b[:strings.LastIndexByte(b, ':')])
	})
	entries = slices.CompactFunc(entries, func(a, b string) bool {
		return a[:strings.LastIndexByte(a, ':')] == b[:strings.LastIndexByte(b, ':')]
	})
	if len(entries) == 0 {
		return ""
	}
	return intern(strings.Join(entries, ","))
}

// Equal reports whether in and o are the same inputs: then every policy gives both the same
// profile. A nil and an empty Labels map are equal.
func (in NodeInputs) Equal(o NodeInputs) bool {
	return in.RuntimeVersion == o.RuntimeVersion && in.Stage1Image == o.Stage1Image &&
		in.Handlers == o.Handlers && in.SupplementalGroupsPolicy == o.SupplementalGroupsPolicy &&
		maps.Equal(in.Labels, o.Labels)
}

func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}
