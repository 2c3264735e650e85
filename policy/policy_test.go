package policy

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Node classes of the default policy, by the node that stands for them.
var (
	dockerNode = node("docker://1.12.6", "")
	coreosNode = node("rkt://1.29.0", "")
	kvmNode    = node("rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0")
	flyNode    = node("rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0")
)

func node(runtimeVersion, stage1Image string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{}, Annotations: map[string]string{}}}
	n.Status.NodeInfo.ContainerRuntimeVersion = runtimeVersion
	if stage1Image != "" {
		n.Annotations[AnnotationStage1Image] = stage1Image
	}
	return n
}

// The design's capability matrix, verbatim: which capabilities each profile has.
func TestDefaultMatrix(t *testing.T) {
	yes, no := true, false
	matrix := map[Capability][4]bool{ // docker, rkt coreos, rkt kvm, rkt fly
		Attach:              {yes, no, no, no},
		PortForward:         {yes, yes, no, no},
		InitContainers:      {yes, no, no, no},
		GPU:                 {yes, no, no, no},
		HostIPC:             {yes, no, no, yes},
		HostPID:             {yes, no, no, yes},
		NamespaceIsolation:  {yes, yes, yes, no},
		HostPathCreate:      {yes, no, no, no},
		SubPathCreate:       {yes, no, no, no},
		SELinuxPerContainer: {yes, no, no, no},
		OOMScoreAdj:         {yes, no, no, no},
		RestartBackoff:      {yes, no, no, no},
		StdoutLogs:          {yes, no, no, no},
		ImageUpdateInPlace:  {yes, no, no, no},
		ImagePullCache:      {yes, no, no, no},
		// Today's runtimes: rkt lacks what did not exist in 2016; docker and rkt lack the
		// features a runtime must report (design, "Docker and the new needs").
		HostNetwork:              {yes, yes, yes, yes},
		SubPath:                  {yes, yes, yes, yes},
		SELinuxLabels:            {yes, yes, yes, yes},
		UserNamespaces:           {no, no, no, no},
		RecursiveReadOnly:        {no, no, no, no},
		SupplementalGroupsStrict: {no, no, no, no},
		ImageVolumes:             {no, no, no, no},
		RawSockets:               {yes, yes, yes, yes},
		RuntimeHandler:           {yes, yes, yes, yes},
	}
	if len(matrix) != len(AllCapabilities) {
		t.Fatalf("matrix has %d rows, want one per capability (%d)", len(matrix), len(AllCapabilities))
	}
	p := Default()
	nodes := []*v1.Node{dockerNode, coreosNode, kvmNode, flyNode}
	for c, has := range matrix {
		for i, n := range nodes {
			class := p.Profile(n).Class
			if got := !class.Lacks(c); got != has[i] {
				t.Errorf("%s has %s = %v, want %v", class.Name, c, got, has[i])
			}
			label := p.Profile(n).Labels()[CapabilityLabel(c)]
			if want := boolString(has[i]); label != want {
				t.Errorf("%s label %s = %q, want %q", class.Name, CapabilityLabel(c), label, want)
			}
		}
	}
	// The other runtimes lack only what their nodes do not report, and image volumes where
	// their version (or runtime) is not known to mount them.
	for rv, alsoLacks := range map[string][]Capability{
		"containerd://2.1.0": nil, "cri-o://1.33.0": nil,
		"containerd://2.0.5": {ImageVolumes}, "cri-o://1.30.9": {ImageVolumes}, "containerd://Unknown": {ImageVolumes},
		"remote://1.0": {ImageVolumes}, "": {ImageVolumes}, "docker://Unknown": {ImageVolumes},
	} {
		class := p.Profile(node(rv, "")).Class
		want := capSetOf(alsoLacks...) | reportedCapabilities
		for _, c := range AllCapabilities {
			if class.Lacks(c) != want.has(c) {
				t.Errorf("%q (%s) lacks %s = %v, want %v", rv, class.Name, c, class.Lacks(c), want.has(c))
			}
		}
	}
}

