package extender

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

// verdictCase is a pod and what the design's capability matrix says about it on the
// matrixNodes: the reason of every refused node (the others pass) and every node's score.
type verdictCase struct {
	name    string
	pod     *v1.Pod
	refused map[string]string
	scores  map[string]int64
}

// refusedScores is the scores of a pod with no soft need: 10 where it fits, 0 elsewhere.
func refusedScores(refused map[string]string) map[string]int64 {
	out := map[string]int64{}
	for _, n := range matrixNodes() {
		out[n.Name] = 10
		if _, ok := refused[n.Name]; ok {
			out[n.Name] = 0
		}
	}
	return out
}

// onRkt gives the reason for coreos (and the rkt node that does not say its stage1), kvm and
// fly nodes; an empty reason means the node passes.
func onRkt(coreosReason, kvmReason, flyReason string) map[string]string {
	out := map[string]string{}
	for n, r := range map[string]string{coreos: coreosReason, rktPlain: coreosReason, kvm: kvmReason, fly: flyReason} {
		if r != "" {
			out[n] = r
		}
	}
	return out
}

// matrixCases has at least one pod per capability row of the design's matrix, the two seed
// pods, and the cases around them (soft needs, known host paths, a typo in the annotation).
func matrixCases(t testing.TB) []verdictCase {
	const (
		onCoreos = "rkt stage1-coreos lacks "
		onKVM    = "rkt stage1-kvm lacks "
		onFly    = "rkt stage1-fly lacks "
	)
	hard := func(name string, p *v1.Pod, refused map[string]string) verdictCase {
		return verdictCase{name: name, pod: p, refused: refused, scores: refusedScores(refused)}
	}
	soft := func(name string, p *v1.Pod, rktScore int64) verdictCase {
		refused := onRkt("", "", onFly+"namespace-isolation")
		return verdictCase{name: name, pod: p, refused: refused,
			scores: map[string]int64{docker: 10, coreos: rktScore, rktPlain: rktScore, kvm: rktScore, fly: 0}}
	}
	sharedVolume := func(p *v1.Pod, levels ...string) {
		p.Spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
		p.Spec.Containers = nil
		for i, level := range levels {
			p.Spec.Containers = append(p.Spec.Containers, v1.Container{
				Name: string(rune('a' + i)), Image: "registry.example/app:1.0",
				SecurityContext: &v1.SecurityContext{SELinuxOptions: &v1.SELinuxOptions{Level: level}},
				VolumeMounts:    []v1.VolumeMount{{Name: "data", MountPath: "/data"}},
			})
		}
	}
	hostPath := func(path string) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Volumes = []v1.Volume{{Name: "h", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: path}}}}
			p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "h", MountPath: "/h"}}
		}
	}
	subPath := func(source v1.VolumeSource) func(*v1.Pod) {
		return func(p *v1.Pod) {
			p.Spec.Volumes = []v1.Volume{{Name: "v", VolumeSource: source}}
			p.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "v", MountPath: "/v", SubPath: "x"}}
		}
	}
	return []verdictCase{
		hard("attach", pod("attach", func(p *v1.Pod) { p.Spec.Containers[0].Stdin = true }),
			onRkt(onCoreos+"attach", onKVM+"attach", onFly+"attach, namespace-isolation")),
		hard("port-forward", pod("port-forward", needs("port-forward")),
			onRkt("", onKVM+"port-forward", onFly+"port-forward, namespace-isolation")),
		hard("init-containers", pod("init", func(p *v1.Pod) {
			p.Spec.InitContainers = []v1.Container{{Name: "setup", Image: "registry.example/setup:1.0"}}
		}), onRkt(onCoreos+"init-containers", onKVM+"init-containers", onFly+"init-containers, namespace-isolation")),
		hard("gpu", pod("gpu", gpuPod),
			onRkt(onCoreos+"gpu", onKVM+"gpu", onFly+"gpu, namespace-isolation")),
		hard("host-ipc", pod("host-ipc", func(p *v1.Pod) { p.Spec.HostIPC = true }),
			onRkt(onCoreos+"host-ipc", onKVM+"host-ipc", "")),
		hard("host-pid", pod("host-pid", func(p *v1.Pod) { p.Spec.HostPID = true }),
			onRkt(onCoreos+"host-pid", onKVM+"host-pid", "")),
		hard("host-network", pod("host-network", func(p *v1.Pod) { p.Spec.HostNetwork = true }),
			onRkt("", "", "")),
		hard("namespace-isolation", pod("plain", nil),
			onRkt("", "", onFly+"namespace-isolation")),
		hard("hostpath-create", pod("hostpath", hostPath("/srv/data")),
			onRkt(onCoreos+"hostpath-create", onKVM+"hostpath-create", onFly+"namespace-isolation, hostpath-create")),
		hard("hostpath known to exist", pod("hostpath-known", hostPath("/var/log/")),
			onRkt("", "", onFly+"namespace-isolation")),
		hard("subpath-create on emptyDir", pod("subpath", subPath(v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}})),
			onRkt(onCoreos+"subpath-create", onKVM+"subpath-create", onFly+"namespace-isolation, subpath-create")),
		soft("subpath-create elsewhere", pod("subpath-cm", subPath(v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}})), 7),
		hard("selinux-per-container", pod("selinux", func(p *v1.Pod) { sharedVolume(p, "s0:c1", "s0:c2") }),
			onRkt(onCoreos+"selinux-per-container", onKVM+"selinux-per-container", onFly+"namespace-isolation, selinux-per-container")),
		hard("same selinux everywhere", pod("selinux-same", func(p *v1.Pod) { sharedVolume(p, "s0:c1", "s0:c1") }),
			onRkt("", "", onFly+"namespace-isolation")),
		soft("oom-score-adj", pod("guaranteed", guaranteedPod), 8),
		soft("restart-backoff", pod("always", func(p *v1.Pod) { p.Spec.RestartPolicy = v1.RestartPolicyAlways }), 8),
		hard("stdout-logs", pod("stdout", needs("stdout-logs")),
			onRkt(onCoreos+"stdout-logs", onKVM+"stdout-logs", onFly+"namespace-isolation, stdout-logs")),
		soft("image-update-in-place", pod("update", needs("image-update-in-place")), 8),
		soft("image-pull-cache", pod("latest", func(p *v1.Pod) { p.Spec.Containers[0].Image = "busybox:latest" }), 7),
		{name: "soft needs add up", pod: pod("many", func(p *v1.Pod) {
			guaranteedPod(p)
			p.Spec.RestartPolicy = v1.RestartPolicyOnFailure
			p.Spec.Containers[0].ImagePullPolicy = v1.PullAlways
			p.Annotations = map[string]string{"rktsched.io/needs": "image-update-in-place"}
		}), refused: onRkt("", "", onFly+"namespace-isolation"),
			scores: map[string]int64{docker: 10, coreos: 1, rktPlain: 1, kvm: 1, fly: 0}},
		hard("typo in the needs annotation", pod("typo", needs("gpu, teleport")), func() map[string]string {
			const r = "pod annotation rktsched.io/needs names unknown capabilities: teleport"
			return map[string]string{docker: r, coreos: r, rktPlain: r, kvm: r, fly: r}
		}()),
		{name: "seed mount-dne", pod: loadPod(t, seedPath("mount-dne.yaml")),
			refused: onRkt(onCoreos+"hostpath-create", onKVM+"hostpath-create", onFly+"namespace-isolation, hostpath-create"),
			scores:  map[string]int64{docker: 10, coreos: 0, rktPlain: 0, kvm: 0, fly: 0}},
		{name: "seed host-ipc-pid", pod: loadPod(t, seedPath("host-ipc-pid.yaml")),
			refused: onRkt(onCoreos+"host-ipc, host-pid", onKVM+"host-ipc, host-pid", ""),
			// fly runs it, but without restart back-off (2) and image cache (3) for busybox:latest.
			scores: map[string]int64{docker: 10, coreos: 0, rktPlain: 0, kvm: 0, fly: 5}},
	}
}

// eachMatrixCase runs check on every matrix pod in both payload modes ("names", "nodes"),
// with the request body kube-scheduler would send about nodes.
func eachMatrixCase(t *testing.T, nodes []*v1.Node, check func(t *testing.T, mode string, tc verdictCase, body []byte)) {
	for _, mode := range modes {
		for _, tc := range matrixCases(t) {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) { check(t, mode.name, tc, mode.args(tc.pod, nodes)) })
		}
	}
}
