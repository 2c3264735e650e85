package extender

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"defaults", nil, nil},
		{"standalone with a policy file", []string{"--standalone", "--policy-file=/p.yaml", "--listen=127.0.0.1:9000"}, nil},
		{"TLS with client CA", []string{"--tls-cert-file=c", "--tls-key-file=k", "--client-ca-file=ca"}, nil},
		{"everything wrong", []string{"--listen=", "--max-body-bytes=0", "--pod-cache-ttl=-1s", "--max-requests-in-flight=0", "--tls-cert-file=c",
			"--client-ca-file=ca", "--standalone", "--kubeconfig=k"},
			[]string{"--listen", "--max-body-bytes", "--pod-cache-ttl", "--max-requests-in-flight", "--tls-cert-file and --tls-key-file", "--kubeconfig"}},
		{"client CA without TLS", []string{"--client-ca-file=ca"}, []string{"--client-ca-file needs"}},
		{"no ConfigMap name", []string{"--policy-configmap-name="}, []string{"--policy-configmap-name"}},
		{"any client certificate of the CA", []string{"--client-allowed-names="}, nil},
		{"an empty allowed name", []string{"--client-allowed-names=a,,b"}, []string{"--client-allowed-names"}},
		{"probes on the verbs' address", []string{"--listen=:8888", "--probe-address=:8888"}, []string{"--probe-address must differ"}},
		{"bounds not positive", []string{"--max-nodes-per-request=0", "--max-victims-per-request=-1"}, []string{"--max-nodes-per-request", "--max-victims-per-request"}},
		{"a budget too small for the largest body", []string{"--max-body-bytes=67108864"}, []string{"--max-bytes-in-flight 167772160 cannot hold one request of --max-body-bytes 67108864"}},
		{"a larger budget for larger bodies", []string{"--max-body-bytes=67108864", "--max-bytes-in-flight=268435456"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			var o Options
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			if (err != nil) != (len(tt.wantErr) > 0) {
				t.Fatalf("Validate() = %v, want errors about %v", err, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %s", err, w)
				}
			}
		})
	}
	t.Run("flag defaults", func(t *testing.T) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var o Options
		o.AddFlags(fs)
		want := Options{Listen: ":8888", MaxBodyBytes: 48 << 20, PodCacheTTL: 30 * time.Second, MaxInFlight: 64,
			ClientAllowedNames: "system:kube-scheduler", MaxBytesInFlight: 160 << 20, MaxNodes: 10_000, MaxVictims: 110_000}
		want.Policy.Namespace, want.Policy.Name = "rktsched-system", "rktsched-policy"
		if diff := cmp.Diff(want, o); diff != "" {
			t.Errorf("defaults (-want +got):\n%s", diff)
		}
	})
}

// started runs the extender as run does and returns its base URL once it listens.
func started(t *testing.T, ctx context.Context, client *fake.Clientset, opts *Options, scheme string) (string, <-chan error) {
	t.Helper()
	a, done := startedAddrs(t, ctx, client, opts)
	return scheme + "://" + a.Verbs.String(), done
}

// startedAddrs is started, returning the addresses bound.
func startedAddrs(t *testing.T, ctx context.Context, client *fake.Clientset, opts *Options) (Addrs, <-chan error) {
	t.Helper()
	addrs := make(chan Addrs, 1)
	done := make(chan error, 1)
	go func() {
		var err error
		if client == nil {
			err = run(ctx, nil, opts, func(a Addrs) { addrs <- a })
		} else {
			err = run(ctx, client, opts, func(a Addrs) { addrs <- a })
		}
		done <- err
	}()
	select {
	case a := <-addrs:
		return a, done
	case err := <-done:
		t.Fatalf("run ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not listen")
	}
	return Addrs{}, nil
}

func testOptions() *Options {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o := &Options{}
	o.AddFlags(fs)
	o.Listen = "127.0.0.1:0"
	return o
}

