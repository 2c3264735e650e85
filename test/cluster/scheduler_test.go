package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestLocalSchedulerConfig checks that a local run changes only what it must in the shipped
// KubeSchedulerConfigurations, so that the e2e tests test what is shipped.
func TestLocalSchedulerConfig(t *testing.T) {
	tls := &SchedulerTLS{CAFile: "/tmp/ca.crt", CertFile: "/tmp/client.crt", KeyFile: "/tmp/client.key"}
	for _, opts := range []SchedulerOptions{
		{ExtenderURL: "http://127.0.0.1:1234", NodeCacheCapable: true},
		{ExtenderURL: "http://127.0.0.1:1234", NodeCacheCapable: false},
		{Config: SchedulerHTTPSConfigPath, ExtenderURL: "https://127.0.0.1:1234", NodeCacheCapable: true, TLS: tls},
	} {
		shipped, err := os.ReadFile(filepath.Join("..", "..", opts.config()))
		if err != nil {
			t.Fatal(err)
		}
		local, err := LocalSchedulerConfigWith(shipped, "/tmp/k.kubeconfig", opts)
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
		ext["urlPrefix"] = opts.ExtenderURL
		ext["nodeCacheCapable"] = opts.NodeCacheCapable
		if opts.TLS != nil {
			tc := ext["tlsConfig"].(map[string]any)
			tc["caFile"], tc["certFile"], tc["keyFile"] = tls.CAFile, tls.CertFile, tls.KeyFile
		}
		want["clientConnection"].(map[string]any)["kubeconfig"] = "/tmp/k.kubeconfig"
		want["leaderElection"].(map[string]any)["leaderElect"] = false
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%+v: local config (-want +got):\n%s", opts, diff)
		}
	}
}

func TestLocalSchedulerConfigRejects(t *testing.T) {
	tls := &SchedulerTLS{CAFile: "a", CertFile: "b", KeyFile: "c"}
	const httpsExt = "extenders: [{urlPrefix: https://x, enableHTTPS: true, tlsConfig: {insecure: false, caFile: a, certFile: b, keyFile: c}}]\n"
	for _, tc := range []struct {
		name, doc string
		opts      SchedulerOptions
	}{
		{"no extender", "kind: KubeSchedulerConfiguration\n", SchedulerOptions{ExtenderURL: "u"}},
		{"two extenders", "extenders: [{urlPrefix: a}, {urlPrefix: b}]\n", SchedulerOptions{ExtenderURL: "u"}},
		{"not yaml", "extenders: [\n", SchedulerOptions{ExtenderURL: "u"}},
		{"https URL for plain HTTP", "extenders: [{urlPrefix: a}]\n", SchedulerOptions{ExtenderURL: "https://x"}},
		{"plain URL for HTTPS", httpsExt, SchedulerOptions{ExtenderURL: "http://x", TLS: tls}},
		{"tlsConfig without local files", httpsExt, SchedulerOptions{ExtenderURL: "https://x"}},
		{"local files without tlsConfig", "extenders: [{urlPrefix: a, enableHTTPS: true}]\n", SchedulerOptions{ExtenderURL: "https://x", TLS: tls}},
		{"tlsConfig without keyFile", "extenders: [{urlPrefix: a, enableHTTPS: true, tlsConfig: {caFile: a, certFile: b}}]\n", SchedulerOptions{ExtenderURL: "https://x", TLS: tls}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := LocalSchedulerConfigWith([]byte(tc.doc), "k", tc.opts); err == nil {
				t.Error("want an error, got none")
			} else {
				t.Log(err)
			}
		})
	}
	if _, err := LocalSchedulerConfigWith([]byte(httpsExt), "k", SchedulerOptions{ExtenderURL: "https://x", TLS: tls}); err != nil {
		t.Errorf("a valid HTTPS configuration was refused: %v", err)
	}
}
