package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

// Value sets the chart is linted and rendered with: the defaults, and every optional part on.
var chartValueSets = map[string][]string{
	"defaults": nil,
	"everything on": {
		"networkPolicy.enabled=true", "networkPolicy.schedulerIPBlocks={10.0.0.0/24}",
		"monitoring.podMonitor.enabled=true", "monitoring.serviceMonitor.enabled=true",
		"image.digest=sha256:" + strings.Repeat("a", 64),
	},
	"sidecar": {"extender.mode=sidecar"},
}

func TestChartLint(t *testing.T) {
	for name, set := range chartValueSets {
		t.Run(name, func(t *testing.T) {
			args := []string{"lint", "--strict", chartDir}
			for _, s := range set {
				args = append(args, "--set", s)
			}
			out, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestChartSchemaRefuses: values.schema.json turns away values the templates would render
// into something broken.
func TestChartSchemaRefuses(t *testing.T) {
	for _, set := range []string{
		"extender.mode=daemonset",
		"image.digest=latest",
		"imageTag=v1",
		"extender.port=0",
		"labeler.extraArgs={verbose}",
		"networkPolicy.schedulerIPBlocks={10.0.0.1}",
		"policy=hello",
	} {
		t.Run(set, func(t *testing.T) {
			out, err := runHelm(t, "template", "rktsched", chartDir, "--set", set)
			if err == nil {
				t.Fatalf("helm template --set %s rendered:\n%.400s", set, out)
			}
			if !strings.Contains(err.Error(), "schema") {
				t.Errorf("refused, but not by the schema: %v", err)
			}
		})
	}
}

// TestChartDefaultPolicy: helm cannot read policy/default.yaml from outside the chart, so
// values.yaml carries a copy; it must be the built-in policy byte for byte, and reach the
// ConfigMap unchanged.
func TestChartDefaultPolicy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Policy string `json:"policy"`
	}
	if err := sigsyaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	if values.Policy != string(policy.DefaultDocument()) {
		t.Errorf("charts/rktsched/values.yaml policy differs from policy/default.yaml:\n%s",
			cmp.Diff(string(policy.DefaultDocument()), values.Policy))
	}
	cm, ok := byKey(render(t))["ConfigMap/rktsched-policy"]
	if !ok {
		t.Fatal("the chart renders no ConfigMap rktsched-policy")
	}
	got := cm["data"].(map[string]any)[policy.ConfigMapKey]
	if got != string(policy.DefaultDocument()) {
		t.Errorf("rendered ConfigMap key %s is not policy/default.yaml:\n%s", policy.ConfigMapKey,
			cmp.Diff(string(policy.DefaultDocument()), got))
	}
}

// TestChartMatchesManifests: installed with the chart or with manifests/, rktsched gets the
// same RBAC rules and bindings and runs with the same commands and arguments.
func TestChartMatchesManifests(t *testing.T) {
	chart := byKey(render(t))
	shipped := byKey(shippedManifests(t, filepath.Join(repoRoot, "manifests")))
	compared := 0
	for key, want := range shipped {
		got, ok := chart[key]
		kind := want.kind()
		switch kind {
		case "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding", "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "ConfigMap":
			if !ok {
				t.Errorf("manifests/ has %s, the chart does not", key)
				continue
			}
		default:
			continue
		}
		compared++
		switch kind {
		case "ClusterRole", "Role":
			if diff := cmp.Diff(want["rules"], got["rules"]); diff != "" {
				t.Errorf("%s rules differ (-manifests +chart):\n%s", key, diff)
			}
		case "ClusterRoleBinding", "RoleBinding":
			for _, field := range []string{"roleRef", "subjects"} {
				if diff := cmp.Diff(want[field], got[field]); diff != "" {
					t.Errorf("%s %s differ (-manifests +chart):\n%s", key, field, diff)
				}
			}
		case "Deployment":
			if diff := cmp.Diff(containerCommands(want), containerCommands(got)); diff != "" {
				t.Errorf("%s containers' command and args differ (-manifests +chart):\n%s", key, diff)
			}
			spec := podSpec(got)
			if spec["priorityClassName"] != "system-cluster-critical" {
				t.Errorf("%s priorityClassName = %v, want system-cluster-critical", key, spec["priorityClassName"])
			}
			if diff := cmp.Diff(podSpec(want)["securityContext"], spec["securityContext"]); diff != "" {
				t.Errorf("%s pod securityContext differs (-manifests +chart):\n%s", key, diff)
			}
		}
	}
	if compared < 12 {
		t.Errorf("compared %d objects, want at least the 12 RBAC objects and Deployments", compared)
	}
	ext := podSpec(chart["Deployment/rktsched-extender"])
	if tsc, _ := ext["topologySpreadConstraints"].([]any); len(tsc) == 0 {
		t.Error("the extender Deployment has no topologySpreadConstraints")
	}
}

// TestChartSidecarMode: no extender Deployment, Service or PDB, and kube-scheduler's user
// gets exactly what manifests/sidecar/rbac.yaml gives it.
func TestChartSidecarMode(t *testing.T) {
	chart := byKey(render(t, "extender.mode=sidecar"))
	for _, key := range []string{"Deployment/rktsched-extender", "Service/rktsched-extender", "PodDisruptionBudget/rktsched-extender", "ServiceAccount/rktsched-extender", "ClusterRoleBinding/rktsched-extender"} {
		if _, ok := chart[key]; ok {
			t.Errorf("sidecar mode renders %s", key)
		}
	}
	data, err := os.ReadFile(filepath.Join(repoRoot, "manifests", "sidecar", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := byKey(parseObjects(t, "sidecar/rbac.yaml", data))
	for key, w := range want {
		got, ok := chart[key]
		if !ok {
			t.Errorf("sidecar mode renders no %s", key)
			continue
		}
		for _, field := range []string{"roleRef", "subjects"} {
			if diff := cmp.Diff(w[field], got[field]); diff != "" {
				t.Errorf("%s %s differ (-manifests/sidecar +chart):\n%s", key, field, diff)
			}
		}
	}
	if _, ok := chart["Role/rktsched-extender"]; !ok {
		t.Error("sidecar mode renders no Role rktsched-extender for the RoleBinding")
	}
}

// TestChartOptionalParts: NetworkPolicy, PodMonitor and ServiceMonitor only when asked for;
// the image by digest when one is given.
func TestChartOptionalParts(t *testing.T) {
	off := byKey(render(t))
	on := byKey(render(t, chartValueSets["everything on"]...))
	for _, key := range []string{"NetworkPolicy/rktsched-extender", "PodMonitor/rktsched", "ServiceMonitor/rktsched-extender"} {
		if _, ok := off[key]; ok {
			t.Errorf("defaults render %s", key)
		}
		if _, ok := on[key]; !ok {
			t.Errorf("with everything on, no %s", key)
		}
	}
	np := on["NetworkPolicy/rktsched-extender"]
	peers, _ := np["spec"].(map[string]any)["ingress"].([]any)[0].(map[string]any)["from"].([]any)
	var sawIPBlock bool
	for _, p := range peers {
		if b, ok := p.(map[string]any)["ipBlock"]; ok && b.(map[string]any)["cidr"] == "10.0.0.0/24" {
			sawIPBlock = true
		}
	}
	if len(peers) != 2 || !sawIPBlock {
		t.Errorf("NetworkPolicy peers = %v, want the kube-scheduler pod selector and ipBlock 10.0.0.0/24", peers)
	}
	for _, d := range []string{"Deployment/rktsched-extender", "Deployment/rktsched-labeler"} {
		image := podSpec(on[d])["containers"].([]any)[0].(map[string]any)["image"]
		if want := "rktsched.io/rktsched@sha256:" + strings.Repeat("a", 64); image != want {
			t.Errorf("%s image = %v, want %s", d, image, want)
		}
		image = podSpec(off[d])["containers"].([]any)[0].(map[string]any)["image"]
		if image != "rktsched.io/rktsched:latest" {
			t.Errorf("%s default image = %v, want rktsched.io/rktsched:latest (what manifests/ and make image use)", d, image)
		}
	}
}

func podSpec(deployment object) map[string]any {
	spec, _ := deployment["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	ps, _ := tmpl["spec"].(map[string]any)
	return ps
}

// containerCommands is each container's name, command and args.
func containerCommands(deployment object) map[string][]any {
	out := map[string][]any{}
	containers, _ := podSpec(deployment)["containers"].([]any)
	for _, c := range containers {
		c := c.(map[string]any)
		out[c["name"].(string)] = []any{c["command"], c["args"]}
	}
	return out
}
