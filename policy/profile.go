package policy

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Label keys, annotations and their prefixes: contracts that operators and scripts rely on.
const (
	LabelRuntime          = "rktsched.io/runtime"
	LabelRuntimeVersion   = "rktsched.io/runtime-version"
	LabelStage1           = "rktsched.io/stage1"
	CapabilityLabelPrefix = "capability.rktsched.io/"

	// AnnotationStage1Image on a Node declares the kubelet's --rkt-stage1-image.
	AnnotationStage1Image = "rktsched.io/stage1-image"
	// AnnotationStage1Override on a Pod makes rkt run it with another stage1.
	AnnotationStage1Override = "rkt.alpha.kubernetes.io/stage1-name-override"
	// AnnotationNeeds on a Pod opts in to capabilities nothing in its spec shows.
	AnnotationNeeds = "rktsched.io/needs"
)

// CapabilityLabel returns the node label key that tells whether a node has c.
func CapabilityLabel(c Capability) string { return CapabilityLabelPrefix + string(c) }

// OwnedLabel reports whether a node label key belongs to rktsched. Nothing else is touched.
func OwnedLabel(key string) bool {
	switch key {
	case LabelRuntime, LabelRuntimeVersion, LabelStage1:
		return true
	}
	return strings.HasPrefix(key, CapabilityLabelPrefix)
}

// NodeProfile is what the policy makes of a node.
type NodeProfile struct {
	Class   *Class
	Version string // the runtime version as a label value; empty if unknown
}

// Profile classifies a node: ProfileOf its inputs.
func (p *Policy) Profile(node *v1.Node) NodeProfile {
	// The same as ProfileOf(InputsOf(node)), without copying: runtimes never match on owned
	// labels, so the full label set matches as the inputs' labels do.
	return p.ProfileOf(NodeInputs{
		RuntimeVersion: node.Status.NodeInfo.ContainerRuntimeVersion,
		Stage1Image:    node.Annotations[AnnotationStage1Image],
		Labels:         node.Labels,
	})
}

// ProfileOf classifies a node from what the policy reads of it.
func (p *Policy) ProfileOf(in NodeInputs) NodeProfile {
	scheme, version := SplitRuntimeVersion(in.RuntimeVersion)
	rt := p.match(scheme, in.Labels)
	np := NodeProfile{Class: rt.class, Version: SanitizeLabelValue(version)}
	if rt.stage1 != nil {
		np.Class = rt.flavourOf(in.Stage1Image)
	}
	return np
}

// Classify is ProfileOf on the three inputs given one by one.
//
// Deprecated: use ProfileOf(NodeInputs{...}).
func (p *Policy) Classify(runtimeVersion string, labels map[string]string, stage1Image string) NodeProfile {
	return p.ProfileOf(NodeInputs{RuntimeVersion: runtimeVersion, Stage1Image: stage1Image, Labels: labels})
}

func (p *Policy) match(scheme string, labels map[string]string) *runtime {
	for _, rt := range p.runtimes {
		if rt.matches(scheme, labels) {
			return rt
		}
	}
	return p.unknown
}

func (rt *runtime) matches(scheme string, labels map[string]string) bool {
	if len(rt.schemes) > 0 {
		found := false
		for _, s := range rt.schemes {
			found = found || s == scheme
		}
		if !found {
			return false
		}
	}
	for k, v := range rt.nodeLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// flavourOf returns the class of the stage1 flavour an image name (or bare flavour name) names:
// "coreos.com/rkt/stage1-kvm:1.29.0" is kvm. Anything unrecognised is the default flavour.
func (rt *runtime) flavourOf(image string) *Class {
	if c := rt.lookupFlavour(image); c != nil {
		return c
	}
	return rt.defaultStage1
}

// lookupFlavour is flavourOf without the fallback: nil when the image names no flavour.
func (rt *runtime) lookupFlavour(image string) *Class {
	if f, ok := stage1Token(image); ok {
		return rt.stage1[f]
	}
	return nil
}

// stage1Token returns the flavour token a stage1 image name names, by this rule: take the
// image name's last path element, cut it at the first ':' (tag) or '@' (digest), drop a
// ".aci" suffix; the token is what follows "stage1-", or, without that prefix, the whole
// element (a bare flavour name like "kvm"). The token is compared with the policy's flavours
// as a whole: "coreos.com/rkt/stage1-kvm:1.29.0" and "stage1-kvm.aci" are kvm, while
// "stage1-kvm-fly" is the flavour "kvm-fly", which is neither kvm nor fly. ok is false for
// an empty token.
func stage1Token(image string) (flavour string, ok bool) {
	name := image[strings.LastIndexByte(image, '/')+1:]
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimSuffix(name, ".aci")
	name = strings.TrimPrefix(name, "stage1-")
	return name, name != ""
}

// Labels returns every label rktsched owns, as the node of this profile should carry them.
func (np NodeProfile) Labels() map[string]string {
	out := make(map[string]string, len(np.Class.labels)+1)
	for k, v := range np.Class.labels {
		out[k] = v
	}
	if np.Version != "" {
		out[LabelRuntimeVersion] = np.Version
	}
	return out
}

// SanitizeLabelValue turns s into a valid label value: at most 63 characters of [A-Za-z0-9._-],
// starting and ending with an alphanumeric. Other characters become '_'.
func SanitizeLabelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			b[i] = '_'
		}
	}
	if len(b) > 63 {
		b = b[:63]
	}
	start, end := 0, len(b)
	for start < end && !isAlnum(b[start]) {
		start++
	}
	for end > start && !isAlnum(b[end-1]) {
		end--
	}
	return string(b[start:end])
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// SlimNode is an informer transform (cache.TransformFunc) that keeps of a Node only its
// NodeInputs, its owned labels (which the labeler diffs against) and what identifies it: 5000
// full Nodes with their image lists and conditions would cost hundreds of megabytes. Strings
// are interned: thousands of nodes share the same label keys and most values.
// Other objects pass unchanged.
func SlimNode(obj any) (any, error) {
	n, ok := obj.(*v1.Node)
	if !ok {
		return obj, nil
	}
	slim := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:            n.Name,
			UID:             n.UID,
			ResourceVersion: n.ResourceVersion,
		},
	}
	inputsOf(n, true).applyTo(slim)
	return slim, nil
}
