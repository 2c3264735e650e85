package policy

import (
	"fmt"
	"math/bits"
	"path"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
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
	Fits bool
	// Score is 0..MaxScore; 0 when the pod does not fit.
	Score int64
	// Reason explains a refusal the same way for every node of the class, e.g.
	// "rkt stage1-coreos lacks init-containers, gpu". Empty when the pod fits.
	Reason string
	// Missing are the capabilities that refuse the node; Degraded those that lower its score.
	Missing, Degraded []Capability
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
	hard, soft     capSet
	verdicts       []Verdict // by Class.ID
}

// Policy returns the policy the analysis was made with.
func (a *Analysis) Policy() *Policy { return a.policy }

// Verdict returns the verdict for nodes of class c, which must come from the same policy.
func (a *Analysis) Verdict(c *Class) *Verdict { return &a.verdicts[c.ID] }

// Analyze works out what pod needs and judges it against every class of node.
func (p *Policy) Analyze(pod *v1.Pod) *Analysis {
	a := &Analysis{policy: p, Stage1Override: pod.Annotations[AnnotationStage1Override]}
	var f needSet
	analyzeSpec(p, &pod.Spec, &f)
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
	a.verdicts = make([]Verdict, len(p.classes))
	for _, c := range p.classes {
		a.verdicts[c.ID] = a.judge(a.effectiveClass(c))
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

// effectiveClass applies the pod's stage1 override to nodes of a runtime with stage1 flavours.
func (a *Analysis) effectiveClass(c *Class) *Class {
	if a.Stage1Override == "" || c.Stage1 == "" {
		return c
	}
	for _, rt := range a.policy.runtimes {
		if rt.name == c.Runtime {
			if o := rt.lookupFlavour(a.Stage1Override); o != nil {
				return o
			}
		}
	}
	return c
}

func (a *Analysis) judge(c *Class) Verdict {
	if len(a.Unknown) > 0 {
		return Verdict{Reason: fmt.Sprintf("pod annotation %s names unknown capabilities: %s", AnnotationNeeds, strings.Join(a.Unknown, ", "))}
	}
	if missing := a.hard & c.lacks; missing != 0 {
		v := Verdict{Missing: missing.list()}
		v.Reason = c.Name + " lacks " + joinCapabilities(v.Missing)
		return v
	}
	v := Verdict{Fits: true, Score: MaxScore, Degraded: (a.soft & c.lacks).list()}
	for _, cp := range v.Degraded {
		v.Score -= int64(a.policy.Weight(cp))
	}
	v.Score = max(v.Score, 0)
	return v
}

func joinCapabilities(cs []Capability) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
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

// analyzeSpec reports every need the pod spec shows, as the design's capability table says,
// each with the field that shows it (the first one, for a need shown several times).
func analyzeSpec(p *Policy, spec *v1.PodSpec, f *needSet) {
	if len(spec.InitContainers) > 0 {
		f.add(InitContainers, false, joinWhy("spec.initContainers[0] (", spec.InitContainers[0].Name, ")"))
	}
	if spec.HostIPC {
		f.add(HostIPC, false, whyHostIPC)
	}
	if spec.HostPID {
		f.add(HostPID, false, whyHostPID)
	}
	if !spec.HostIPC && !spec.HostPID && !spec.HostNetwork {
		f.add(NamespaceIsolation, false, whyNamespaceIsolation)
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
	volumes := make(map[string]*v1.Volume, len(spec.Volumes))
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		volumes[vol.Name] = vol
		if hp := vol.HostPath; hp != nil && (hp.Type == nil || *hp.Type == v1.HostPathUnset) && !p.knownHostPaths[path.Clean(hp.Path)] && f.wants(HostPathCreate, false) {
			f.add(HostPathCreate, false, joinWhy("spec.volumes[", strconv.Itoa(i), "] (", vol.Name, ") hostPath ", hp.Path))
		}
	}
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
		if gpu, list := gpuResource(p, c); gpu != "" && f.wants(GPU, false) {
			f.add(GPU, false, containerWhy(spec, i, "resources.", list, "[", gpu, "]"))
		}
		if pullsAlways(c) && f.wants(ImagePullCache, false) {
			if c.ImagePullPolicy == v1.PullAlways {
				f.add(ImagePullCache, false, containerWhy(spec, i, whyPullAlwaysExplicit))
			} else {
				f.add(ImagePullCache, false, containerWhy(spec, i, "image ", c.Image, whyPullAlwaysDefaulted))
			}
		}
		se := containerSELinux(spec, c)
		for j := range c.VolumeMounts {
			m := &c.VolumeMounts[j]
			if m.SubPath != "" || m.SubPathExpr != "" {
				vol := volumes[m.Name]
				soft := vol == nil || vol.EmptyDir == nil
				if f.wants(SubPathCreate, soft) {
					field := "subPath"
					if m.SubPath == "" {
						field = "subPathExpr"
					}
					f.add(SubPathCreate, soft, containerWhy(spec, i, "volumeMounts[", strconv.Itoa(j), "] (", m.Name, ") ", field))
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

// gpuResource returns the first GPU resource of the policy that the container limits or
// requests, and which of the two ("limits" or "requests"); "" if none.
func gpuResource(p *Policy, c *v1.Container) (name, list string) {
	for _, name := range p.gpuResources {
		if q, ok := c.Resources.Limits[v1.ResourceName(name)]; ok && !q.IsZero() {
			return name, "limits"
		}
		if q, ok := c.Resources.Requests[v1.ResourceName(name)]; ok && !q.IsZero() {
			return name, "requests"
		}
	}
	return "", ""
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
