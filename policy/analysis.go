package policy

import (
	"fmt"
	"path"
	"sort"
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
	// Why points at what in the pod shows the need, for people reading explanations.
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
	found := map[Capability]Need{}
	need := func(c Capability, soft bool, format string, args ...any) {
		if prev, ok := found[c]; ok && (soft || !prev.Soft) {
			return // keep the first reason, and a hard need over a soft one
		}
		found[c] = Need{Capability: c, Soft: soft, Why: fmt.Sprintf(format, args...)}
	}
	analyzeSpec(p, &pod.Spec, need)
	for _, name := range strings.Split(pod.Annotations[AnnotationNeeds], ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case Known(Capability(name)):
			need(Capability(name), false, "annotation %s", AnnotationNeeds)
		default:
			a.Unknown = append(a.Unknown, name)
		}
	}
	for _, c := range AllCapabilities {
		n, ok := found[c]
		if !ok {
			continue
		}
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

// analyzeSpec reports every need the pod spec shows, as the design's capability table says.
func analyzeSpec(p *Policy, spec *v1.PodSpec, need func(Capability, bool, string, ...any)) {
	all := make([]*v1.Container, 0, len(spec.InitContainers)+len(spec.Containers))
	for i := range spec.InitContainers {
		all = append(all, &spec.InitContainers[i])
	}
	for i := range spec.Containers {
		all = append(all, &spec.Containers[i])
	}
	if len(spec.InitContainers) > 0 {
		need(InitContainers, false, "init container %s", spec.InitContainers[0].Name)
	}
	if spec.HostIPC {
		need(HostIPC, false, "spec.hostIPC")
	}
	if spec.HostPID {
		need(HostPID, false, "spec.hostPID")
	}
	if !spec.HostIPC && !spec.HostPID && !spec.HostNetwork {
		need(NamespaceIsolation, false, "no host namespaces asked for")
	}
	switch spec.RestartPolicy {
	case "", v1.RestartPolicyAlways, v1.RestartPolicyOnFailure:
		need(RestartBackoff, false, "restartPolicy %s", orDefault(string(spec.RestartPolicy), "Always"))
	}
	if guaranteed(all) {
		need(OOMScoreAdj, false, "QoS class Guaranteed")
	}
	volumes := make(map[string]*v1.Volume, len(spec.Volumes))
	for i := range spec.Volumes {
		vol := &spec.Volumes[i]
		volumes[vol.Name] = vol
		if hp := vol.HostPath; hp != nil && (hp.Type == nil || *hp.Type == v1.HostPathUnset) && !p.knownHostPaths[path.Clean(hp.Path)] {
			need(HostPathCreate, false, "hostPath %s may not exist", hp.Path)
		}
	}
	seLinuxByVolume := map[string]*v1.SELinuxOptions{}
	for _, c := range all {
		if c.Stdin || c.TTY {
			need(Attach, false, "container %s has stdin or tty", c.Name)
		}
		if gpu := gpuResource(p, c); gpu != "" {
			need(GPU, false, "container %s asks for %s", c.Name, gpu)
		}
		if pullsAlways(c) {
			need(ImagePullCache, false, "container %s pulls %s always", c.Name, c.Image)
		}
		se := containerSELinux(spec, c)
		for _, m := range c.VolumeMounts {
			if m.SubPath != "" || m.SubPathExpr != "" {
				vol := volumes[m.Name]
				onEmptyDir := vol != nil && vol.EmptyDir != nil
				need(SubPathCreate, !onEmptyDir, "container %s mounts a subPath of volume %s", c.Name, m.Name)
			}
			if prev, ok := seLinuxByVolume[m.Name]; !ok {
				seLinuxByVolume[m.Name] = se
			} else if !sameSELinux(prev, se) {
				need(SELinuxPerContainer, false, "volume %s is shared by containers with different seLinuxOptions", m.Name)
			}
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func gpuResource(p *Policy, c *v1.Container) string {
	for _, name := range p.gpuResources {
		for _, rl := range []v1.ResourceList{c.Resources.Limits, c.Resources.Requests} {
			if q, ok := rl[v1.ResourceName(name)]; ok && !q.IsZero() {
				return name
			}
		}
	}
	return ""
}

// guaranteed reports whether the pod's QoS class is Guaranteed: every container sets cpu and
// memory limits, and its requests (which default to the limits) equal them.
func guaranteed(containers []*v1.Container) bool {
	if len(containers) == 0 {
		return false
	}
	for _, c := range containers {
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
