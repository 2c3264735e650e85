package manifests

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

// Value sets the chart is linted and rendered with (and, in the e2e, server-dry-run): the
// defaults, every optional part on, and each other way in.
var chartValueSets = map[string][]string{
	"defaults": nil,
	"everything on": {
		"networkPolicy.enabled=true", "networkPolicy.schedulerIPBlocks={10.0.0.0/24}",
		"monitoring.podMonitor.enabled=true", "monitoring.serviceMonitor.enabled=true",
		"image.digest=sha256:" + strings.Repeat("a", 64),
		"scheduler.enabled=true", "scheduler.image.digest=sha256:" + strings.Repeat("b", 64),
	},
	"sidecar":          {"extender.mode=sidecar"},
	"second scheduler": {"scheduler.enabled=true"},
	"scheduler alone":  {"scheduler.enabled=true", "extender.enabled=false", "labeler.enabled=false"},
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
		"scheduler.enabled=yes",
		"scheduler.image.digest=latest",
		"scheduler.image.repository=",
		"scheduler.extraArgs={v=4}",
		"scheduler.replicas=-1",
		"scheduler.schedulerName=other",
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
	shipped := shippedManifests(t, filepath.Join(repoRoot, "manifests"))
	if compared := compareWithManifests(t, chart, shipped, false); compared < 12 {
		t.Errorf("compared %d objects, want at least the 12 RBAC objects and Deployments", compared)
	}
	ext := podSpec(chart["Deployment/rktsched-extender"])
	if tsc, _ := ext["topologySpreadConstraints"].([]any); len(tsc) == 0 {
		t.Error("the extender Deployment has no topologySpreadConstraints")
	}
	for _, key := range []string{"Deployment/rktsched-scheduler", "ConfigMap/rktsched-scheduler-config", "ServiceAccount/rktsched-scheduler", "ClusterRoleBinding/rktsched-scheduler-as-kube-scheduler"} {
		if _, ok := chart[key]; ok {
			t.Errorf("defaults render %s: scheduler.enabled is false by default", key)
		}
	}
}

