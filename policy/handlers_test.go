package policy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// handlerNode is a node of runtimeVersion reporting handlers ("name:ru", r: recursive
// read-only mounts, u: user namespaces; nil: no report) and supplementalGroupsPolicy.
func handlerNode(runtimeVersion string, groups *bool, handlers ...string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	n.Status.NodeInfo.ContainerRuntimeVersion = runtimeVersion
	for _, h := range handlers {
		name, f, _ := strings.Cut(h, ":")
		n.Status.RuntimeHandlers = append(n.Status.RuntimeHandlers, v1.NodeRuntimeHandler{Name: name,
			Features: &v1.NodeRuntimeHandlerFeatures{
				RecursiveReadOnlyMounts: ptr.To(strings.Contains(f, "r")),
				UserNamespaces:          ptr.To(strings.Contains(f, "u"))}})
	}
	if groups != nil {
		n.Status.Features = &v1.NodeFeatures{SupplementalGroupsPolicy: groups}
	}
	return n
}

func runtimeClass(name, handler string) *nodev1.RuntimeClass {
	return &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Handler: handler}
}

func gpuTemplate(ns, name string, requests ...resourcev1.DeviceRequest) *resourcev1.ResourceClaimTemplate {
	return &resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: requests}}}}
}

func exactly(name, class string) resourcev1.DeviceRequest {
	return resourcev1.DeviceRequest{Name: name, Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: class}}
}

var handlerObjects = NewObjectSet(
	runtimeClass("kata", "kata-qemu"), runtimeClass("kata-gpu", "kata-qemu-nvidia-gpu"),
	runtimeClass("gvisor", "runsc"), runtimeClass("crun", "crun"), runtimeClass("runc", "runc"),
	runtimeClass("spin", "spin"), runtimeClass("empty", ""),
	&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu.nvidia.com"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: ptr.To("example.com/gpu")}},
	&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "nic.example.com"}, Spec: resourcev1.DeviceClassSpec{ExtendedResourceName: ptr.To("example.com/nic")}},
	gpuTemplate("default", "one-gpu", exactly("gpu", "gpu.nvidia.com")),
	gpuTemplate("default", "mig-or-nic", resourcev1.DeviceRequest{Name: "any", FirstAvailable: []resourcev1.DeviceSubRequest{
		{Name: "nic", DeviceClassName: "nic.example.com"}, {Name: "mig", DeviceClassName: "mig.nvidia.com"}}}),
	gpuTemplate("default", "two", exactly("nic", "nic.example.com"), exactly("vfio", "vfio.gpu.nvidia.com")),
	gpuTemplate("default", "nic", exactly("nic", "nic.example.com")),
	&resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shared-gpu"},
		Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{exactly("gpu", "gpu.amd.com")}}}},
)

// The nodes of the handler tables: what they report and run.
var (
	noReport      = handlerNode("containerd://1.7.22", nil)
	c20           = handlerNode("containerd://2.0.5", ptr.To(true), ":ru", "runc:ru")
	kataNode      = handlerNode("containerd://2.1.4", ptr.To(true), ":ru", "runc:ru", "kata-qemu:r", "kata-qemu-nvidia-gpu:r")
	gvisor        = handlerNode("containerd://2.1.4", ptr.To(true), ":ru", "runc:ru", "runsc:")
	crio          = handlerNode("cri-o://1.33.2", ptr.To(true), ":ru", "crun:ru", "runc:ru")
	limited       = handlerNode("containerd://2.1.4", ptr.To(false), ":u", "runc:u")
	annotatedNode = func() *v1.Node {
		n := handlerNode("containerd://1.7.22", nil)
		n.Annotations = map[string]string{AnnotationRuntimeHandlers: " runc, ,kata-qemu "}
		return n
	}()
	dockerNode2 = handlerNode("docker://20.10.7", nil)
	rktKVM      = func() *v1.Node {
		n := handlerNode("rkt://1.29.0", nil)
		n.Annotations = map[string]string{AnnotationStage1Image: "coreos.com/rkt/stage1-kvm:1.29.0"}
		return n
	}()
)

var handlerNodes = []struct {
	name string
	node *v1.Node
}{{"noReport", noReport}, {"c20", c20}, {"kata", kataNode}, {"gvisor", gvisor}, {"crio", crio},
	{"limited", limited}, {"annotated", annotatedNode}, {"docker", dockerNode2}, {"kvm", rktKVM}}

