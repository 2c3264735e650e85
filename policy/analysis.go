package policy

import (
	"fmt"
	"math/bits"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Need is one capability a pod relies on.
type Need struct {
	Capability Capability
	// Soft needs only lower a node's score, whatever the capability's action. Whether any
	// other need filters or scores is the capability's action in the policy.
	Soft bool
	// Why is the field of the pod that shows the need, for people reading explanations:
	// a path with the names of list elements, e.g. "spec.initContainers[0] (setup)",
	// "spec.containers[0] (cuda) resources.limits[nvidia.com/gpu]" (the grammar is at the
	// why constants of analysis.go).
	Why string
}

// Verdict is what the policy says about running a pod on nodes of one class.
type Verdict struct {
	// Class is the class judged: the node's, or the flavour the pod's stage1 override makes it.
	Class *Class
	Fits  bool
	// Score is 0..MaxScore; 0 when the pod does not fit.
	Score int64
	// Reason explains a refusal the same way for every node of the class, e.g.
	// "rkt stage1-coreos lacks init-containers, gpu". Empty when the pod fits.
	Reason string
	// Missing are the capabilities that refuse the node; Degraded those that lower its score.
	Missing, Degraded []Capability
	// Gaps say, for each missing or degraded capability, what lacks it (in reason order).
	Gaps []Gap
}

// Gap is one capability a class lacks for the pod, and what lacks it.
type Gap struct {
	Capability Capability
	// By is what lacks it, as reasons name it: "rkt stage1-kvm" (the runtime and flavour),
	// "containerd 1.7.22" (the runtime version), "containerd handler kata-qemu" (the handler's
	// profile or what the node reports of it), "containerd default handler", "node" (a
	// handler the node does not offer).
	By string
	// Note is why, where the name of By does not say: "needs 2.1", "reported false",
	// "not reported"; empty otherwise.
	Note string
	// Soft: the gap only lowers the score.
	Soft bool
}

// Analysis is what a policy makes of a pod: its needs and a verdict for every class of node.
// It is immutable and computed once per pod, so that judging a node is one slice index.
type Analysis struct {
	policy *Policy
	// Needs in the design's order, one per capability (a hard need hides a soft one).
	Needs []Need
	// Unknown lists names in the rktsched.io/needs annotation that are no capability.
	Unknown []string
	// Stage1Override is the pod's stage1 override annotation, if any.
	Stage1Override string
	// RuntimeClass is the pod's spec.runtimeClassName and Handler that RuntimeClass's
	// handler; both empty for a pod of the runtime's default handler.
	RuntimeClass, Handler string
	// MissingObjects are the objects the pod names that do not exist, e.g. "RuntimeClass
	// kata-clh": every node is refused, the reason naming them.
	MissingObjects []string
	hard, soft     capSet
	refusal        string    // the reason every node is refused for, if any
	verdicts       []Verdict // by Class.ID
}

// Policy returns the policy the analysis was made with.
func (a *Analysis) Policy() *Policy { return a.policy }

// Verdict returns the verdict for nodes of class c, which must come from the same policy.
// Classes met after the analysis are judged on the call.
func (a *Analysis) Verdict(c *Class) *Verdict {
	if c.ID >= 0 && c.ID < len(a.verdicts) {
		return &a.verdicts[c.ID]
	}
	v := a.judge(c)
	return &v
}

// Analyze works out what pod needs and judges it against every class of node, as if no
// object it names (RuntimeClass, ResourceClaim, ...) existed: AnalyzeWith(pod, nil).
func (p *Policy) Analyze(pod *v1.Pod) *Analysis { return p.AnalyzeWith(pod, nil) }

// AnalyzeWith works out what pod needs, reading the objects it names from objs (nil: none
// exist), and judges it against every class of node.
func (p *Policy) AnalyzeWith(pod *v1.Pod, objs Objects) *Analysis {
	a := &Analysis{policy: p, Stage1Override: pod.Annotations[AnnotationStage1Override]}
	var f needSet
	analyzeSpec(p, pod, objs, &f, a)
	for name := range strings.SplitSeq(pod.Annotations[AnnotationNeeds], ",") {
		name = strings.TrimSpace(name)
		switch c := Capability(name); {
		case name == "":
		case Known(c):
			if f.wants(c, false) {
				f.add(c, false, whyAnnotationNeeds)
			}
		default:
			a.Unknown = append(a.Unknown, name)
		}
	}
	a.Needs = make([]Need, 0, bits.OnesCount32(uint32(f.seen)))
	for i, c := range AllCapabilities {
		if f.seen&(1<<i) == 0 {
			continue
		}
		n := f.byIndex[i]
		a.Needs = append(a.Needs, n)
		switch p.Action(c) {
		case ActionFilter:
			if n.Soft {
				a.soft.add(c)
			} else {
				a.hard.add(c)
			}
		case ActionScore:
			a.soft.add(c)
		}
	}
	var refusals []string
	if len(a.Unknown) > 0 {
		refusals = append(refusals, fmt.Sprintf("pod annotation %s names unknown capabilities: %s", AnnotationNeeds, strings.Join(a.Unknown, ", ")))
	}
	refusals = append(refusals, a.MissingObjects...)
	a.refusal = strings.Join(refusals, "; ")
	classes := p.Classes()
	a.verdicts = make([]Verdict, len(classes))
	for _, c := range classes {
		a.verdicts[c.ID] = a.judge(c)
	}
	return a
}

// needSet collects a pod's needs, one per capability: the first one found, except that a hard
// need replaces a soft one. Callers ask wants before building a Why, so that a need already
// shown costs no string.
type needSet struct {
	seen    capSet
	byIndex [32]Need // by index in AllCapabilities
}

// wants reports whether a need for c (soft or not) would be kept.
func (f *needSet) wants(c Capability, soft bool) bool {
	i := capabilityIndex[c]
	return f.seen&(1<<i) == 0 || !soft && f.byIndex[i].Soft
}

// add keeps the need, replacing any need for c; c must be Known (see capSet.add).
func (f *needSet) add(c Capability, soft bool, why string) {
	i, ok := capabilityIndex[c]
	if !ok {
		panic(fmt.Sprintf("policy: need of unknown capability %q", c))
	}
	f.seen |= 1 << i
	f.byIndex[i] = Need{Capability: c, Soft: soft, Why: why}
}

// effectiveClass applies the pod's stage1 override to nodes of a runtime with stage1 flavours
// (one naming no listed flavour is UnrecognisedStage1, as for nodes).
func (a *Analysis) effectiveClass(c *Class) *Class {
	if a.Stage1Override == "" || c.Stage1 == "" {
		return c
	}
	f := c.rt.flavourOf(a.Stage1Override)
	if f == c.Stage1 {
		return c
	}
	return a.policy.class(c.rt, f, c.Version, c.handlers, c.SupplementalGroupsPolicy)
}

// judge decides the pod on nodes of class c. What lacks a capability is looked at in this
// order, each capability told once, by the first that lacks it: the node's handler list
// (presence), the runtime and its flavour, the runtime version, the handler's profile, what
// the node reports. Profiles and reports both apply: a need is met only if all allow it.
func (a *Analysis) judge(node *Class) Verdict {
	c := a.effectiveClass(node)
	v := Verdict{Class: c}
	if a.refusal != "" {
		v.Reason = a.refusal
		return v
	}
	need := a.hard | a.soft
	var lacking capSet
	add := func(by string, set capSet, note func(Capability) string) {
		set &= need &^ lacking
		for _, cp := range set.list() {
			g := Gap{Capability: cp, By: by, Soft: a.soft.has(cp)}
			if note != nil {
				g.Note = note(cp)
			}
			v.Gaps = append(v.Gaps, g)
		}
		lacking |= set
	}
	if need.has(RuntimeHandler) && c.report != nil && !c.offers(a.Handler) {
		add("node", capSetOf(RuntimeHandler), nil)
	}
	add(c.Name, c.lacks, nil)
	if c.tooOld&need != 0 {
		ver := c.Version
		if ver == "" {
			ver = "(no version)"
		}
		add(c.Runtime+" "+ver, c.tooOld, func(cp Capability) string {
			for _, mv := range c.rt.minVersions {
				if mv.capability == cp {
					return "needs " + mv.text
				}
			}
			return ""
		})
	}
	handler, by := a.Handler, c.Runtime+" handler "+a.Handler
	if handler == "" {
		handler, by = c.rt.defaultHandler, c.Runtime+" handler "+c.rt.defaultHandler
	}
	add(by, a.policy.profileFor(c.rt, handler), nil)
	if need&reportedCapabilities != 0 {
		if a.Handler == "" {
			by = c.Runtime + " default handler"
		}
		notes := map[Capability]string{}
		unreported := c.unreported(a.Handler, notes)
		add(by, unreported, func(cp Capability) string { return notes[cp] })
		if note, lacks := c.groupsStrict(); lacks {
			add(c.Runtime, capSetOf(SupplementalGroupsStrict), func(Capability) string { return note })
		}
	}
	if missing := lacking & a.hard; missing != 0 {
		// A refused node has no score: only what refuses it is told.
		v.Gaps = slices.DeleteFunc(v.Gaps, func(g Gap) bool { return g.Soft })
		v.Missing, v.Reason = missing.list(), a.reason(v.Gaps)
		return v
	}
	v.Degraded = (lacking & a.soft).list()
	v.Fits, v.Score = true, MaxScore
	for _, cp := range v.Degraded {
		v.Score -= int64(a.policy.Weight(cp))
	}
	v.Score = max(v.Score, 0)
	return v
}

// reason renders the hard gaps: "By lacks c1, c2 (note); By2 lacks c3", and a handler the
// node does not offer as "node lacks runtime handler kata-qemu".
func (a *Analysis) reason(gaps []Gap) string {
	var b strings.Builder
	last := ""
	for _, g := range gaps {
		if g.Soft {
			continue
		}
		if g.Capability == RuntimeHandler && g.By == "node" {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString("node lacks runtime handler " + a.Handler)
			last = ""
			continue
		}
		if g.By == last {
			b.WriteString(", ")
		} else {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(g.By + " lacks ")
			last = g.By
		}
		b.WriteString(string(g.Capability))
		if g.Note != "" {
			b.WriteString(" (" + g.Note + ")")
		}
	}
	return b.String()
}

// Why forms. A need points at the field of the pod that shows it, as a path from the object:
//
//	PATH [(NAME)] [FIELD [(NAME)]] [VALUE] [(NOTE)]
//
// PATH is the field ("spec.hostPID") or list element ("spec.initContainers[0]"); an element of
// a named list is followed by its name in parentheses ("spec.volumes[2] (data)"); FIELD is the
// field inside that element ("stdin", "resources.limits[nvidia.com/gpu]", "volumeMounts[1]
// (data) subPath"); VALUE is the value that shows the need when the field's presence alone
// does not ("spec.restartPolicy Always"); NOTE says where a value comes from ("(defaulted)").
const (
	whyAnnotationNeeds     = "metadata.annotations[" + AnnotationNeeds + "]"
	whyHostIPC             = "spec.hostIPC"
	whyHostPID             = "spec.hostPID"
	whyHostNetwork         = "spec.hostNetwork"
	whyHostUsers           = "spec.hostUsers false"
	whyGroupsStrict        = "spec.securityContext.supplementalGroupsPolicy Strict"
	whyPodSELinux          = "spec.securityContext.seLinuxOptions"
	whyNamespaceIsolation  = "spec.hostNetwork, spec.hostPID, spec.hostIPC false"
	whyRestartDefault      = "spec.restartPolicy Always (defaulted)"
	whyRestartAlways       = "spec.restartPolicy Always"
	whyRestartOnFailure    = "spec.restartPolicy OnFailure"
	whyGuaranteed          = "status.qosClass Guaranteed (limits = requests)"
	whyPullAlwaysExplicit  = "imagePullPolicy Always"
	whyPullAlwaysDefaulted = " (imagePullPolicy defaults to Always)"
)

// joinWhy concatenates a Why's parts with one allocation.
func joinWhy(parts ...string) string {
	n := 0
	for _, s := range parts {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range parts {
		b.WriteString(s)
	}
	return b.String()
}

// containerAt is the i-th of the pod's init containers and containers, in that order.
func containerAt(spec *v1.PodSpec, i int) *v1.Container {
	if i < len(spec.InitContainers) {
		return &spec.InitContainers[i]
	}
	return &spec.Containers[i-len(spec.InitContainers)]
}

// containerRef returns the parts of "spec.containers[1] (app)" for the i-th of the pod's
// init containers and containers, in that order: the list with its "[", the index and the
// name, for joinWhy to join with "] (" and ")".
func containerRef(spec *v1.PodSpec, i int) (list, index, name string) {
	if i < len(spec.InitContainers) {
		return "spec.initContainers[", strconv.Itoa(i), spec.InitContainers[i].Name
	}
	i -= len(spec.InitContainers)
	return "spec.containers[", strconv.Itoa(i), spec.Containers[i].Name
}

// containerWhy is "spec.containers[1] (app) " followed by field, in one allocation.
func containerWhy(spec *v1.PodSpec, i int, field ...string) string {
	list, index, name := containerRef(spec, i)
	parts := make([]string, 0, 16)
	parts = append(parts, list, index, "] (", name, ") ")
	parts = append(parts, field...)
	return joinWhy(parts...)
}

// analyzeSpec reports every need the pod spec shows, as the design's capability tables say,
// each with the field that shows it (the first one, for a need shown several times), and
// records in a the pod's handler and the objects it names that do not exist.
func analyzeSpec(p *Policy, pod *v1.Pod, objs Objects, f *needSet, a *Analysis) {
	spec := &pod.Spec
	if len(spec.InitContainers) > 0 {
		f.add(InitContainers, false, joinWhy("spec.initContainers[0] (", spec.InitContainers[0].Name, ")"))
	}
	if spec.HostIPC {
		f.add(HostIPC, false, whyHostIPC)
	}
	if spec.HostPID {
		f.add(HostPID, false, whyHostPID)
	}
	if spec.HostNetwork {
		f.add(HostNetwork, false, whyHostNetwork)
	}
	if !spec.HostIPC && !spec.HostPID && !spec.HostNetwork {
		f.add(NamespaceIsolation, false, whyNamespaceIsolation)
	}
	if spec.HostUsers != nil && !*spec.HostUsers {
		f.add(UserNamespaces, false, whyHostUsers)
	}
	if sc := spec.SecurityContext; sc != nil {
		if sc.SupplementalGroupsPolicy != nil && *sc.SupplementalGroupsPolicy == v1.SupplementalGroupsPolicyStrict {
			f.add(SupplementalGroupsStrict, false, whyGroupsStrict)
		}
		if labelled(sc.SELinuxOptions) {
			f.add(SELinuxLabels, false, whyPodSELinux)
		}
	}
	switch spec.RestartPolicy {
	case "":
		f.add(RestartBackoff, false, whyRestartDefault)
	case v1.RestartPolicyAlways:
		f.add(RestartBackoff, false, whyRestartAlways)
	case v1.RestartPolicyOnFailure:
		f.add(RestartBackoff, false, whyRestartOnFailure)
	}
	if guaranteed(spec) {
		f.add(OOMScoreAdj, false, whyGuaranteed)
	}
	if rc := spec.RuntimeClassName; rc != nil && *rc != "" {
		a.RuntimeClass = *rc
		switch obj := lookup(objs, func(o Objects) *nodev1.RuntimeClass { return o.RuntimeClass(*rc) }); {
		case obj == nil:
			a.MissingObjects = append(a.MissingObjects, "RuntimeClass "+*rc+" does not exist")
		case obj.Handler == "":
			a.MissingObjects = append(a.MissingObjects, "RuntimeClass "+*rc+" names no handler")
		default:
			a.Handler = obj.Handler
			f.add(RuntimeHandler, false, joinWhy("spec.runtimeClassName ", *rc, " (handler ", obj.Handler, ")"))
		}
	}
	volumes := make(map[string]*v1.Volume, len(spec.Volumes))
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		volumes[vol.Name] = vol
		if hp := vol.HostPath; hp != nil && (hp.Type == nil || *hp.Type == v1.HostPathUnset) && !p.knownHostPaths[path.Clean(hp.Path)] && f.wants(HostPathCreate, false) {
			f.add(HostPathCreate, false, joinWhy("spec.volumes[", strconv.Itoa(i), "] (", vol.Name, ") hostPath ", hp.Path))
		}
		if vol.Image != nil && f.wants(ImageVolumes, false) {
			f.add(ImageVolumes, false, joinWhy("spec.volumes[", strconv.Itoa(i), "] (", vol.Name, ") image ", vol.Image.Reference))
		}
	}
	analyzeClaims(p, pod, objs, f, a)
	// The first container mounting each volume, and its seLinuxOptions.
	type mounter struct {
		container int
		se        *v1.SELinuxOptions
	}
	seLinuxByVolume := map[string]mounter{}
	for i := range len(spec.InitContainers) + len(spec.Containers) {
		c := containerAt(spec, i)
		if (c.Stdin || c.TTY) && f.wants(Attach, false) {
			field := "stdin"
			if !c.Stdin {
				field = "tty"
			}
			f.add(Attach, false, containerWhy(spec, i, field))
		}
		if f.wants(GPU, false) {
			if gpu, list, class := gpuResource(p, objs, c); gpu != "" {
				f.add(GPU, false, containerWhy(spec, i, "resources.", list, "[", gpu, "]", class))
			}
		}
		if pullsAlways(c) && f.wants(ImagePullCache, false) {
			if c.ImagePullPolicy == v1.PullAlways {
				f.add(ImagePullCache, false, containerWhy(spec, i, whyPullAlwaysExplicit))
			} else {
				f.add(ImagePullCache, false, containerWhy(spec, i, "image ", c.Image, whyPullAlwaysDefaulted))
			}
		}
		if sc := c.SecurityContext; sc != nil {
			if labelled(sc.SELinuxOptions) && f.wants(SELinuxLabels, false) {
				f.add(SELinuxLabels, false, containerWhy(spec, i, "securityContext.seLinuxOptions"))
			}
			if f.wants(RawSockets, false) {
				if why := rawSockets(sc); why != "" {
					f.add(RawSockets, false, containerWhy(spec, i, why))
				}
			}
		}
		se := containerSELinux(spec, c)
		for j := range c.VolumeMounts {
			m := &c.VolumeMounts[j]
			if m.SubPath != "" || m.SubPathExpr != "" {
				field := "subPath"
				if m.SubPath == "" {
					field = "subPathExpr"
				}
				vol := volumes[m.Name]
				soft := vol == nil || vol.EmptyDir == nil
				if f.wants(SubPathCreate, soft) {
					f.add(SubPathCreate, soft, containerWhy(spec, i, "volumeMounts[", strconv.Itoa(j), "] (", m.Name, ") ", field))
				}
				if f.wants(SubPath, false) {
					f.add(SubPath, false, containerWhy(spec, i, "volumeMounts[", strconv.Itoa(j), "] (", m.Name, ") ", field))
				}
			}
			if rro := m.RecursiveReadOnly; rro != nil && *rro != v1.RecursiveReadOnlyDisabled {
				// IfPossible silently degrades to a plain read-only mount: a soft need.
				soft := *rro != v1.RecursiveReadOnlyEnabled
				if f.wants(RecursiveReadOnly, soft) {
					f.add(RecursiveReadOnly, soft, containerWhy(spec, i, "volumeMounts[", strconv.Itoa(j), "] (", m.Name, ") recursiveReadOnly ", string(*rro)))
				}
			}
			if prev, ok := seLinuxByVolume[m.Name]; !ok {
				seLinuxByVolume[m.Name] = mounter{container: i, se: se}
			} else if !sameSELinux(prev.se, se) && f.wants(SELinuxPerContainer, false) {
				list, index, name := containerRef(spec, prev.container)
				f.add(SELinuxPerContainer, false, containerWhy(spec, i, "volumeMounts[", strconv.Itoa(j), "] (", m.Name,
					") seLinuxOptions differ from ", list, index, "] (", name, ")"))
			}
		}
	}
}

// lookup asks objs, or answers nil when there are none.
func lookup[T any](objs Objects, get func(Objects) *T) *T {
	if objs == nil {
		return nil
	}
	return get(objs)
}

// labelled reports whether SELinux options set a label: some of user, role, type, level
// (design: options with none set, or set to "", are no need).
func labelled(o *v1.SELinuxOptions) bool {
	return o != nil && (o.User != "" || o.Role != "" || o.Type != "" || o.Level != "")
}

// rawSockets returns the field that gives a container raw sockets: privileged, or
// capabilities.add naming NET_RAW or ALL (case-insensitive, with or without CAP_, as
// container runtimes read it); "" if none.
func rawSockets(sc *v1.SecurityContext) string {
	if sc.Privileged != nil && *sc.Privileged {
		return "securityContext.privileged"
	}
	if sc.Capabilities == nil {
		return ""
	}
	for _, c := range sc.Capabilities.Add {
		switch strings.TrimPrefix(strings.ToUpper(string(c)), "CAP_") {
		case "NET_RAW", "ALL":
			return "securityContext.capabilities.add " + string(c)
		}
	}
	return ""
}

// analyzeClaims finds a GPU need in the pod's DRA claims: a request (or one of its
// firstAvailable alternatives) naming a device class the policy counts as a GPU. A claim or
// template the pod names that does not exist is a missing object.
func analyzeClaims(p *Policy, pod *v1.Pod, objs Objects, f *needSet, a *Analysis) {
	for i, pc := range pod.Spec.ResourceClaims {
		var requests []resourcev1.DeviceRequest
		var what string
		switch {
		case pc.ResourceClaimName != nil:
			name := *pc.ResourceClaimName
			claim := lookup(objs, func(o Objects) *resourcev1.ResourceClaim { return o.ResourceClaim(pod.Namespace, name) })
			if claim == nil {
				a.MissingObjects = append(a.MissingObjects, "ResourceClaim "+pod.Namespace+"/"+name+" does not exist")
				continue
			}
			requests, what = claim.Spec.Devices.Requests, "claim "+name
		case pc.ResourceClaimTemplateName != nil:
			name := *pc.ResourceClaimTemplateName
			tmpl := lookup(objs, func(o Objects) *resourcev1.ResourceClaimTemplate { return o.ResourceClaimTemplate(pod.Namespace, name) })
			if tmpl == nil {
				a.MissingObjects = append(a.MissingObjects, "ResourceClaimTemplate "+pod.Namespace+"/"+name+" does not exist")
				continue
			}
			requests, what = tmpl.Spec.Spec.Devices.Requests, "template "+name
		default:
			continue
		}
		if !f.wants(GPU, false) {
			continue
		}
		for _, r := range requests {
			if class := gpuRequestClass(p, &r); class != "" {
				f.add(GPU, false, joinWhy("spec.resourceClaims[", strconv.Itoa(i), "] (", pc.Name, ") ", what, " class ", class))
				break
			}
		}
	}
}

// gpuRequestClass returns the GPU device class a DRA request names, "" if none: a request is
// a GPU need if it, or any of its firstAvailable alternatives, names a GPU class.
func gpuRequestClass(p *Policy, r *resourcev1.DeviceRequest) string {
	if r.Exactly != nil && p.gpuClass(r.Exactly.DeviceClassName) {
		return r.Exactly.DeviceClassName
	}
	for _, sub := range r.FirstAvailable {
		if p.gpuClass(sub.DeviceClassName) {
			return sub.DeviceClassName
		}
	}
	return ""
}

func (p *Policy) gpuClass(name string) bool { return name != "" && matchAny(p.gpuDeviceClasses, name) }

func matchAny(patterns []string, name string) bool {
	for _, pat := range patterns {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// deviceClassResourcePrefix + a DeviceClass's name is the extended resource every DeviceClass
// backs implicitly (DRA extended resources, KEP-5004).
const deviceClassResourcePrefix = "deviceclass.resource.kubernetes.io/"

// gpuResource returns the first extended resource (by name) that the container limits or
// requests at a quantity above 0 and that is a GPU: on the policy's GPU list (names or
// globs), or backed by a GPU DeviceClass (its extendedResourceName, or the implicit
// deviceclass.resource.kubernetes.io/<class>); with which of limits or requests holds it,
// and, for a DeviceClass, " (DeviceClass <name>)". "" if none.
func gpuResource(p *Policy, objs Objects, c *v1.Container) (name, list, class string) {
	for _, l := range [...]struct {
		name string
		rl   v1.ResourceList
	}{{"limits", c.Resources.Limits}, {"requests", c.Resources.Requests}} {
		var names []string
		for n, q := range l.rl {
			if strings.IndexByte(string(n), '/') >= 0 && !q.IsZero() {
				names = append(names, string(n))
			}
		}
		slices.Sort(names)
		for _, n := range names {
			if matchAny(p.gpuResources, n) {
				return n, l.name, ""
			}
			if dc, ok := strings.CutPrefix(n, deviceClassResourcePrefix); ok && p.gpuClass(dc) {
				return n, l.name, " (DeviceClass " + dc + ")"
			}
			if objs == nil {
				continue
			}
			for _, dc := range objs.DeviceClassesFor(n) {
				if p.gpuClass(dc) {
					return n, l.name, " (DeviceClass " + dc + ")"
				}
			}
		}
	}
	return "", "", ""
}

// guaranteed reports whether the pod's QoS class is Guaranteed: every container sets cpu and
// memory limits, and its requests (which default to the limits) equal them.
func guaranteed(spec *v1.PodSpec) bool {
	n := len(spec.InitContainers) + len(spec.Containers)
	if n == 0 {
		return false
	}
	for i := range n {
		c := containerAt(spec, i)
		for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			limit, ok := c.Resources.Limits[r]
			if !ok || limit.IsZero() {
				return false
			}
			if req, ok := c.Resources.Requests[r]; ok && !sameQuantity(req, limit) {
				return false
			}
		}
	}
	return true
}

func sameQuantity(a, b resource.Quantity) bool { return a.Cmp(b) == 0 }

// pullsAlways reports whether the kubelet pulls the container's image on every start: an
// explicit Always, or no policy with a :latest or missing tag (and no digest).
func pullsAlways(c *v1.Container) bool {
	switch c.ImagePullPolicy {
	case v1.PullAlways:
		return true
	case "":
		if strings.Contains(c.Image, "@") {
			return false
		}
		name := c.Image[strings.LastIndexByte(c.Image, '/')+1:]
		_, tag, ok := strings.Cut(name, ":")
		return !ok || tag == "latest"
	}
	return false
}

func containerSELinux(spec *v1.PodSpec, c *v1.Container) *v1.SELinuxOptions {
	if c.SecurityContext != nil && c.SecurityContext.SELinuxOptions != nil {
		return c.SecurityContext.SELinuxOptions
	}
	if spec.SecurityContext != nil {
		return spec.SecurityContext.SELinuxOptions
	}
	return nil
}

func sameSELinux(a, b *v1.SELinuxOptions) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// NeedNames lists the pod's needs as "gpu", "restart-backoff (soft)", ... for explanations.
func (a *Analysis) NeedNames() []string {
	out := make([]string, 0, len(a.Needs))
	for _, n := range a.Needs {
		s := string(n.Capability)
		if !a.hard.has(n.Capability) {
			s += " (soft)"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