// TestChartSecondScheduler: with scheduler.enabled, the chart installs what
// manifests/second-scheduler does: the same RBAC in the same namespaces, the Deployment's
// command, arguments, probes and config mount, and the same KubeSchedulerConfiguration.
func TestChartSecondScheduler(t *testing.T) {
	chart := byKey(render(t, "scheduler.enabled=true"))
	dir := filepath.Join(repoRoot, "manifests", "second-scheduler")
	// rbac.yaml (ServiceAccount, ClusterRole, 3 ClusterRoleBindings, Role, 2 RoleBindings),
	// deployment.yaml.
	if compared := compareWithManifests(t, chart, shippedManifests(t, dir), true); compared != 9 {
		t.Errorf("compared %d objects, want manifests/second-scheduler's 9 (RBAC and the Deployment)", compared)
	}

	want := podSpec(byKey(shippedManifests(t, dir))["Deployment/rktsched-scheduler"])
	got := podSpec(chart["Deployment/rktsched-scheduler"])
	if diff := cmp.Diff(want["volumes"], got["volumes"]); diff != "" {
		t.Errorf("volumes differ (-manifests/second-scheduler +chart):\n%s", diff)
	}
	wantC := want["containers"].([]any)[0].(map[string]any)
	gotC := got["containers"].([]any)[0].(map[string]any)
	for _, field := range []string{"ports", "livenessProbe", "readinessProbe", "volumeMounts", "resources", "securityContext", "imagePullPolicy"} {
		if diff := cmp.Diff(wantC[field], gotC[field]); diff != "" {
			t.Errorf("container %s differs (-manifests/second-scheduler +chart):\n%s", field, diff)
		}
	}
	// kustomization.yaml sets the tag (images: newTag) the chart defaults to.
	if gotC["image"] != "rktsched.io/rktsched-scheduler:latest" {
		t.Errorf("image = %v, want rktsched.io/rktsched-scheduler:latest (what manifests/second-scheduler and make image-scheduler use)", gotC["image"])
	}

	// The configuration: kustomize generates the ConfigMap from the file, the chart from a template.
	data, err := os.ReadFile(filepath.Join(dir, "rktsched-scheduler-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var wantCfg, gotCfg map[string]any
	if err := sigsyaml.UnmarshalStrict(data, &wantCfg); err != nil {
		t.Fatal(err)
	}
	cm, ok := chart["ConfigMap/rktsched-scheduler-config"]
	if !ok {
		t.Fatal("the chart renders no ConfigMap rktsched-scheduler-config")
	}
	// The key is the file name, which --config names under the mount path.
	text, _ := cm["data"].(map[string]any)["rktsched-scheduler-config.yaml"].(string)
	if err := sigsyaml.UnmarshalStrict([]byte(text), &gotCfg); err != nil {
		t.Fatalf("ConfigMap rktsched-scheduler-config key rktsched-scheduler-config.yaml: %v\n%s", err, text)
	}
	if diff := cmp.Diff(wantCfg, gotCfg); diff != "" {
		t.Errorf("KubeSchedulerConfiguration differs (-manifests/second-scheduler +chart):\n%s", diff)
	}
}

// TestChartSchedulerNamespace: installed in another namespace, the scheduler's Lease, policy
// ConfigMap, ServiceAccount and Role follow the release there; only the authentication
// reader's RoleBinding stays in kube-system.
func TestChartSchedulerNamespace(t *testing.T) {
	const ns = "sched-elsewhere"
	chart := byKey(renderIn(t, ns, "scheduler.enabled=true"))
	text, _ := chart["ConfigMap/rktsched-scheduler-config"]["data"].(map[string]any)["rktsched-scheduler-config.yaml"].(string)
	var cfg struct {
		LeaderElection map[string]any `json:"leaderElection"`
		Profiles       []struct {
			PluginConfig []struct {
				Args map[string]any `json:"args"`
			} `json:"pluginConfig"`
		} `json:"profiles"`
	}
	if err := sigsyaml.Unmarshal([]byte(text), &cfg); err != nil {
		t.Fatal(err)
	}
	if got := cfg.LeaderElection["resourceNamespace"]; got != ns {
		t.Errorf("Lease namespace %v, want %s", got, ns)
	}
	if len(cfg.Profiles) != 1 || len(cfg.Profiles[0].PluginConfig) != 1 {
		t.Fatalf("profiles %+v, want one with the Rktsched args", cfg.Profiles)
	}
	if got := cfg.Profiles[0].PluginConfig[0].Args["policyConfigMapNamespace"]; got != ns {
		t.Errorf("policyConfigMapNamespace %v, want %s", got, ns)
	}
	for key, wantNS := range map[string]string{
		"ServiceAccount/rktsched-scheduler":                                        ns,
		"Role/rktsched-scheduler":                                                  ns,
		"RoleBinding/rktsched-scheduler":                                           ns,
		"Deployment/rktsched-scheduler":                                            ns,
		"RoleBinding/rktsched-scheduler-extension-apiserver-authentication-reader": "kube-system",
	} {
		if got := namespace(chart[key]); got != wantNS {
			t.Errorf("%s in namespace %q, want %q", key, got, wantNS)
		}
	}
	for _, key := range []string{"ClusterRoleBinding/rktsched-scheduler", "ClusterRoleBinding/rktsched-scheduler-as-kube-scheduler", "RoleBinding/rktsched-scheduler-extension-apiserver-authentication-reader"} {
		subjects, _ := chart[key]["subjects"].([]any)
		if len(subjects) != 1 || subjects[0].(map[string]any)["namespace"] != ns {
			t.Errorf("%s subjects %v, want the ServiceAccount in %s", key, subjects, ns)
		}
	}
}

// TestChartSchedulerAlone: the second scheduler without the extender and the labeler is the
// scheduler, its RBAC and the policy ConfigMap it reads, and nothing else.
func TestChartSchedulerAlone(t *testing.T) {
	var got []string
	for _, o := range render(t, chartValueSets["scheduler alone"]...) {
		got = append(got, o.key())
	}
	slices.Sort(got)
	want := []string{
		"ClusterRole/rktsched-scheduler",
		"ClusterRoleBinding/rktsched-scheduler",
		"ClusterRoleBinding/rktsched-scheduler-as-kube-scheduler",
		"ClusterRoleBinding/rktsched-scheduler-as-volume-scheduler",
		"ConfigMap/rktsched-policy",
		"ConfigMap/rktsched-scheduler-config",
		"Deployment/rktsched-scheduler",
		"Role/rktsched-scheduler",
		"RoleBinding/rktsched-scheduler",
		"RoleBinding/rktsched-scheduler-extension-apiserver-authentication-reader",
		"ServiceAccount/rktsched-scheduler",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// compareWithManifests compares the chart's objects with the ones manifests/ (or a directory
// of it) ships: RBAC rules and bindings, and each Deployment's commands, arguments, pod
// securityContext and priority; with namespaces, also each object's namespace (the
// kustomize base sets it in kustomization.yaml, second-scheduler in every file). It returns
// how many objects it compared.
func compareWithManifests(t *testing.T, chart map[string]object, shipped []object, namespaces bool) int {
	t.Helper()
	compared := 0
	for key, want := range byKey(shipped) {
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
		if namespaces && namespace(want) != namespace(got) {
			t.Errorf("%s in namespace %q, manifests/ has %q", key, namespace(got), namespace(want))
		}
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
			if spec["serviceAccountName"] != podSpec(want)["serviceAccountName"] {
				t.Errorf("%s serviceAccountName = %v, manifests/ has %v", key, spec["serviceAccountName"], podSpec(want)["serviceAccountName"])
			}
			if diff := cmp.Diff(podSpec(want)["securityContext"], spec["securityContext"]); diff != "" {
				t.Errorf("%s pod securityContext differs (-manifests +chart):\n%s", key, diff)
			}
		}
	}
	return compared
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
	for _, key := range []string{"NetworkPolicy/rktsched-extender", "PodMonitor/rktsched", "ServiceMonitor/rktsched-extender", "Deployment/rktsched-scheduler"} {
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
	image := podSpec(on["Deployment/rktsched-scheduler"])["containers"].([]any)[0].(map[string]any)["image"]
	if want := "rktsched.io/rktsched-scheduler@sha256:" + strings.Repeat("b", 64); image != want {
		t.Errorf("Deployment/rktsched-scheduler image = %v, want %s", image, want)
	}
}

func namespace(o object) string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m["namespace"].(string)
	return s
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

// TestExtenderProbesNeedNoClientCertificate: in manifests/ and the chart alike, the
// extender serves its probes on --probe-address, and its liveness and readiness probes go
// there, so they keep working when --client-ca-file is added (issue 26, item 5).
func TestExtenderProbesNeedNoClientCertificate(t *testing.T) {
	sources := []struct {
		name string
		objs []object
		port float64
	}{
		{"manifests", shippedManifests(t, filepath.Join(repoRoot, "manifests")), 8081},
		{"chart", render(t), 8081},
		{"chart with extender.probePort=9000", render(t, "extender.probePort=9000"), 9000},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			d, ok := byKey(src.objs)["Deployment/rktsched-extender"]
			if !ok {
				t.Fatal("no extender Deployment")
			}
			c := podSpec(d)["containers"].([]any)[0].(map[string]any)
			args, _ := c["args"].([]any)
			wantArg := fmt.Sprintf("--probe-address=:%d", int(src.port))
			if !slices.Contains(args, any(wantArg)) {
				t.Errorf("args %v lack %s", args, wantArg)
			}
			var probesPort float64
			for _, p := range c["ports"].([]any) {
				if p := p.(map[string]any); p["name"] == "probes" {
					probesPort, _ = p["containerPort"].(float64)
				}
			}
			if probesPort != src.port {
				t.Errorf("containerPort probes = %v, want %v", probesPort, src.port)
			}
			for _, probe := range []string{"livenessProbe", "readinessProbe"} {
				p, _ := c[probe].(map[string]any)
				get, _ := p["httpGet"].(map[string]any)
				if get["port"] != "probes" || get["scheme"] == "HTTPS" {
					t.Errorf("%s %v: want plain HTTP on port probes", probe, get)
				}
			}
		})
	}
}