// TestHandlerRules: one pod per rule of the design's "Today's runtimes", on nodes that report
// every combination: where it fits, and the reason of each refusal.
func TestHandlerRules(t *testing.T) {
	withRC := func(name string, edits ...func(*v1.PodSpec)) *v1.Pod {
		return pod(append([]func(*v1.PodSpec){func(s *v1.PodSpec) { s.RuntimeClassName = ptr.To(name) }}, edits...)...)
	}
	hostUsers := func(s *v1.PodSpec) { s.HostUsers = ptr.To(false) }
	rro := func(mode v1.RecursiveReadOnlyMode) func(*v1.PodSpec) {
		return func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/etc"}}}}
			s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "d", MountPath: "/d", ReadOnly: true, RecursiveReadOnly: &mode}}
		}
	}
	imageVolume := func(s *v1.PodSpec) {
		s.Volumes = []v1.Volume{{Name: "img", VolumeSource: v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "quay.io/crio/artifact:v2"}}}}
	}
	claim := func(c v1.PodResourceClaim) func(*v1.PodSpec) {
		return func(s *v1.PodSpec) { s.ResourceClaims = append(s.ResourceClaims, c) }
	}
	limits := func(name string, q string) func(*v1.PodSpec) {
		return func(s *v1.PodSpec) {
			s.Containers[0].Resources.Limits = v1.ResourceList{v1.ResourceName(name): resource.MustParse(q)}
		}
	}
	tests := []struct {
		name    string
		pod     *v1.Pod
		fits    string            // the nodes of handlerNodes that fit, by name
		reasons map[string]string // of some refused nodes
	}{
		{name: "presence: kata-qemu offered by status or annotation; no report is no refusal",
			pod:     withRC("kata"),
			fits:    "noReport,kata,annotated,docker,kvm",
			reasons: map[string]string{"c20": "node lacks runtime handler kata-qemu"}},
		{name: "presence is exact: a class naming runc on a node listing \"\" and crun is refused",
			pod:  withRC("runc"),
			fits: "noReport,c20,kata,gvisor,crio,limited,annotated,docker,kvm"},
		{name: "spin is offered nowhere",
			pod:  withRC("spin"),
			fits: "noReport,docker,kvm"},
		{name: "kata lacks host networking wherever it runs",
			pod:  withRC("kata", func(s *v1.PodSpec) { s.HostNetwork = true }),
			fits: "",
			reasons: map[string]string{"kata": "containerd handler kata-qemu lacks host-network",
				"c20": "node lacks runtime handler kata-qemu; containerd handler kata-qemu lacks host-network",
				"kvm": "rkt handler kata-qemu lacks host-network"}},
		{name: "gVisor lacks raw sockets: capabilities.add cap_net_raw",
			pod: withRC("gvisor", func(s *v1.PodSpec) {
				s.Containers[0].SecurityContext = &v1.SecurityContext{Capabilities: &v1.Capabilities{Add: []v1.Capability{"cap_net_raw"}}}
			}),
			fits:    "",
			reasons: map[string]string{"gvisor": "containerd handler runsc lacks raw-sockets"}},
		{name: "gVisor lacks SELinux labels; options with nothing set are none",
			pod: withRC("gvisor", func(s *v1.PodSpec) {
				s.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{Type: ""}}
				s.Containers[0].SecurityContext = &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1"}}
			}),
			fits: "", reasons: map[string]string{"gvisor": "containerd handler runsc lacks selinux-labels"}},
		{name: "gVisor, plain: fits where runsc is or nothing is reported",
			pod: withRC("gvisor", func(s *v1.PodSpec) {
				s.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{}}
			}),
			fits: "noReport,gvisor,docker,kvm"},
		{name: "user namespaces of the default handler: the \"\" entry",
			pod:  pod(hostUsers),
			fits: "c20,kata,gvisor,crio,limited",
			reasons: map[string]string{"noReport": "containerd default handler lacks user-namespaces (not reported)",
				"docker": "docker default handler lacks user-namespaces (not reported)"}},
		{name: "user namespaces of gVisor: reported false",
			pod:  withRC("gvisor", hostUsers),
			fits: "",
			reasons: map[string]string{"gvisor": "containerd handler runsc lacks user-namespaces (reported false)",
				"noReport": "containerd handler runsc lacks user-namespaces (not reported)"}},
		{name: "kata lacks user namespaces by its profile though the node reports none either",
			pod:     withRC("kata", hostUsers),
			fits:    "",
			reasons: map[string]string{"kata": "containerd handler kata-qemu lacks user-namespaces"}},
		{name: "recursive read-only Enabled is hard",
			pod:     pod(rro(v1.RecursiveReadOnlyEnabled)),
			fits:    "c20,kata,gvisor,crio",
			reasons: map[string]string{"limited": "containerd default handler lacks recursive-read-only (reported false)"}},
		{name: "recursive read-only IfPossible is soft",
			pod:  pod(rro(v1.RecursiveReadOnlyIfPossible)),
			fits: "noReport,c20,kata,gvisor,crio,limited,annotated,docker,kvm"},
		{name: "supplementalGroupsPolicy Strict needs status.features",
			pod: pod(func(s *v1.PodSpec) {
				s.SecurityContext = &v1.PodSecurityContext{SupplementalGroupsPolicy: ptr.To(v1.SupplementalGroupsPolicyStrict)}
			}),
			fits: "c20,kata,gvisor,crio",
			reasons: map[string]string{"limited": "containerd lacks supplemental-groups-strict (reported false)",
				"noReport": "containerd lacks supplemental-groups-strict (not reported)"}},
		{name: "image volumes need containerd 2.1 or CRI-O 1.31",
			pod:  pod(imageVolume),
			fits: "kata,gvisor,crio,limited",
			reasons: map[string]string{"noReport": "containerd 1.7.22 lacks image-volumes (needs 2.1)",
				"c20": "containerd 2.0.5 lacks image-volumes (needs 2.1)", "docker": "docker lacks image-volumes",
				"kvm": "rkt stage1-kvm lacks image-volumes"}},
		{name: "kata lacks any subPath, not only on emptyDir",
			pod: withRC("kata", func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "c", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
				s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "c", MountPath: "/c", SubPath: "x"}}
			}),
			fits: "", reasons: map[string]string{"kata": "containerd handler kata-qemu lacks subpath"}},
		{name: "a RuntimeClass that does not exist refuses every node, naming it",
			pod:     withRC("kata-clh"),
			fits:    "",
			reasons: map[string]string{"kata": "RuntimeClass kata-clh does not exist", "docker": "RuntimeClass kata-clh does not exist"}},
		{name: "a RuntimeClass without a handler is a missing one",
			pod:     withRC("empty"),
			fits:    "",
			reasons: map[string]string{"crio": "RuntimeClass empty names no handler"}},
		{name: "runtimeClassName \"\" is none",
			pod:  withRC(""),
			fits: "noReport,c20,kata,gvisor,crio,limited,annotated,docker,kvm"},
		{name: "GPU glob nvidia.com/mig-* under kata-qemu",
			pod:  withRC("kata", limits("nvidia.com/mig-1g.10gb", "1")),
			fits: "", reasons: map[string]string{"kata": "containerd handler kata-qemu lacks gpu"}},
		{name: "kata*nvidia-gpu* keeps GPUs and kata's other gaps",
			pod:  withRC("kata-gpu", limits("nvidia.com/gpu", "1")),
			fits: "noReport,kata,docker"},
		{name: "a GPU at quantity 0 is no need",
			pod:  withRC("gvisor", limits("gpu.intel.com/i915", "0")),
			fits: "noReport,gvisor,docker,kvm"},
		{name: "a resource on no list is not a GPU",
			pod:  withRC("gvisor", limits("example.com/fpga", "1")),
			fits: "noReport,gvisor,docker,kvm"},
		{name: "DRA: template requesting gpu.nvidia.com, under gVisor",
			pod:  withRC("gvisor", claim(v1.PodResourceClaim{Name: "gpu", ResourceClaimTemplateName: ptr.To("one-gpu")})),
			fits: "", reasons: map[string]string{"gvisor": "containerd handler runsc lacks gpu"}},
		{name: "DRA: named claim (gpu.amd.com), default handler fits everywhere but rkt",
			pod:  pod(claim(v1.PodResourceClaim{Name: "gpu", ResourceClaimName: ptr.To("shared-gpu")})),
			fits: "noReport,c20,kata,gvisor,crio,limited,annotated,docker"},
		{name: "DRA: firstAvailable with a MIG alternative is a GPU need",
			pod:  withRC("gvisor", claim(v1.PodResourceClaim{Name: "any", ResourceClaimTemplateName: ptr.To("mig-or-nic")})),
			fits: ""},
		{name: "DRA: several requests, one of a *.gpu.nvidia.com class",
			pod:  withRC("gvisor", claim(v1.PodResourceClaim{Name: "two", ResourceClaimTemplateName: ptr.To("two")})),
			fits: ""},
		{name: "DRA: a non-GPU class is no need",
			pod:  withRC("gvisor", claim(v1.PodResourceClaim{Name: "nic", ResourceClaimTemplateName: ptr.To("nic")})),
			fits: "noReport,gvisor,docker,kvm"},
		{name: "DRA: a template that does not exist refuses every node",
			pod:     pod(claim(v1.PodResourceClaim{Name: "gpu", ResourceClaimTemplateName: ptr.To("gone")})),
			fits:    "",
			reasons: map[string]string{"c20": "ResourceClaimTemplate default/gone does not exist"}},
		{name: "DRA extended resource: a GPU DeviceClass backs example.com/gpu",
			pod:  withRC("gvisor", limits("example.com/gpu", "1")),
			fits: ""},
		{name: "DRA extended resource: the implicit deviceclass.resource.kubernetes.io/<class>",
			pod:  withRC("gvisor", limits("deviceclass.resource.kubernetes.io/gpu.nvidia.com", "1")),
			fits: ""},
		{name: "DRA extended resource of a non-GPU class",
			pod:  withRC("gvisor", limits("example.com/nic", "1")),
			fits: "noReport,gvisor,docker,kvm"},
	}
	p := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := p.AnalyzeWith(tt.pod, handlerObjects)
			var fits []string
			reasons := map[string]string{}
			for _, hn := range handlerNodes {
				v := a.Verdict(p.Profile(hn.node).Class)
				if v.Fits {
					fits = append(fits, hn.name)
				} else if _, ok := tt.reasons[hn.name]; ok {
					reasons[hn.name] = v.Reason
				}
			}
			if got := strings.Join(fits, ","); got != tt.fits {
				t.Errorf("fits on %q, want %q (needs %v)", got, tt.fits, a.NeedNames())
			}
			if tt.reasons == nil {
				tt.reasons = map[string]string{}
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandlerWhy: every new need names the field that shows it.
func TestHandlerWhy(t *testing.T) {
	rro := v1.RecursiveReadOnlyEnabled
	pd := pod(func(s *v1.PodSpec) {
		s.RuntimeClassName = ptr.To("kata")
		s.HostNetwork, s.HostUsers = true, ptr.To(false)
		s.SecurityContext = &v1.PodSecurityContext{SupplementalGroupsPolicy: ptr.To(v1.SupplementalGroupsPolicyStrict)}
		s.Volumes = []v1.Volume{{Name: "img", VolumeSource: v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "quay.io/x:1"}}}}
		s.ResourceClaims = []v1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr.To("one-gpu")}}
		s.Containers[0].SecurityContext = &v1.SecurityContext{Privileged: ptr.To(true), SELinuxOptions: &v1.SELinuxOptions{Type: "t"}}
		s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "img", MountPath: "/i", SubPath: "a", RecursiveReadOnly: &rro}}
	})
	got := map[Capability]string{}
	for _, n := range Default().AnalyzeWith(pd, handlerObjects).Needs {
		got[n.Capability] = n.Why
	}
	want := map[Capability]string{
		RuntimeHandler:           "spec.runtimeClassName kata (handler kata-qemu)",
		HostNetwork:              "spec.hostNetwork",
		UserNamespaces:           "spec.hostUsers false",
		SupplementalGroupsStrict: "spec.securityContext.supplementalGroupsPolicy Strict",
		ImageVolumes:             "spec.volumes[0] (img) image quay.io/x:1",
		GPU:                      "spec.resourceClaims[0] (gpu) template one-gpu class gpu.nvidia.com",
		RawSockets:               "spec.containers[0] (main) securityContext.privileged",
		SELinuxLabels:            "spec.containers[0] (main) securityContext.seLinuxOptions",
		SubPath:                  "spec.containers[0] (main) volumeMounts[0] (img) subPath",
		SubPathCreate:            "spec.containers[0] (main) volumeMounts[0] (img) subPath",
		RecursiveReadOnly:        "spec.containers[0] (main) volumeMounts[0] (img) recursiveReadOnly Enabled",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("why (-want +got):\n%s", diff)
	}
}

