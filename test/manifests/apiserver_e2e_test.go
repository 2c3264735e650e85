//go:build e2e

package manifests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

// TestAgainstAPIServer checks, on a real kube-apiserver (test/cluster's, no kubelet), what
// only the API server can: the chart's output, the sidecar patch's Pod and the kustomize
// variants are accepted by a server-side dry run, and every metric the dashboard and the
// alerts query is on the real binaries' /metrics.
func TestAgainstAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := cluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	binDir, err := cluster.ControlPlaneBinaries(ctx, root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	ourBins, err := cluster.ProjectBinaries(ctx, root, os.Getenv("RKTSCHED_BIN"), t.TempDir(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.Start(ctx, cluster.Config{BinDir: binDir, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range c.Processes() {
				t.Logf("--- last lines of %s (%s):\n%s", p.Name, p.LogPath, p.LogTail(25))
			}
		}
		c.Stop()
	})
	kubectl := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := c.Kubectl(ctx, args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "Warning") {
			t.Errorf("kubectl %s warned:\n%s", strings.Join(args, " "), out)
		}
		return out
	}
	dryRun := func(t *testing.T, file string) {
		t.Helper()
		out := kubectl(t, "apply", "--dry-run=server", "-f", file)
		t.Logf("kubectl apply --dry-run=server -f %s:\n%s", filepath.Base(file), out)
	}
	kubectl(t, "apply", "-f", filepath.Join(root, "manifests", "namespace.yaml"))
	if err := c.EnsureNamespace(ctx, "kube-system"); err != nil {
		t.Fatal(err)
	}

	t.Run("chart", func(t *testing.T) {
		for name, set := range chartValueSets {
			args := []string{"template", "rktsched", chartDir, "--namespace", "rktsched-system"}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			out, err := runHelm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			if name == "everything on" {
				// No prometheus-operator CRDs here: the monitors are checked by TestChartOptionalParts.
				out = dropKinds(t, out, "PodMonitor", "ServiceMonitor")
			}
			file := filepath.Join(t.TempDir(), "chart.yaml")
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run(name, func(t *testing.T) { dryRun(t, file) })
		}
	})

	t.Run("kustomize variants", func(t *testing.T) {
		// Overlays as the components' comments say to write them.
		for component, want := range map[string]string{
			"networkpolicy": "networkpolicy.networking.k8s.io/rktsched-extender",
			"sidecar":       "rolebinding.rbac.authorization.k8s.io/rktsched-extender-sidecar",
		} {
			overlay := t.TempDir()
			// kustomize takes relative paths only.
			base, err := filepath.Rel(overlay, filepath.Join(root, "manifests"))
			if err != nil {
				t.Fatal(err)
			}
			k := fmt.Sprintf("resources:\n- %s\ncomponents:\n- %s\n", base, filepath.Join(base, component))
			if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(k), 0o644); err != nil {
				t.Fatal(err)
			}
			out := kubectl(t, "apply", "--dry-run=server", "-k", overlay)
			if !strings.Contains(out, want) {
				t.Errorf("the overlay with the %s component applied no %s:\n%s", component, want, out)
			}
			if component == "sidecar" && strings.Contains(out, "deployment.apps/rktsched-extender") {
				t.Errorf("the sidecar overlay still applies the extender Deployment:\n%s", out)
			}
		}
	})

	t.Run("sidecar static pod", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "kube-scheduler.json")
		if err := os.WriteFile(file, sidecarPod(t), 0o644); err != nil {
			t.Fatal(err)
		}
		dryRun(t, file)
		// kubectl's own strategic merge agrees with the one the unit test does.
		patch, err := os.ReadFile(filepath.Join(sidecarDir, "kube-scheduler0+strategic.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		out := kubectl(t, "patch", "--local", "-f", filepath.Join("testdata", "kube-scheduler.yaml"),
			"--type", "strategic", "--patch", string(patch), "-o", "json")
		var pod struct {
			Spec struct {
				Containers []struct{ Name string } `json:"containers"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(out), &pod); err != nil {
			t.Fatal(err)
		}
		if len(pod.Spec.Containers) != 2 || pod.Spec.Containers[1].Name != "rktsched-extender" {
			t.Errorf("kubectl patch --local gave containers %+v", pod.Spec.Containers)
		}
	})

	t.Run("monitoring queries name real metrics", func(t *testing.T) {
		kubectl(t, "apply", "-k", filepath.Join(root, "manifests"))
		exposed := map[string][]string{}
		for _, bin := range []string{cluster.ExtenderBinary, cluster.LabelerBinary} {
			kubeconfig, err := c.ServiceAccountKubeconfig(ctx, policysource.DefaultNamespace, bin)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{}
			if bin == cluster.LabelerBinary {
				args = append(args, "--leader-elect=false")
			}
			comp, err := c.StartComponent(ctx, cluster.ComponentSpec{Name: bin, Binary: filepath.Join(ourBins, bin), Kubeconfig: kubeconfig, Args: args})
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range scrapeNames(t, comp.Client, comp.URL+"/metrics") {
				exposed[name] = append(exposed[name], bin)
			}
			comp.Stop(5 * time.Second)
		}
		queried := queriedMetrics(t, root)
		if len(queried) < 8 {
			t.Fatalf("found %d metric names in the dashboard and rules, want at least 8: %v", len(queried), queried)
		}
		for _, name := range queried {
			if len(exposed[name]) == 0 {
				t.Errorf("monitoring queries %s, which neither binary exposes", name)
			}
		}
		t.Logf("%d queried metrics, all exposed: %v", len(queried), queried)
	})
}

var metricName = regexp.MustCompile(`\brktsched_[a-z0-9_]+\b`)

// queriedMetrics are the rktsched metric names the dashboard and the PrometheusRule use.
func queriedMetrics(t *testing.T, root string) []string {
	t.Helper()
	var names []string
	for _, f := range []string{"rktsched-dashboard.json", "prometheusrule.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "manifests", "monitoring", f))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, metricName.FindAllString(string(data), -1)...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// scrapeNames returns the sample names (histograms' _bucket, _sum and _count included) on a
// Prometheus text /metrics page.
func scrapeNames(t *testing.T, client *http.Client, url string) []string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, resp.Status)
	}
	var names []string
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names = append(names, line[:i])
		}
	}
	return names
}

// dropKinds removes the documents of the given kinds from a YAML stream.
func dropKinds(t *testing.T, stream string, kinds ...string) string {
	t.Helper()
	var kept []string
	for _, doc := range strings.Split(stream, "\n---\n") {
		drop := false
		for _, k := range kinds {
			if regexp.MustCompile(`(?m)^kind: ` + k + `$`).MatchString(doc) {
				drop = true
			}
		}
		if !drop {
			kept = append(kept, doc)
		}
	}
	return strings.Join(kept, "\n---\n")
}
