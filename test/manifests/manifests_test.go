// Package manifests checks what manifests/ ships that kubectl and kube-scheduler would only
// reject at deploy time. (The e2e tests apply it to a real API server and run kube-scheduler
// with it.)
package manifests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

var manifests = filepath.Join("..", "..", "manifests")

// TestPolicyCopy: the ConfigMap that kustomize generates must hold the built-in policy.
func TestPolicyCopy(t *testing.T) {
	copied, err := os.ReadFile(filepath.Join(manifests, policy.ConfigMapKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(copied, policy.DefaultDocument()) {
		t.Errorf("manifests/%s differs from policy/default.yaml; run: cp policy/default.yaml manifests/%s",
			policy.ConfigMapKey, policy.ConfigMapKey)
	}
}

// TestSchedulerConfig checks the KubeSchedulerConfiguration's extender settings exactly: a
// missing, misspelt or extra field shows in the diff. (kube-scheduler itself decodes the file
// strictly in the e2e tests.)
func TestSchedulerConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(manifests, "scheduler", "kube-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		APIVersion       string           `json:"apiVersion"`
		Kind             string           `json:"kind"`
		ClientConnection map[string]any   `json:"clientConnection"`
		LeaderElection   map[string]any   `json:"leaderElection"`
		Extenders        []map[string]any `json:"extenders"`
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.APIVersion != "kubescheduler.config.k8s.io/v1" || cfg.Kind != "KubeSchedulerConfiguration" {
		t.Errorf("apiVersion/kind = %s/%s", cfg.APIVersion, cfg.Kind)
	}
	if cfg.LeaderElection["leaderElect"] != true {
		t.Errorf("leaderElection = %v, want leaderElect: true for a real cluster", cfg.LeaderElection)
	}
	want := []map[string]any{{
		"urlPrefix":        "http://rktsched-extender.rktsched-system.svc:8888",
		"filterVerb":       "filter",
		"prioritizeVerb":   "prioritize",
		"preemptVerb":      "preempt",
		"nodeCacheCapable": true,
		"weight":           float64(1),
		"httpTimeout":      "1s",
		"ignorable":        false,
		"enableHTTPS":      false,
	}}
	if diff := cmp.Diff(want, cfg.Extenders); diff != "" {
		t.Errorf("extenders (-want +got):\n%s", diff)
	}
}

// TestSchedulerHTTPSConfig: the HTTPS configuration is the plain one with the TLS fields set,
// so that a change to one cannot silently miss the other.
func TestSchedulerHTTPSConfig(t *testing.T) {
	read := func(name string) map[string]any {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(manifests, "scheduler", name))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return cfg
	}
	want := read("kube-scheduler-config.yaml")
	ext := want["extenders"].([]any)[0].(map[string]any)
	ext["urlPrefix"] = strings.Replace(ext["urlPrefix"].(string), "http://", "https://", 1)
	ext["enableHTTPS"] = true
	ext["tlsConfig"] = map[string]any{
		"insecure": false,
		"caFile":   "/etc/kubernetes/rktsched/ca.crt",
		"certFile": "/etc/kubernetes/rktsched/scheduler-client.crt",
		"keyFile":  "/etc/kubernetes/rktsched/scheduler-client.key",
	}
	if diff := cmp.Diff(want, read("kube-scheduler-config-https.yaml")); diff != "" {
		t.Errorf("kube-scheduler-config-https.yaml is not kube-scheduler-config.yaml with the TLS fields (-want +got):\n%s", diff)
	}
}

// TestPluginSchedulerConfigs: rktsched-scheduler's two shipped configurations (in place of
// kube-scheduler, and as a second scheduler) enable the plugin the same way, with the same
// args, and no extender; only the profile's name and the Lease differ.
func TestPluginSchedulerConfigs(t *testing.T) {
	type config struct {
		APIVersion       string           `json:"apiVersion"`
		Kind             string           `json:"kind"`
		ClientConnection map[string]any   `json:"clientConnection"`
		LeaderElection   map[string]any   `json:"leaderElection"`
		Profiles         []map[string]any `json:"profiles"`
	}
	read := func(path string) config {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(manifests, path))
		if err != nil {
			t.Fatal(err)
		}
		var cfg config
		if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if cfg.APIVersion != "kubescheduler.config.k8s.io/v1" || cfg.Kind != "KubeSchedulerConfiguration" {
			t.Errorf("%s: apiVersion/kind = %s/%s", path, cfg.APIVersion, cfg.Kind)
		}
		if cfg.LeaderElection["leaderElect"] != true {
			t.Errorf("%s: leaderElection = %v, want leaderElect: true", path, cfg.LeaderElection)
		}
		if len(cfg.Profiles) != 1 {
			t.Fatalf("%s: %d profiles, want 1", path, len(cfg.Profiles))
		}
		return cfg
	}
	replacing := read("scheduler/rktsched-scheduler-config.yaml")
	second := read("second-scheduler/rktsched-scheduler-config.yaml")
	wantPlugin := map[string]any{
		"plugins": map[string]any{"multiPoint": map[string]any{"enabled": []any{
			map[string]any{"name": "Rktsched", "weight": float64(1)},
		}}},
		"pluginConfig": []any{map[string]any{"name": "Rktsched", "args": map[string]any{
			"policyConfigMapNamespace": "rktsched-system",
			"policyConfigMapName":      "rktsched-policy",
		}}},
	}
	for name, tt := range map[string]struct {
		cfg            config
		schedulerName  string
		leaderElection map[string]any
	}{
		"replacing kube-scheduler": {replacing, "default-scheduler", map[string]any{"leaderElect": true}},
		"second scheduler": {second, "rktsched-scheduler", map[string]any{
			"leaderElect": true, "resourceNamespace": "rktsched-system", "resourceName": "rktsched-scheduler"}},
	} {
		want := map[string]any{"schedulerName": tt.schedulerName}
		for k, v := range wantPlugin {
			want[k] = v
		}
		if diff := cmp.Diff(want, tt.cfg.Profiles[0]); diff != "" {
			t.Errorf("%s: profile (-want +got):\n%s", name, diff)
		}
		if diff := cmp.Diff(tt.leaderElection, tt.cfg.LeaderElection); diff != "" {
			t.Errorf("%s: leaderElection (-want +got):\n%s", name, diff)
		}
	}
	if second.ClientConnection != nil {
		t.Errorf("second scheduler: clientConnection %v, want none (in-cluster credentials)", second.ClientConnection)
	}
}
