package policy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
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

func BenchmarkClassify(b *testing.B) {
	p := Default()
	labels := map[string]string{"kubernetes.io/hostname": "n1"}
	b.ReportAllocs()
	for b.Loop() {
		p.ProfileOf(NodeInputs{RuntimeVersion: "rkt://1.29.0", Stage1Image: "coreos.com/rkt/stage1-kvm:1.29.0", Labels: labels})
	}
}
