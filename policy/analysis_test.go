package policy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pod returns a pod that needs as little as possible (a pinned image, restartPolicy Never,
// burstable), edited by each function.
func pod(edits ...func(*v1.PodSpec)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Annotations: map[string]string{}},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers:    []v1.Container{{Name: "main", Image: "busybox:1.36"}},
		},
	}
	for _, e := range edits {
		e(&p.Spec)
	}
	return p
}

func annotated(p *v1.Pod, key, value string) *v1.Pod {
	p.Annotations[key] = value
	return p
}

func hostPathType(t v1.HostPathType) *v1.HostPathType { return &t }

// verdicts judges a pod on the four reference profiles: docker, rkt coreos, kvm, fly.
func verdicts(p *Policy, pd *v1.Pod) [4]Verdict {
	a := p.Analyze(pd)
	var out [4]Verdict
	for i, n := range []*v1.Node{dockerNode, coreosNode, kvmNode, flyNode} {
		out[i] = *a.Verdict(p.Profile(n).Class)
	}
	return out
}

// fitsOn renders which of docker, coreos, kvm, fly a verdict set admits, e.g. "docker,fly".
func fitsOn(vs [4]Verdict) string {
	var on []string
	for i, name := range []string{"docker", "coreos", "kvm", "fly"} {
		if vs[i].Fits {
			on = append(on, name)
		}
	}
	return strings.Join(on, ",")
}

