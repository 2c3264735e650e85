package policy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func BenchmarkParseDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(defaultDocument); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyze is the once-per-pod cost the extender caches across verbs.
func BenchmarkAnalyze(b *testing.B) {
	p := Default()
	pd := pod(func(s *v1.PodSpec) {
		s.InitContainers = []v1.Container{{Name: "init", Image: "busybox"}}
		s.Volumes = []v1.Volume{{Name: "d", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv"}}}}
		s.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "d", MountPath: "/d"}}
	})
	b.ReportAllocs()
	for b.Loop() {
		p.Analyze(pd)
	}
}

func BenchmarkProfileOf(b *testing.B) {
	p := Default()
	labels := map[string]string{"kubernetes.io/hostname": "n1"}
	b.ReportAllocs()
	for b.Loop() {
		p.ProfileOf(NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "coreos.com/rkt/stage1-kvm:1.29.0", Labels: labels})
	}
}

// BenchmarkAnalyzeBusy is Analyze of a pod that shows most needs, several of them more than
// once (the first occurrence is the one reported).
func BenchmarkAnalyzeBusy(b *testing.B) {
	p := Default()
	gpu := v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	pd := pod(func(s *v1.PodSpec) {
		s.RestartPolicy = ""
		s.InitContainers = []v1.Container{{Name: "setup", Image: "busybox"}, {Name: "migrate", Image: "app:latest"}}
		s.Volumes = []v1.Volume{
			{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}},
			{Name: "scratch", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}},
			{Name: "data", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/srv/data"}}},
		}
		s.Containers = []v1.Container{
			{Name: "app", Image: "app", Stdin: true, Resources: v1.ResourceRequirements{Limits: gpu},
				VolumeMounts: []v1.VolumeMount{{Name: "cfg", MountPath: "/cfg", SubPath: "app.conf"}, {Name: "scratch", MountPath: "/tmp", SubPath: "app"}}},
			{Name: "sidecar", Image: "proxy:latest", TTY: true, Resources: v1.ResourceRequirements{Limits: gpu},
				VolumeMounts:    []v1.VolumeMount{{Name: "scratch", MountPath: "/tmp", SubPath: "proxy"}, {Name: "data", MountPath: "/data"}},
				SecurityContext: &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: "s0:c1,c2"}}},
		}
	})
	pd.Annotations[AnnotationNeeds] = "port-forward,stdout-logs"
	b.ReportAllocs()
	for b.Loop() {
		p.Analyze(pd)
	}
}
