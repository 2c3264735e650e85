package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestLocalSchedulerConfig checks that a local run changes only what it must in the shipped
// KubeSchedulerConfiguration, so that the e2e tests test what is shipped.
func TestLocalSchedulerConfig(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join("..", "..", SchedulerConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, nodeCacheCapable := range []bool{true, false} {
		local, err := LocalSchedulerConfig(shipped, "http://127.0.0.1:1234", "/tmp/k.kubeconfig", nodeCacheCapable)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		if err := yaml.Unmarshal(shipped, &want); err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(local, &got); err != nil {
			t.Fatal(err)
		}
		ext := want["extenders"].([]any)[0].(map[string]any)
		ext["urlPrefix"] = "http://127.0.0.1:1234"
		ext["nodeCacheCapable"] = nodeCacheCapable
		want["clientConnection"].(map[string]any)["kubeconfig"] = "/tmp/k.kubeconfig"
		want["leaderElection"].(map[string]any)["leaderElect"] = false
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("nodeCacheCapable=%v: local config (-want +got):\n%s", nodeCacheCapable, diff)
		}
	}
}

func TestLocalSchedulerConfigRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"no extender", "kind: KubeSchedulerConfiguration\n"},
		{"two extenders", "extenders: [{urlPrefix: a}, {urlPrefix: b}]\n"},
		{"not yaml", "extenders: [\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LocalSchedulerConfig([]byte(tc.doc), "u", "k", true); err == nil {
				t.Error("want an error, got none")
			}
		})
	}
}