func post(t *testing.T, c *http.Client, url string, body []byte, out any) int {
	t.Helper()
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// metricValue reads one unlabelled sample from /metrics text.
func metricValue(t *testing.T, metricsText, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(metricsText, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("%s not in /metrics", name)
	return 0
}

// TestPolicyConfigMapHotReload runs the whole extender against a fake API server: a
// ConfigMap edit takes effect, a bad edit is rejected (Warning Event, metric, log) and the
// last good policy stays, a deleted ConfigMap brings back the built-in policy.
func TestPolicyConfigMapHotReload(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ignoreGPU := policytest.EditDefault(t, "gpu:                   {action: filter", "gpu:                   {action: ignore")
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rktsched-system", Name: "rktsched-policy", ResourceVersion: "1"},
		Data:       map[string]string{policy.ConfigMapKey: ignoreGPU},
	}
	client := fake.NewClientset(cm, node(docker, "docker://1.12.6", ""), node(coreos, "rkt://1.29.0", ""))
	url, done := started(t, ctx, client, testOptions(), "http")
	c := &http.Client{Timeout: 5 * time.Second}
	waitFor(t, "/readyz", func() bool { code, _ := get(t, c, url+"/readyz"); return code == http.StatusOK })

	gpu := pod("gpu", gpuPod)
	passed := func() []string {
		t.Helper()
		gpu.ResourceVersion += "1" // a new pod version: no cached analysis
		var res extenderv1.ExtenderFilterResult
		if code := post(t, c, url+"/filter", namesArgs(gpu, []*v1.Node{node(docker, "", ""), node(coreos, "", "")}), &res); code != http.StatusOK {
			t.Fatalf("filter: status %d", code)
		}
		return passedNames(&res)
	}
	if diff := cmp.Diff([]string{docker, coreos}, passed()); diff != "" {
		t.Fatalf("with the ConfigMap ignoring GPUs, passed (-want +got):\n%s", diff)
	}
	_, metrics := get(t, c, url+"/metrics")
	errorsBefore := metricValue(t, metrics, "rktsched_policy_reload_errors_total")
	if got := metricValue(t, metrics, "rktsched_extender_nodes_cached"); got != 2 {
		t.Errorf("rktsched_extender_nodes_cached = %v, want 2", got)
	}

	bad := cm.DeepCopy()
	bad.ResourceVersion = "2"
	bad.Data[policy.ConfigMapKey] = "capabilities: [not, a, map"
	if _, err := client.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, bad, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the PolicyRejected Warning Event", func() bool {
		events, err := client.CoreV1().Events(cm.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events.Items {
			if e.Reason == "PolicyRejected" && e.Type == v1.EventTypeWarning && e.InvolvedObject.Name == cm.Name {
				return true
			}
		}
		return false
	})
	_, metrics = get(t, c, url+"/metrics")
	if got := metricValue(t, metrics, "rktsched_policy_reload_errors_total"); got != errorsBefore+1 {
		t.Errorf("rktsched_policy_reload_errors_total = %v, want %v", got, errorsBefore+1)
	}
	if diff := cmp.Diff([]string{docker, coreos}, passed()); diff != "" {
		t.Errorf("after a bad edit, the last good policy should stay; passed (-want +got):\n%s", diff)
	}

	good := cm.DeepCopy()
	good.ResourceVersion = "3"
	good.Data[policy.ConfigMapKey] = string(policy.DefaultDocument())
	if _, err := client.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, good, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the default policy from the ConfigMap", func() bool { return len(passed()) == 1 })

	if err := client.CoreV1().ConfigMaps(cm.Namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, version := get(t, c, url+"/version")
	if !strings.Contains(version, policy.Default().Digest()) {
		t.Errorf("/version = %s, want the built-in policy's digest %s", version, policy.Default().Digest())
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v, want a clean shutdown", err)
	}
}

// TestStandalone runs without an API server: policy from a file, full Nodes only.
func TestStandalone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	doc := policytest.EditDefault(t, "init-containers:       {action: filter", "init-containers:       {action: ignore")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Standalone, opts.Policy.File = true, file
	url, done := started(t, ctx, nil, opts, "http")
	c := &http.Client{Timeout: 5 * time.Second}

	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, c, url+path); code != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, code, body)
		}
	}
	init := pod("init", func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i", Image: "x:1"}} })
	nodes := matrixNodes()
	if code := post(t, c, url+"/filter", namesArgs(init, nodes), nil); code != http.StatusBadRequest {
		t.Errorf("names request in standalone mode: status %d, want 400", code)
	}
	var res extenderv1.ExtenderFilterResult
	if code := post(t, c, url+"/filter", nodesArgs(init, nodes), &res); code != http.StatusOK {
		t.Fatalf("nodes request: status %d", code)
	}
	// The file's policy ignores init containers: only fly is refused (namespace isolation).
	if diff := cmp.Diff([]string{docker, coreos, kvm, rktPlain}, passedNames(&res)); diff != "" {
		t.Errorf("passed (-want +got):\n%s", diff)
	}
	if code, body := get(t, c, url+"/version"); code != http.StatusOK || !strings.Contains(body, `"version"`) {
		t.Errorf("GET /version = %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v, want a clean shutdown", err)
	}
}

func TestStandaloneRejectsABadPolicyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte("runtimes: 5"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Standalone, opts.Policy.File = true, file
	if err := run(context.Background(), nil, opts, nil); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("run = %v, want an error naming %s", err, file)
	}
}
