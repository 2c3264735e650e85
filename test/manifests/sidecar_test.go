package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

var sidecarDir = filepath.Join(manifests, "sidecar")

// sidecarPod applies the kubeadm patches of manifests/sidecar/ to a stock kubeadm
// kube-scheduler.yaml as kubeadm does (the files in name order, each by its +type) and returns
// the result as JSON.
func sidecarPod(t *testing.T) []byte {
	t.Helper()
	stock, err := os.ReadFile(filepath.Join("testdata", "kube-scheduler.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := yaml.YAMLToJSON(stock)
	if err != nil {
		t.Fatal(err)
	}
	patches, err := filepath.Glob(filepath.Join(sidecarDir, "kube-scheduler*+*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(patches)
	if len(patches) != 2 {
		t.Fatalf("patches %v, want the strategic merge and the JSON patch", patches)
	}
	for _, file := range patches {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		patch, err := yaml.YAMLToJSON(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		switch {
		case strings.HasSuffix(file, "+strategic.yaml"):
			pod, err = strategicpatch.StrategicMergePatch(pod, patch, v1.Pod{})
		case strings.HasSuffix(file, "+json.yaml"):
			var p jsonpatch.Patch
			if p, err = jsonpatch.DecodePatch(patch); err == nil {
				pod, err = p.Apply(pod)
			}
		default:
			t.Fatalf("%s: not a kubeadm patch type kubeadm applies here", file)
		}
		if err != nil {
			t.Fatalf("applying %s: %v", file, err)
		}
	}
	return pod
}

// TestSidecarPatch: the patched kube-scheduler static pod decodes strictly as a Pod, keeps
// kube-scheduler as it was plus --config and the config mount, and runs the extender on the
// loopback port the sidecar scheduler config calls, with the kubeconfig it mounts.
func TestSidecarPatch(t *testing.T) {
	var pod v1.Pod
	if err := yaml.UnmarshalStrict(sidecarPod(t), &pod); err != nil {
		t.Fatalf("the patched static pod is no valid Pod: %v", err)
	}
	if !pod.Spec.HostNetwork {
		t.Error("the patched pod lost hostNetwork")
	}
	if len(pod.Spec.Containers) != 2 {
		t.Fatalf("containers %d, want kube-scheduler and rktsched-extender", len(pod.Spec.Containers))
	}
	sched, ext := pod.Spec.Containers[0], pod.Spec.Containers[1]
	if sched.Name != "kube-scheduler" || ext.Name != "rktsched-extender" {
		t.Fatalf("containers %s, %s", sched.Name, ext.Name)
	}
	wantCommand := []string{
		"kube-scheduler",
		"--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
		"--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
		"--bind-address=127.0.0.1",
		"--kubeconfig=/etc/kubernetes/scheduler.conf",
		"--leader-elect=true",
		"--config=/etc/kubernetes/rktsched/kube-scheduler-config.yaml",
	}
	if diff := cmp.Diff(wantCommand, sched.Command); diff != "" {
		t.Errorf("kube-scheduler command (-want +got):\n%s", diff)
	}
	volumes := map[string]v1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range pod.Spec.Containers {
		for _, m := range c.VolumeMounts {
			v, ok := volumes[m.Name]
			if !ok {
				t.Errorf("container %s mounts volume %s, which the pod lacks", c.Name, m.Name)
				continue
			}
			if v.HostPath == nil || !m.ReadOnly {
				t.Errorf("container %s mount %s: want a read-only hostPath", c.Name, m.Name)
			}
		}
	}
	if v := volumes["rktsched"]; v.HostPath == nil || v.HostPath.Path != "/etc/kubernetes/rktsched" {
		t.Errorf("volume rktsched = %+v, want hostPath /etc/kubernetes/rktsched", v)
	}
	if diff := cmp.Diff([]string{"--listen=127.0.0.1:10262", "--kubeconfig=/etc/kubernetes/scheduler.conf"}, ext.Args); diff != "" {
		t.Errorf("extender args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/ko-app/rktsched-extender"}, ext.Command); diff != "" {
		t.Errorf("extender command (-want +got):\n%s", diff)
	}
	sc := ext.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Drop, []v1.Capability{"ALL"}) {
		t.Errorf("extender securityContext %+v: want no privilege escalation, read-only root, all capabilities dropped", sc)
	}
}

// TestSidecarSchedulerConfig: the sidecar's scheduler configuration is the shipped one with
// the loopback urlPrefix the patch's --listen serves.
func TestSidecarSchedulerConfig(t *testing.T) {
	read := func(path string) map[string]any {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return cfg
	}
	want := read(filepath.Join(manifests, "scheduler", "kube-scheduler-config.yaml"))
	want["extenders"].([]any)[0].(map[string]any)["urlPrefix"] = "http://127.0.0.1:10262"
	got := read(filepath.Join(sidecarDir, "kube-scheduler-config.yaml"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sidecar/kube-scheduler-config.yaml is not scheduler/kube-scheduler-config.yaml with the loopback urlPrefix (-want +got):\n%s", diff)
	}
	// The JSON patch points kube-scheduler at the path the strategic patch mounts.
	var pod v1.Pod
	if err := json.Unmarshal(sidecarPod(t), &pod); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pod.Spec.Containers[0].Command, "--config=/etc/kubernetes/rktsched/kube-scheduler-config.yaml") {
		t.Error("kube-scheduler is not given the sidecar configuration")
	}
}