// TestHandlerClasses: nodes that report the same are one class, whatever their names,
// labels or heartbeats; a different report, version (where a minimum names one) or feature
// is another class. A 5000-node cluster of three pools has three classes.
func TestHandlerClasses(t *testing.T) {
	p, err := Parse(DefaultDocument())
	if err != nil {
		t.Fatal(err)
	}
	pools := []*v1.Node{kataNode, gvisor, crio}
	before := len(p.Classes())
	seen := map[*Class]bool{}
	for i := range 5000 {
		n := pools[i%3].DeepCopy()
		n.Name = "node-" + string(rune('a'+i%26))
		n.Labels = map[string]string{"kubernetes.io/hostname": n.Name}
		seen[p.Profile(n).Class] = true
	}
	if len(seen) != 3 || len(p.Classes()) != before+3 {
		t.Errorf("three pools make %d classes (%d new), want 3", len(seen), len(p.Classes())-before)
	}
	// Docker ignores the version (no capability of docker names a minimum): one class.
	if p.Profile(handlerNode("docker://20.10.7", nil)).Class != p.Profile(handlerNode("docker://24.0.1", nil)).Class {
		t.Error("two docker versions are two classes")
	}
	if p.Profile(handlerNode("containerd://2.1.4", nil)).Class == p.Profile(handlerNode("containerd://2.1.5", nil)).Class {
		t.Error("containerd versions share a class though image-volumes names a minimum (reasons name the version)")
	}
}

