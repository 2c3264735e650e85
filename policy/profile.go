package policy

import (
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Label keys, annotations and their prefixes: contracts that operators and scripts rely on.
const (
	LabelRuntime          = "rktsched.io/runtime"
	LabelRuntimeVersion   = "rktsched.io/runtime-version"
	LabelStage1           = "rktsched.io/stage1"
	CapabilityLabelPrefix = "capability.rktsched.io/"
	// HandlerLabelPrefix + a handler's name is "true" on the nodes that offer it, for
	// RuntimeClass scheduling.nodeSelector.
	HandlerLabelPrefix = "handler.rktsched.io/"

	// AnnotationStage1Image on a Node declares the kubelet's --rkt-stage1-image.
	AnnotationStage1Image = "rktsched.io/stage1-image"
	// AnnotationRuntimeHandlers on a Node declares the runtime handlers it offers
	// ("runc,kata-qemu") where its runtime reports none in status.runtimeHandlers.
	AnnotationRuntimeHandlers = "rktsched.io/runtime-handlers"
	// AnnotationStage1Override on a Pod makes rkt run it with another stage1.
	AnnotationStage1Override = "rkt.alpha.kubernetes.io/stage1-name-override"
	// AnnotationNeeds on a Pod opts in to capabilities nothing in its spec shows.
	AnnotationNeeds = "rktsched.io/needs"
)

// CapabilityLabel returns the node label key that tells whether a node has c.
func CapabilityLabel(c Capability) string { return CapabilityLabelPrefix + string(c) }

// HandlerLabel returns the node label key that tells that a node offers handler h; "" when
// h cannot be a label key's name (CRI handler names are free-form, RuntimeClass handlers are
// DNS labels and always can).
func HandlerLabel(h string) string {
	if len(validation.IsQualifiedName(h)) > 0 {
		return ""
	}
	return HandlerLabelPrefix + h
}

// OwnedLabel reports whether a node label key belongs to rktsched. Nothing else is touched.
func OwnedLabel(key string) bool {
	switch key {
	case LabelRuntime, LabelRuntimeVersion, LabelStage1:
		return true
	}
	return strings.HasPrefix(key, CapabilityLabelPrefix) || strings.HasPrefix(key, HandlerLabelPrefix)
}

// NodeProfile is what the policy makes of a node.
type NodeProfile struct {
	Class   *Class
	Version string // the runtime version as a label value; empty if unknown
}

// Profile classifies a node: ProfileOf its inputs.
func (p *Policy) Profile(node *v1.Node) NodeProfile { return p.ProfileOf(InputsOf(node)) }

// ProfileOf classifies a node from what the policy reads of it.
func (p *Policy) ProfileOf(in NodeInputs) NodeProfile {
	scheme, ver := SplitRuntimeVersion(in.RuntimeVersion)
	rt := p.match(scheme, in.Labels)
	flavour := ""
	if rt.stage1 != nil {
		flavour = rt.flavourOf(in.Stage1Image)
	}
	classVer := ver
	if len(rt.minVersions) == 0 {
		classVer = "" // no verdict depends on it: one class for every version
	}
	return NodeProfile{
		Class:   p.class(rt, flavour, classVer, in.Handlers, in.SupplementalGroupsPolicy),
		Version: SanitizeLabelValue(ver),
	}
}

// class returns the class of nodes with these traits, interning it.
func (p *Policy) class(rt *runtime, flavour, ver, handlers string, groups Report) *Class {
	key := rt.name + "\x00" + flavour + "\x00" + ver + "\x00" + handlers + "\x00" + string('0'+rune(groups))
	p.classMu.Lock()
	defer p.classMu.Unlock()
	if c := p.byKey[key]; c != nil {
		return c
	}
	c := p.newClass(rt, flavour, ver, handlers, groups)
	cur := *p.classes.Load()
	if len(cur) >= maxClasses {
		c.ID = -1
		return c
	}
	c.ID = len(cur)
	next := append(cur[:len(cur):len(cur)], c)
	p.classes.Store(&next)
	p.byKey[key] = c
	return c
}

func (p *Policy) newClass(rt *runtime, flavour, ver, handlers string, groups Report) *Class {
	c := &Class{
		Runtime: rt.name, Stage1: flavour, Name: rt.name, Version: ver,
		SupplementalGroupsPolicy: groups,
		rt:                       rt, lacks: rt.lacks, report: parseHandlers(handlers), handlers: handlers,
	}
	if flavour != "" {
		c.Name = rt.name + " stage1-" + flavour
		c.lacks |= rt.stage1[flavour]
	}
	if flavour == UnrecognisedStage1 {
		for _, more := range rt.stage1 {
			c.lacks |= more
		}
	}
	if c.report != nil {
		c.Handlers = c.report.offered()
	}
	if len(rt.minVersions) > 0 {
		v, ok := parseVersion(ver)
		for _, mv := range rt.minVersions {
			if !ok || v.less(mv.at) {
				c.tooOld.add(mv.capability)
			}
		}
	}
	// The labels say what the node offers a pod of its default handler, and which handlers
	// it offers by name.
	lacks := c.lacks | c.tooOld | p.profileFor(rt, rt.defaultHandler) | c.unreported("", nil)
	if _, lacking := c.groupsStrict(); lacking {
		lacks.add(SupplementalGroupsStrict)
	}
	c.defaultLacks = lacks
	c.labels = map[string]string{LabelRuntime: rt.name}
	if flavour != "" {
		c.labels[LabelStage1] = flavour
	}
	for _, cp := range p.Capabilities() {
		c.labels[CapabilityLabel(cp)] = boolString(!lacks.has(cp))
	}
	for _, h := range c.Handlers {
		if k := HandlerLabel(h); k != "" {
			c.labels[k] = "true"
		}
	}
	return c
}

// unreported returns the per-handler reported capabilities (recursive-read-only,
// user-namespaces) that nodes of the class lack for a pod of the handler (its RuntimeClass's,
// or "" for the default), and notes, if not nil, why: "reported false" or "not reported".
func (c *Class) unreported(handler string, notes map[Capability]string) capSet {
	var out capSet
	f, listed := c.report[handler]
	check := func(cp Capability, has bool) {
		if has || !listed && c.rt.unreportedHas {
			return
		}
		out.add(cp)
		if notes != nil {
			notes[cp] = "not reported"
			if listed {
				notes[cp] = "reported false"
			}
		}
	}
	check(RecursiveReadOnly, f&featureRecursiveReadOnly != 0)
	check(UserNamespaces, f&featureUserNamespaces != 0)
	return out
}

// groupsStrict says whether nodes of the class lack supplemental-groups-strict, and why.
func (c *Class) groupsStrict() (note string, lacking bool) {
	switch c.SupplementalGroupsPolicy {
	case ReportedTrue:
		return "", false
	case ReportedFalse:
		return "reported false", true
	}
	return "not reported", !c.rt.unreportedHas
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

// flavourOf returns the stage1 flavour an image name (or bare flavour name) names:
// "coreos.com/rkt/stage1-kvm:1.29.0" is kvm. No image is the default flavour; an image that
// names no listed flavour ("stage1-KVM", "stage1-kvm-qemu") is UnrecognisedStage1, which
// lacks all any flavour lacks: an unknown stage1 is never taken for a more capable one.
func (rt *runtime) flavourOf(image string) string {
	if image == "" {
		return rt.defaultStage1
	}
	if f := rt.lookupFlavour(image); f != "" {
		return f
	}
	return UnrecognisedStage1
}

// lookupFlavour is flavourOf without the fallback: "" when the image names no flavour.
func (rt *runtime) lookupFlavour(image string) string {
	if f, ok := stage1Token(image); ok {
		if _, listed := rt.stage1[f]; listed {
			return f
		}
	}
	return ""
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

// SlimNode is an informer transform (cache.TransformFunc) that keeps of a Node only what the
// policy reads of it (PartsOf), all its labels (the labeler diffs the owned ones) and what
// identifies it: 5000 full Nodes with their image lists and conditions would cost hundreds of
// megabytes. Label strings are interned: thousands of nodes share the same keys and most
// values. Other objects pass unchanged.
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
	slim.Status.NodeInfo.ContainerRuntimeVersion = intern(n.Status.NodeInfo.ContainerRuntimeVersion)
	slim.Status.RuntimeHandlers = n.Status.RuntimeHandlers
	slim.Status.Features = n.Status.Features
	for _, k := range []string{AnnotationStage1Image, AnnotationRuntimeHandlers} {
		if v, ok := n.Annotations[k]; ok {
			if slim.Annotations == nil {
				slim.Annotations = map[string]string{}
			}
			slim.Annotations[k] = intern(v)
		}
	}
	if len(n.Labels) > 0 {
		slim.Labels = make(map[string]string, len(n.Labels))
		for k, v := range n.Labels {
			slim.Labels[intern(k)] = intern(v)
		}
	}
	return slim, nil
}