// One pod per row of the design's table: what the analysis finds and where the pod may run.
func TestCapabilityRows(t *testing.T) {
	tests := []struct {
		name     string
		pod      *v1.Pod
		needs    []string // NeedNames
		fitsOn   string
		coreosRe string // reason on rkt stage1-coreos, if refused
	}{
		{
			name:   "nothing special",
			pod:    pod(),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:     "attach via stdin",
			pod:      pod(func(s *v1.PodSpec) { s.Containers[0].Stdin = true }),
			needs:    []string{"attach", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks attach",
		},
		{
			name:     "attach via tty",
			pod:      pod(func(s *v1.PodSpec) { s.Containers[0].TTY = true }),
			needs:    []string{"attach", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks attach",
		},
		{
			name:   "port-forward opt-in",
			pod:    annotated(pod(), AnnotationNeeds, "port-forward"),
			needs:  []string{"namespace-isolation", "port-forward"},
			fitsOn: "docker,coreos",
		},
		{
			name:     "init containers",
			pod:      pod(func(s *v1.PodSpec) { s.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36"}} }),
			needs:    []string{"init-containers", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks init-containers",
		},
		{
			name: "sidecar is an init container too",
			pod: pod(func(s *v1.PodSpec) {
				always := v1.ContainerRestartPolicyAlways
				s.InitContainers = []v1.Container{{Name: "proxy", Image: "envoy:1.30", RestartPolicy: &always}}
			}),
			needs:    []string{"init-containers", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks init-containers",
		},
		{
			name: "gpu limit",
			pod: pod(func(s *v1.PodSpec) {
				s.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
			}),
			needs:    []string{"gpu", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks gpu",
		},
		{
			name: "gpu request in an init container, amd",
			pod: pod(func(s *v1.PodSpec) {
				s.InitContainers = []v1.Container{{Name: "warm", Image: "x:1", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{"amd.com/gpu": resource.MustParse("2")}}}}
			}),
			needs:    []string{"gpu", "init-containers", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks init-containers, gpu",
		},
		{
			name: "zero gpus is no gpu",
			pod: pod(func(s *v1.PodSpec) {
				s.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("0")}
			}),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "legacy alpha gpu",
			pod: pod(func(s *v1.PodSpec) {
				s.Containers[0].Resources.Limits = v1.ResourceList{"alpha.kubernetes.io/nvidia-gpu": resource.MustParse("1")}
			}),
			needs:  []string{"gpu", "namespace-isolation"},
			fitsOn: "docker",
		},
		{
			name:     "hostIPC",
			pod:      pod(func(s *v1.PodSpec) { s.HostIPC = true }),
			needs:    []string{"host-ipc"},
			fitsOn:   "docker,fly",
			coreosRe: "rkt stage1-coreos lacks host-ipc",
		},
		{
			name:     "hostPID",
			pod:      pod(func(s *v1.PodSpec) { s.HostPID = true }),
			needs:    []string{"host-pid"},
			fitsOn:   "docker,fly",
			coreosRe: "rkt stage1-coreos lacks host-pid",
		},
		{
			name:   "hostNetwork only gives up isolation",
			pod:    pod(func(s *v1.PodSpec) { s.HostNetwork = true }),
			needs:  []string{"host-network"},
			fitsOn: "docker,coreos,kvm,fly",
		},
		{
			name: "untyped hostPath not known to exist",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/data"}}}}
			}),
			needs:    []string{"hostpath-create", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks hostpath-create",
		},
		{
			name: "untyped hostPath known to exist",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "logs", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/var/log/"}}}}
			}),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "typed hostPath is the kubelet's business",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/data", Type: hostPathType(v1.HostPathDirectoryOrCreate)}}}}
			}),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "subPath on emptyDir is hard",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
				s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "scratch", MountPath: "/a", SubPath: "a"}}
			}),
			needs:    []string{"namespace-isolation", "subpath", "subpath-create"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks subpath-create",
		},
		{
			name: "subPathExpr on a configMap is soft",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
				s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "cfg", MountPath: "/cfg", SubPathExpr: "$(POD_NAME)"}}
			}),
			needs:  []string{"namespace-isolation", "subpath", "subpath-create (soft)"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "different seLinuxOptions on a shared volume",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "shared", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
				s.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1,c2"}}
				s.Containers = []v1.Container{
					{Name: "a", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "shared", MountPath: "/s"}}},
					{Name: "b", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "shared", MountPath: "/s"}},
						SecurityContext: &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c3,c4"}}},
				}
			}),
			needs:    []string{"namespace-isolation", "selinux-labels", "selinux-per-container"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks selinux-per-container",
		},
		{
			name: "same seLinuxOptions on a shared volume",
			pod: pod(func(s *v1.PodSpec) {
				s.Volumes = []v1.Volume{{Name: "shared", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
				s.SecurityContext = &v1.PodSecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1,c2"}}
				s.Containers = []v1.Container{
					{Name: "a", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "shared", MountPath: "/s"}}},
					{Name: "b", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "shared", MountPath: "/s"}},
						SecurityContext: &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1,c2"}}},
				}
			}),
			needs:  []string{"namespace-isolation", "selinux-labels"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "Guaranteed QoS",
			pod: pod(func(s *v1.PodSpec) {
				l := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
				s.Containers[0].Resources = v1.ResourceRequirements{Limits: l, Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1000m"), v1.ResourceMemory: resource.MustParse("1Gi")}}
			}),
			needs:  []string{"namespace-isolation", "oom-score-adj (soft)"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "Burstable QoS",
			pod: pod(func(s *v1.PodSpec) {
				s.Containers[0].Resources = v1.ResourceRequirements{
					Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")},
					Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("500m")},
				}
			}),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "restartPolicy default is Always",
			pod:    pod(func(s *v1.PodSpec) { s.RestartPolicy = "" }),
			needs:  []string{"namespace-isolation", "restart-backoff (soft)"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "restartPolicy OnFailure",
			pod:    pod(func(s *v1.PodSpec) { s.RestartPolicy = v1.RestartPolicyOnFailure }),
			needs:  []string{"namespace-isolation", "restart-backoff (soft)"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:     "stdout-logs opt-in",
			pod:      annotated(pod(), AnnotationNeeds, "stdout-logs"),
			needs:    []string{"namespace-isolation", "stdout-logs"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks stdout-logs",
		},
		{
			name:   "image-update-in-place opt-in is soft",
			pod:    annotated(pod(), AnnotationNeeds, " image-update-in-place ,"),
			needs:  []string{"image-update-in-place (soft)", "namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "pull Always explicit",
			pod:    pod(func(s *v1.PodSpec) { s.Containers[0].ImagePullPolicy = v1.PullAlways }),
			needs:  []string{"image-pull-cache (soft)", "namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "pull Always implied by no tag",
			pod:    pod(func(s *v1.PodSpec) { s.Containers[0].Image = "registry:5000/team/app" }),
			needs:  []string{"image-pull-cache (soft)", "namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "pull Always implied by latest",
			pod:    pod(func(s *v1.PodSpec) { s.Containers[0].Image = "busybox:latest" }),
			needs:  []string{"image-pull-cache (soft)", "namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:   "digest pins the image",
			pod:    pod(func(s *v1.PodSpec) { s.Containers[0].Image = "busybox@sha256:abcd" }),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name: "IfNotPresent with latest does not pull",
			pod: pod(func(s *v1.PodSpec) {
				s.Containers[0].Image = "busybox:latest"
				s.Containers[0].ImagePullPolicy = v1.PullIfNotPresent
			}),
			needs:  []string{"namespace-isolation"},
			fitsOn: "docker,coreos,kvm",
		},
		{
			name:     "attach opt-in by annotation",
			pod:      annotated(pod(), AnnotationNeeds, "attach"),
			needs:    []string{"attach", "namespace-isolation"},
			fitsOn:   "docker",
			coreosRe: "rkt stage1-coreos lacks attach",
		},
	}
	p := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := p.Analyze(tt.pod)
			if diff := cmp.Diff(tt.needs, a.NeedNames(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("needs (-want +got):\n%s", diff)
			}
			vs := verdicts(p, tt.pod)
			if got := fitsOn(vs); got != tt.fitsOn {
				t.Errorf("fits on %q, want %q", got, tt.fitsOn)
			}
			if tt.coreosRe != "" && vs[1].Reason != tt.coreosRe {
				t.Errorf("coreos reason %q, want %q", vs[1].Reason, tt.coreosRe)
			}
			for i, v := range vs {
				if v.Score < 0 || v.Score > MaxScore || (!v.Fits && (v.Score != 0 || v.Reason == "")) || (v.Fits && v.Reason != "") {
					t.Errorf("verdict %d inconsistent: %+v", i, v)
				}
			}
		})
	}
}

func TestSeedPods(t *testing.T) {
	p := Default()
	tests := []struct {
		file    string
		fitsOn  string
		reasons [4]string
	}{
		{
			file:   "mount-dne.yaml",
			fitsOn: "docker",
			reasons: [4]string{"", "rkt stage1-coreos lacks hostpath-create", "rkt stage1-kvm lacks hostpath-create",
				"rkt stage1-fly lacks namespace-isolation, hostpath-create"},
		},
		{
			file:    "host-ipc-pid.yaml",
			fitsOn:  "docker,fly",
			reasons: [4]string{"", "rkt stage1-coreos lacks host-ipc, host-pid", "rkt stage1-kvm lacks host-ipc, host-pid", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			vs := verdicts(p, loadPod(t, tt.file))
			if got := fitsOn(vs); got != tt.fitsOn {
				t.Errorf("fits on %q, want %q", got, tt.fitsOn)
			}
			for i, v := range vs {
				if v.Reason != tt.reasons[i] {
					t.Errorf("reason %d = %q, want %q", i, v.Reason, tt.reasons[i])
				}
			}
		})
	}
}

func TestScores(t *testing.T) {
	p := Default()
	// busybox without a tag pulls Always; restartPolicy defaults to Always.
	pulls := pod(func(s *v1.PodSpec) { s.RestartPolicy = ""; s.Containers[0].Image = "busybox" })
	vs := verdicts(p, pulls)
	if vs[0].Score != 10 || vs[1].Score != 10-3-2 || vs[2].Score != 5 {
		t.Errorf("scores docker=%d coreos=%d kvm=%d, want 10, 5, 5", vs[0].Score, vs[1].Score, vs[2].Score)
	}
	if diff := cmp.Diff([]Capability{RestartBackoff, ImagePullCache}, vs[1].Degraded); diff != "" {
		t.Errorf("degraded (-want +got):\n%s", diff)
	}
	// Every soft need at once cannot push the score below zero.
	everything := annotated(pod(func(s *v1.PodSpec) {
		s.RestartPolicy = ""
		s.Containers[0].Image = "busybox"
		l := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
		s.Containers[0].Resources = v1.ResourceRequirements{Limits: l}
		s.Volumes = []v1.Volume{{Name: "c", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
		s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "c", MountPath: "/c", SubPath: "x"}}
	}), AnnotationNeeds, "image-update-in-place")
	if v := verdicts(p, everything)[1]; !v.Fits || v.Score != 0 {
		t.Errorf("coreos verdict %+v, want fits with score 0 (10-3-2-2-2-3 clamped)", v)
	}
}

func TestStage1Override(t *testing.T) {
	p := Default()
	plain := annotated(pod(), AnnotationStage1Override, "coreos.com/rkt/stage1-fly:1.29.0")
	vs := verdicts(p, plain)
	for i, want := range []string{"", "rkt stage1-fly lacks namespace-isolation", "rkt stage1-fly lacks namespace-isolation", "rkt stage1-fly lacks namespace-isolation"} {
		if vs[i].Reason != want {
			t.Errorf("reason %d = %q, want %q", i, vs[i].Reason, want)
		}
	}
	hostPID := annotated(pod(func(s *v1.PodSpec) { s.HostPID = true }), AnnotationStage1Override, "stage1-fly")
	if got := fitsOn(verdicts(p, hostPID)); got != "docker,coreos,kvm,fly" {
		t.Errorf("hostPID pod with a fly override fits on %q, want every node", got)
	}
	// An override naming no flavour is judged as the least capable one (issue 26): it lacks
	// all that coreos, kvm and fly lack, host-pid (coreos, kvm) and port-forward (kvm) too.
	for _, image := range []string{"example.com/stage1-custom", "stage1-KVM", "stage1-kvm-qemu"} {
		unknown := annotated(pod(func(s *v1.PodSpec) { s.HostPID = true }), AnnotationStage1Override, image)
		if got := fitsOn(verdicts(p, unknown)); got != "docker" {
			t.Errorf("override %q naming no flavour: fits on %q, want docker only", image, got)
		}
	}
	pf := annotated(pod(), AnnotationNeeds, "port-forward")
	pf.Annotations[AnnotationStage1Override] = "stage1-KVM"
	if v := verdicts(p, pf)[1]; v.Fits || v.Reason != "rkt stage1-unrecognised lacks port-forward, namespace-isolation" {
		t.Errorf("port-forward pod with override stage1-KVM on coreos: %+v", v)
	}
}

func TestUnknownNeedRefusesEverywhere(t *testing.T) {
	p := Default()
	vs := verdicts(p, annotated(pod(), AnnotationNeeds, "port-forward, gpuu"))
	want := `pod annotation rktsched.io/needs names unknown capabilities: gpuu`
	for i, v := range vs {
		if v.Fits || v.Reason != want {
			t.Errorf("verdict %d = %+v, want refused with %q", i, v, want)
		}
	}
}

func TestActions(t *testing.T) {
	edit := func(from, to string) *Policy {
		return mustParse(t, editDefault(t, from, to))
	}
	guaranteed := pod(func(s *v1.PodSpec) {
		s.Containers[0].Resources = v1.ResourceRequirements{Limits: v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}}
	})
	gpu := pod(func(s *v1.PodSpec) {
		s.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	})
	tests := []struct {
		name   string
		policy *Policy
		pod    *v1.Pod
		fitsOn string
		score  int64 // on coreos
	}{
		{"oom-score-adj scores by default", Default(), guaranteed, "docker,coreos,kvm", 8},
		{"oom-score-adj made hard", edit("oom-score-adj:         {action: score,  weight: 2}", "oom-score-adj: {action: filter, weight: 2}"), guaranteed, "docker", 0},
		{"oom-score-adj ignored", edit("oom-score-adj:         {action: score,  weight: 2}", "oom-score-adj: {action: ignore}"), guaranteed, "docker,coreos,kvm", 10},
		{"gpu made soft", edit("gpu:                   {action: filter, weight: 5}", "gpu: {action: score, weight: 7}"), gpu, "docker,coreos,kvm", 3},
		{"gpu left out of the policy", edit("  gpu:                   {action: filter, weight: 5}\n", ""), gpu, "docker,coreos,kvm", 10},
		{"gpu weight defaults", edit("gpu:                   {action: filter, weight: 5}", "gpu: {action: score}"), gpu, "docker,coreos,kvm", 10 - DefaultWeight},
		{"coreos gains gpu", edit("lacks: [attach, init-containers, gpu, ", "lacks: [attach, init-containers, "), gpu, "docker,coreos", 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := verdicts(tt.policy, tt.pod)
			if got := fitsOn(vs); got != tt.fitsOn {
				t.Errorf("fits on %q, want %q", got, tt.fitsOn)
			}
			if vs[1].Score != tt.score {
				t.Errorf("coreos score %d, want %d", vs[1].Score, tt.score)
			}
		})
	}
}

// The verdict is shared by every node of a class: judging allocates nothing.
func TestVerdictDoesNotAllocate(t *testing.T) {
	p := Default()
	a := p.Analyze(pod(func(s *v1.PodSpec) { s.InitContainers = []v1.Container{{Name: "i", Image: "x:1"}} }))
	c := p.Profile(coreosNode).Class
	if other := node("rkt://1.30.0", "stage1-coreos"); a.Verdict(c) != a.Verdict(p.Profile(other).Class) {
		t.Error("verdicts for one class are not shared")
	}
	if n := testing.AllocsPerRun(100, func() { _ = a.Verdict(c).Reason }); n != 0 {
		t.Errorf("Verdict allocates %v times", n)
	}
}

// editDefault is the default document with old replaced by new; old must occur exactly once
// (policytest.EditDefault, which this package's own tests cannot import).
func editDefault(t *testing.T, old, new string) string {
	t.Helper()
	def := string(DefaultDocument())
	if n := strings.Count(def, old); n != 1 {
		t.Fatalf("default.yaml holds %q %d times, want once: update the test", old, n)
	}
	return strings.Replace(def, old, new, 1)
}

// Every need names the field of the pod that shows it (the first one, when several do), as
// kubectl rktsched explain prints it.
func TestWhy(t *testing.T) {
	gpu := v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	guaranteed := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
	tests := []struct {
		name string
		pod  *v1.Pod
		want map[Capability]string
	}{
		{
			name: "plain",
			pod:  pod(),
			want: map[Capability]string{NamespaceIsolation: "spec.hostNetwork, spec.hostPID, spec.hostIPC false"},
		},
		{
			name: "init containers, stdin and tty, gpu in an init container",
			pod: pod(func(s *v1.PodSpec) {
				s.InitContainers = []v1.Container{{Name: "setup", Image: "x:1"}, {Name: "warm", Image: "x:1", Resources: v1.ResourceRequirements{Requests: gpu}}}
				s.Containers = []v1.Container{{Name: "main", Image: "x:1"}, {Name: "shell", Image: "x:1", TTY: true}, {Name: "app", Image: "x:1", Stdin: true, Resources: v1.ResourceRequirements{Limits: gpu}}}
			}),
			want: map[Capability]string{
				InitContainers:     "spec.initContainers[0] (setup)",
				GPU:                "spec.initContainers[1] (warm) resources.requests[nvidia.com/gpu]",
				Attach:             "spec.containers[1] (shell) tty",
				NamespaceIsolation: "spec.hostNetwork, spec.hostPID, spec.hostIPC false",
			},
		},
		{
			name: "gpu limit, stdin and tty",
			pod: pod(func(s *v1.PodSpec) {
				s.HostNetwork = true
				s.Containers = []v1.Container{{Name: "cuda", Image: "x:1", Stdin: true, TTY: true, Resources: v1.ResourceRequirements{Limits: gpu, Requests: gpu}}}
			}),
			want: map[Capability]string{
				Attach:      "spec.containers[0] (cuda) stdin",
				GPU:         "spec.containers[0] (cuda) resources.limits[nvidia.com/gpu]",
				HostNetwork: "spec.hostNetwork",
			},
		},
		{
			name: "host namespaces, defaulted restartPolicy, Guaranteed, pulls",
			pod: pod(func(s *v1.PodSpec) {
				s.HostIPC, s.HostPID, s.RestartPolicy = true, true, ""
				s.Containers = []v1.Container{
					{Name: "a", Image: "registry:5000/app", Resources: v1.ResourceRequirements{Limits: guaranteed}},
					{Name: "b", Image: "app:1", ImagePullPolicy: v1.PullAlways, Resources: v1.ResourceRequirements{Limits: guaranteed}},
				}
			}),
			want: map[Capability]string{
				HostIPC:        "spec.hostIPC",
				HostPID:        "spec.hostPID",
				RestartBackoff: "spec.restartPolicy Always (defaulted)",
				OOMScoreAdj:    "status.qosClass Guaranteed (limits = requests)",
				ImagePullCache: "spec.containers[0] (a) image registry:5000/app (imagePullPolicy defaults to Always)",
			},
		},
		{
			name: "explicit pull Always, restartPolicy OnFailure",
			pod: pod(func(s *v1.PodSpec) {
				s.RestartPolicy = v1.RestartPolicyOnFailure
				s.InitContainers = []v1.Container{{Name: "setup", Image: "app:1", ImagePullPolicy: v1.PullAlways}}
			}),
			want: map[Capability]string{
				InitContainers:     "spec.initContainers[0] (setup)",
				NamespaceIsolation: "spec.hostNetwork, spec.hostPID, spec.hostIPC false",
				RestartBackoff:     "spec.restartPolicy OnFailure",
				ImagePullCache:     "spec.initContainers[0] (setup) imagePullPolicy Always",
			},
		},
		{
			name: "volumes: hostPath, subPaths (a hard one after a soft one), seLinuxOptions",
			pod: pod(func(s *v1.PodSpec) {
				s.HostNetwork, s.RestartPolicy = true, v1.RestartPolicyAlways
				s.Volumes = []v1.Volume{
					{Name: "logs", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/var/log"}}},
					{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
					{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/data"}}},
					{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
				}
				s.Containers = []v1.Container{
					{Name: "app", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "cfg", MountPath: "/cfg", SubPathExpr: "$(POD_NAME)"}, {Name: "scratch", MountPath: "/s"}}},
					{Name: "sidecar", Image: "x:1", VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/d"}, {Name: "scratch", MountPath: "/s", SubPath: "tmp"}},
						SecurityContext: &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1,c2"}}},
				}
			}),
			want: map[Capability]string{
				RestartBackoff:      "spec.restartPolicy Always",
				HostPathCreate:      "spec.volumes[2] (data) hostPath /srv/data",
				SubPathCreate:       "spec.containers[1] (sidecar) volumeMounts[1] (scratch) subPath",
				SELinuxPerContainer: "spec.containers[1] (sidecar) volumeMounts[1] (scratch) seLinuxOptions differ from spec.containers[0] (app)",
				HostNetwork:         "spec.hostNetwork",
				SubPath:             "spec.containers[0] (app) volumeMounts[0] (cfg) subPathExpr",
				SELinuxLabels:       "spec.containers[1] (sidecar) securityContext.seLinuxOptions",
			},
		},
		{
			name: "soft subPathExpr",
			pod: pod(func(s *v1.PodSpec) {
				s.HostNetwork = true
				s.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
				s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "cfg", MountPath: "/cfg", SubPathExpr: "$(POD_NAME)"}}
			}),
			want: map[Capability]string{
				SubPathCreate: "spec.containers[0] (main) volumeMounts[0] (cfg) subPathExpr",
				SubPath:       "spec.containers[0] (main) volumeMounts[0] (cfg) subPathExpr",
				HostNetwork:   "spec.hostNetwork",
			},
		},
		{
			name: "annotation, and a need the spec shows first",
			pod:  annotated(pod(func(s *v1.PodSpec) { s.HostNetwork = true; s.Containers[0].Stdin = true }), AnnotationNeeds, "attach, port-forward"),
			want: map[Capability]string{
				Attach:      "spec.containers[0] (main) stdin",
				PortForward: "metadata.annotations[rktsched.io/needs]",
				HostNetwork: "spec.hostNetwork",
			},
		},
	}
	p := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[Capability]string{}
			for _, n := range p.Analyze(tt.pod).Needs {
				got[n.Capability] = n.Why
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("why (-want +got):\n%s", diff)
			}
		})
	}
}

// Analyze is on the extender's and the plugin's hot path: a need shown again by another
// container or mount builds no second Why.
func TestRepeatedNeedsCostNothing(t *testing.T) {
	p := Default()
	withContainers := func(n int) *v1.Pod {
		return pod(func(s *v1.PodSpec) {
			s.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
			s.Containers = nil
			for i := range n {
				s.Containers = append(s.Containers, v1.Container{Name: "c" + strconv.Itoa(i), Image: "app", Stdin: true,
					Resources:    v1.ResourceRequirements{Limits: v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}},
					VolumeMounts: []v1.VolumeMount{{Name: "scratch", MountPath: "/s", SubPath: "x"}}})
			}
		})
	}
	one, five := withContainers(1), withContainers(5)
	a1 := testing.AllocsPerRun(100, func() { p.Analyze(one) })
	a5 := testing.AllocsPerRun(100, func() { p.Analyze(five) })
	if a5 > a1 {
		t.Errorf("Analyze allocates %v times for 5 containers showing the same needs, %v for 1", a5, a1)
	}
}