// TestHandlerInputs: what a node reports, read as the design settles it.
func TestHandlerInputs(t *testing.T) {
	tests := []struct {
		name string
		node *v1.Node
		want NodeInputs
	}{
		{"no report", noReport, NodeInputs{RuntimeVersion: "containerd://1.7.22"}},
		{"status, sorted", handlerNode("containerd://2.1.4", ptr.To(true), "runc:ru", ":ru", "kata-qemu:r"),
			NodeInputs{RuntimeVersion: "containerd://2.1.4", Handlers: ":ru,kata-qemu:r,runc:ru", SupplementalGroupsPolicy: ReportedTrue}},
		{"annotation: trimmed, empty entries dropped, no features", annotatedNode,
			NodeInputs{RuntimeVersion: "containerd://1.7.22", Handlers: "kata-qemu:,runc:"}},
		{"annotation with no entry left declares nothing", func() *v1.Node {
			n := handlerNode("containerd://1.7.22", nil)
			n.Annotations = map[string]string{AnnotationRuntimeHandlers: " , "}
			return n
		}(), NodeInputs{RuntimeVersion: "containerd://1.7.22"}},
		{"the kubelet's report wins over the annotation", func() *v1.Node {
			n := handlerNode("containerd://2.1.4", ptr.To(false), "runc:u")
			n.Annotations = map[string]string{AnnotationRuntimeHandlers: "kata"}
			return n
		}(), NodeInputs{RuntimeVersion: "containerd://2.1.4", Handlers: "runc:u", SupplementalGroupsPolicy: ReportedFalse}},
		{"a handler listed twice counts once", handlerNode("containerd://2.1.4", nil, "runc:u", "runc:r"),
			NodeInputs{RuntimeVersion: "containerd://2.1.4", Handlers: "runc:u"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, InputsOf(tt.node)); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for s, want := range map[string]string{
		"2.1.0": "2.1.0", "2.1": "2.1.0", "v1.31.2": "1.31.2", "2.1.0-rc.1": "2.1.0", "2.1.4-k3s1": "2.1.4",
		"2.4.2+unknown": "2.4.2", "1.7.22.1": "1.7.22", "Unknown": "", "": "", "2": "", "x2.1": "",
	} {
		v, ok := parseVersion(s)
		got := ""
		if ok {
			got = strings.Join([]string{itoa(v[0]), itoa(v[1]), itoa(v[2])}, ".")
		}
		if got != want {
			t.Errorf("parseVersion(%q) = %q, want %q", s, got, want)
		}
	}
	// A version that does not parse lacks what names a minimum.
	p := Default()
	v := p.Analyze(pod(func(s *v1.PodSpec) {
		s.Volumes = []v1.Volume{{Name: "i", VolumeSource: v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "x:1"}}}}
	})).Verdict(p.Profile(handlerNode("containerd://Unknown", nil)).Class)
	if v.Fits || v.Reason != "containerd Unknown lacks image-volumes (needs 2.1)" {
		t.Errorf("containerd://Unknown: %+v", v)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestOldDocumentUnchanged: a v1alpha1 document written for rkt, which names none of the new
// capabilities, judges a pod with every new need as it did before: none of them counts.
func TestOldDocumentUnchanged(t *testing.T) {
	old, err := Parse([]byte(`apiVersion: policy.rktsched.io/v1alpha1
kind: RuntimePolicy
capabilities:
  init-containers: {action: filter}
  gpu: {action: filter}
runtimes:
- name: rkt
  schemes: [rkt]
  lacks: [init-containers, gpu]
`))
	if err != nil {
		t.Fatal(err)
	}
	pd := pod(func(s *v1.PodSpec) {
		s.RuntimeClassName = ptr.To("gvisor")
		s.HostNetwork, s.HostUsers = true, ptr.To(false)
		s.Volumes = []v1.Volume{{Name: "i", VolumeSource: v1.VolumeSource{Image: &v1.ImageVolumeSource{Reference: "x:1"}}}}
	})
	a := old.AnalyzeWith(pd, handlerObjects)
	for _, hn := range handlerNodes {
		if v := a.Verdict(old.Profile(hn.node).Class); !v.Fits || v.Score != MaxScore {
			t.Errorf("%s: %+v under a document that names no new capability", hn.name, v)
		}
	}
	labels := old.Profile(kataNode).Labels()
	if _, ok := labels[CapabilityLabel(UserNamespaces)]; ok {
		t.Error("a capability the document leaves out got a label")
	}
	if labels[HandlerLabel("kata-qemu")] != "true" || labels[HandlerLabel("runsc")] != "" {
		t.Errorf("handler labels: %v", labels)
	}
}

// TestHandlerDocument: the new fields are validated with their line.
func TestHandlerDocument(t *testing.T) {
	base := "apiVersion: policy.rktsched.io/v1alpha1\nkind: RuntimePolicy\ncapabilities:\n  gpu: {action: filter}\n"
	tests := []struct{ doc, want string }{
		{base + "gpuResources: [\"nvidia.com/[gpu\"]\n", "line 5: gpuResources[0]"},
		{base + "gpuDeviceClasses: [\"Bad_Class\"]\n", "line 5: gpuDeviceClasses[0]"},
		{base + "handlers:\n- lacks: [gpu]\n", "line 6: handlers[0].match: is required"},
		{base + "handlers:\n- match: kata*\n  lacks: [gpus]\n", "line 7: handlers[0].lacks[0]: unknown capability \"gpus\""},
		{base + "runtimes:\n- name: containerd\n  schemes: [containerd]\n  minVersions: {image-volumes: two}\n", "line 8: runtimes[0].minVersions.image-volumes: \"two\" is not a version"},
		{base + "runtimes:\n- name: containerd\n  schemes: [containerd]\n  unreportedFeatures: maybe\n", "line 8: runtimes[0].unreportedFeatures: must be lacking or present"},
		{base + "runtimes:\n- name: containerd\n  schemes: [containerd]\n  defaultHandler: Run_C\n", "line 8: runtimes[0].defaultHandler"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse:\n%s\nerror %v, want one containing %q", tt.doc, err, tt.want)
		}
	}
}

// TestWarnings: a scheme no kubelet reports, or no runtime at all, is valid but warned about
// with its line (issue 26: rkt nodes would silently fall to unknown).
func TestWarnings(t *testing.T) {
	base := "apiVersion: policy.rktsched.io/v1alpha1\nkind: RuntimePolicy\ncapabilities:\n  gpu: {action: filter}\n"
	for doc, want := range map[string]string{
		base + "runtimes:\n- name: rkt\n  schemes: [rtk]\n": `line 7: runtimes[0].schemes[0]: "rtk" is no scheme a kubelet reports`,
		base:                                  `no runtimes listed: every node is "unknown"`,
		base + "runtimes:\n- name: unknown\n": `no runtimes listed`,
	} {
		p, err := Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if w := strings.Join(p.Warnings(), "\n"); !strings.Contains(w, want) {
			t.Errorf("warnings %q, want one containing %q", w, want)
		}
	}
	if w := Default().Warnings(); len(w) != 0 {
		t.Errorf("the built-in policy warns: %q", w)
	}
}