func TestProfile(t *testing.T) {
	tests := []struct {
		name           string
		runtimeVersion string
		stage1Image    string
		labels         map[string]string
		want           map[string]string
	}{
		{name: "docker", runtimeVersion: "docker://1.12.6", want: map[string]string{LabelRuntime: "docker", LabelRuntimeVersion: "1.12.6"}},
		{name: "containerd", runtimeVersion: "containerd://2.1.0", want: map[string]string{LabelRuntime: "containerd", LabelRuntimeVersion: "2.1.0"}},
		{name: "cri-o", runtimeVersion: "cri-o://1.33.0", want: map[string]string{LabelRuntime: "cri-o", LabelRuntimeVersion: "1.33.0"}},
		{name: "rkt without annotation is coreos", runtimeVersion: "rkt://1.29.0", want: map[string]string{LabelRuntime: "rkt", LabelRuntimeVersion: "1.29.0", LabelStage1: "coreos"}},
		{name: "rkt kvm", runtimeVersion: "rkt://1.29.0", stage1Image: "coreos.com/rkt/stage1-kvm:1.29.0", want: map[string]string{LabelRuntime: "rkt", LabelRuntimeVersion: "1.29.0", LabelStage1: "kvm"}},
		{name: "rkt fly by digest", runtimeVersion: "rkt://1.29.0", stage1Image: "example.com/stage1-fly@sha256:abc", want: map[string]string{LabelRuntime: "rkt", LabelRuntimeVersion: "1.29.0", LabelStage1: "fly"}},
		{name: "rkt coreos explicit", runtimeVersion: "rkt://1.29.0", stage1Image: "coreos.com/rkt/stage1-coreos:1.29.0", want: map[string]string{LabelRuntime: "rkt", LabelRuntimeVersion: "1.29.0", LabelStage1: "coreos"}},
		{name: "rkt unrecognised stage1 is the least capable", runtimeVersion: "rkt://1.29.0", stage1Image: "example.com/stage1-custom:1", want: map[string]string{LabelRuntime: "rkt", LabelRuntimeVersion: "1.29.0", LabelStage1: "unrecognised"}},
		{name: "unknown scheme", runtimeVersion: "remote://0.1", want: map[string]string{LabelRuntime: "unknown", LabelRuntimeVersion: "0.1"}},
		{name: "Unknown version", runtimeVersion: "docker://Unknown", want: map[string]string{LabelRuntime: "docker", LabelRuntimeVersion: "Unknown"}},
		{name: "empty", runtimeVersion: "", want: map[string]string{LabelRuntime: "unknown"}},
		{name: "version sanitised", runtimeVersion: "docker://1.12.6+git/abc-", want: map[string]string{LabelRuntime: "docker", LabelRuntimeVersion: "1.12.6_git_abc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := Default().ProfileOf(NodeInputs{RuntimeVersion: tt.runtimeVersion, Labels: tt.labels, Stage1Image: tt.stage1Image})
			got := map[string]string{}
			for k, v := range np.Labels() {
				if !strings.HasPrefix(k, CapabilityLabelPrefix) {
					got[k] = v
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("labels (-want +got):\n%s", diff)
			}
			if n := len(np.Labels()) - len(got); n != len(AllCapabilities) {
				t.Errorf("%d capability labels, want %d", n, len(AllCapabilities))
			}
			for k := range np.Labels() {
				if !OwnedLabel(k) {
					t.Errorf("label %s is not owned", k)
				}
			}
		})
	}
}

func TestSanitizeLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"1.29.0":                 "1.29.0",
		"":                       "",
		"-v1-":                   "v1",
		"a b":                    "a_b",
		strings.Repeat("x", 70):  strings.Repeat("x", 63),
		"1.0+" + "/" + "---":     "1.0",
		"ünicode":                "nicode",
		"v1.2.3-rc.1_build.meta": "v1.2.3-rc.1_build.meta",
	} {
		if got := SanitizeLabelValue(in); got != want {
			t.Errorf("SanitizeLabelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOwnedLabel(t *testing.T) {
	for key, want := range map[string]bool{
		LabelRuntime: true, LabelRuntimeVersion: true, LabelStage1: true,
		"capability.rktsched.io/gpu": true, "capability.rktsched.io/retired": true,
		"rktsched.io/other": false, "kubernetes.io/hostname": false, "rktsched.io": false,
		"team.rktsched.io/x": false,
	} {
		if got := OwnedLabel(key); got != want {
			t.Errorf("OwnedLabel(%q) = %v, want %v", key, got, want)
		}
	}
}

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func TestCustomRuntimeByNodeLabel(t *testing.T) {
	p := mustParse(t, `apiVersion: policy.rktsched.io/v1alpha1
kind: RuntimePolicy
capabilities:
  host-pid: {action: filter}
  gpu: {action: filter}
gpuResources: [nvidia.com/gpu]
runtimes:
- name: kata
  schemes: [containerd]
  nodeLabels: {katacontainers.io/kata-runtime: "true"}
  lacks: [host-pid]
- name: gvisor
  nodeLabels: {runtime: gvisor}
  lacks: [host-pid, gpu]
- name: containerd
  schemes: [containerd]
- name: unknown
  lacks: [gpu]
`)
	tests := []struct {
		runtimeVersion string
		labels         map[string]string
		want           string
	}{
		{"containerd://2.1.0", map[string]string{"katacontainers.io/kata-runtime": "true"}, "kata"},
		{"containerd://2.1.0", map[string]string{"katacontainers.io/kata-runtime": "false"}, "containerd"},
		{"containerd://2.1.0", map[string]string{"runtime": "gvisor"}, "gvisor"},
		{"cri-o://1.33.0", map[string]string{"runtime": "gvisor"}, "gvisor"},
		{"docker://1.12.6", nil, "unknown"},
	}
	for _, tt := range tests {
		np := p.ProfileOf(NodeInputs{RuntimeVersion: tt.runtimeVersion, Labels: tt.labels, Stage1Image: ""})
		if np.Class.Name != tt.want {
			t.Errorf("ProfileOf(%q, %v) = %s, want %s", tt.runtimeVersion, tt.labels, np.Class.Name, tt.want)
		}
	}
	gpuPod := pod(func(s *v1.PodSpec) {
		s.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	})
	a := p.Analyze(gpuPod)
	if v := a.Verdict(p.ProfileOf(NodeInputs{RuntimeVersion: "x://1", Labels: map[string]string{"runtime": "gvisor"}, Stage1Image: ""}).Class); v.Fits || v.Reason != "gvisor lacks gpu" {
		t.Errorf("gvisor verdict = %+v, want refused for gpu", v)
	}
	if v := a.Verdict(p.ProfileOf(NodeInputs{RuntimeVersion: "docker://1", Labels: nil, Stage1Image: ""}).Class); v.Fits || v.Reason != "unknown lacks gpu" {
		t.Errorf("unknown verdict = %+v, want refused for gpu", v)
	}
	if got := p.ProfileOf(NodeInputs{RuntimeVersion: "docker://1", Labels: nil, Stage1Image: ""}).Labels(); got[CapabilityLabel(Attach)] != "" || len(got) != 4 {
		t.Errorf("labels %v: want runtime, version and the two capabilities in force only", got)
	}
}

func TestStore(t *testing.T) {
	s := NewStore(Default())
	if s.Generation() != 1 || s.Load() != Default() {
		t.Fatalf("new store: generation %d", s.Generation())
	}
	if changed, err := s.Update(DefaultDocument()); err != nil || changed {
		t.Errorf("same document: changed=%v err=%v, want no change", changed, err)
	}
	if _, err := s.Update([]byte("kind: [")); err == nil {
		t.Error("bad document accepted")
	}
	if s.Load() != Default() || s.Generation() != 1 {
		t.Error("bad document replaced the policy in force")
	}
	edited := editDefault(t, "gpu:                   {action: filter", "gpu:                   {action: ignore")
	if changed, err := s.Update([]byte(edited)); err != nil || !changed {
		t.Fatalf("edited document: changed=%v err=%v", changed, err)
	}
	if s.Generation() != 2 || s.Load().Action(GPU) != ActionIgnore {
		t.Errorf("edited policy not in force: generation %d, gpu %s", s.Generation(), s.Load().Action(GPU))
	}
}

func TestDefaultDocumentIsACopy(t *testing.T) {
	d := DefaultDocument()
	d[0] = 'X'
	if DefaultDocument()[0] == 'X' {
		t.Error("DefaultDocument shares its bytes with the embedded policy")
	}
	if _, err := os.Stat("default.yaml"); err != nil {
		t.Fatal(err)
	}
}

// loadPod reads a pod manifest from testdata.
func loadPod(t *testing.T, name string) *v1.Pod {
	t.Helper()
	data, err := readTestdata(name)
	if err != nil {
		t.Fatal(err)
	}
	var p v1.Pod
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }
