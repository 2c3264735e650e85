package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/policydiff"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
)

// fakeCluster holds the nodes of testdata/nodes.yaml, the policy ConfigMap (doc, or none
// when nil) and objs.
func fakeCluster(t *testing.T, doc []byte, objs ...runtime.Object) func() (kubernetes.Interface, error) {
	t.Helper()
	nodesDump, _, err := load.Nodes([]byte(readFile(t, "testdata/nodes.yaml")), "nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nodes := nodesDump.Nodes
	for _, n := range nodes {
		objs = append(objs, n)
	}
	if doc != nil {
		objs = append(objs, &v1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: policysource.DefaultNamespace, Name: policysource.DefaultName},
			Data:       map[string]string{policy.ConfigMapKey: string(doc)},
		})
	}
	client := fake.NewClientset(objs...)
	return func() (kubernetes.Interface, error) { return client, nil }
}

func livePod(ns, name, node string, annotations map[string]string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Spec:       v1.PodSpec{NodeName: node, Containers: []v1.Container{{Name: "main", Image: "busybox:1.36"}}},
		Status:     v1.PodStatus{Phase: v1.PodPending},
	}
}

func TestExplainLive(t *testing.T) {
	edited := []byte(readFile(t, "testdata/edited-policy.yaml"))
	typo := livePod("apps", "typo", "", map[string]string{policy.AnnotationNeeds: "nope"})
	tunnel := livePod("apps", "tunnel", "", map[string]string{policy.AnnotationNeeds: "port-forward"})
	placed := livePod("apps", "placed", "docker-1", map[string]string{policy.AnnotationNeeds: "port-forward"})
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec: appsv1.DeploymentSpec{Template: v1.PodTemplateSpec{Spec: v1.PodSpec{
			InitContainers: []v1.Container{{Name: "setup", Image: "busybox:1.36"}},
			Containers:     []v1.Container{{Name: "main", Image: "busybox:1.36"}}}}}}
	client := fakeCluster(t, edited, typo, tunnel, placed, deploy)

	// The pod, the nodes and the policy (edited: coreos lacks port-forward) from the cluster.
	r := runWith(t, client, "", "explain", "pod/tunnel", "-n", "apps", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("explain pod/tunnel: %s", r)
	}
	var e explain.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatal(err)
	}
	refused := map[string][]string{}
	for _, c := range e.Classes {
		if !c.Fits {
			refused[c.Reason] = c.Nodes
		}
	}
	want := map[string][]string{
		"rkt stage1-coreos lacks port-forward":                   {"rkt-coreos-1", "rkt-coreos-2"},
		"rkt stage1-kvm lacks port-forward":                      {"rkt-kvm-1"},
		"rkt stage1-fly lacks port-forward, namespace-isolation": {"rkt-fly-1"},
	}
	if diff := cmp.Diff(want, refused); diff != "" {
		t.Errorf("explain pod/tunnel under the live policy (-want +got):\n%s", diff)
	}
	if e.PolicyDigest == policy.Default().Digest() {
		t.Error("explain used the built-in policy, not the ConfigMap's")
	}

	// TYPE alone: the Pending pods of the namespace (not the placed one); one fits nowhere.
	r = runWith(t, client, "", "explain", "pods", "-n", "apps")
	if r.code != ExitNo || !strings.Contains(r.stdout, "Pod apps/typo") || !strings.Contains(r.stdout, "Pod apps/tunnel") || strings.Contains(r.stdout, "apps/placed") {
		t.Errorf("explain pods: want typo and tunnel, not placed, exit 1:\n%s", r)
	}
	// A Deployment's template; --per-class keeps the cluster's nodes out.
	r = runWith(t, client, "", "explain", "deployment", "web", "-n", "apps", "--per-class", "-o", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"kind": "Deployment"`) || !strings.Contains(r.stdout, `"perClass": true`) {
		t.Errorf("explain deployment web --per-class:\n%s", r)
	}
	r = runWith(t, client, "", "explain", "pod/missing", "-n", "apps")
	if r.code != ExitError || !strings.Contains(r.stderr, "not found") {
		t.Errorf("explain pod/missing: want exit 3 and not found:\n%s", r)
	}
	r = runWith(t, client, "", "explain", "widget/x")
	if r.code != ExitUsage {
		t.Errorf("explain widget/x: want exit 2:\n%s", r)
	}
}

func TestPolicyFromTheCluster(t *testing.T) {
	pod := []string{"explain", "-f", "testdata/init-containers.yaml", "-o", "json"}
	// No ConfigMap: the built-in policy, as the binaries do.
	r := runWith(t, fakeCluster(t, nil), "", pod...)
	if r.code != ExitOK || !strings.Contains(r.stdout, policy.Default().Digest()) {
		t.Errorf("without the ConfigMap, want the built-in policy:\n%s", r)
	}
	// A broken ConfigMap: an error naming the line, not a guess at what is in force.
	r = runWith(t, fakeCluster(t, []byte(readFile(t, "testdata/bad-policy.yaml"))), "", pod...)
	if r.code != ExitError || !strings.Contains(r.stderr, "policy document line 5") || !strings.Contains(r.stderr, "last good policy") {
		t.Errorf("with a broken ConfigMap, want exit 3 naming the line:\n%s", r)
	}
	r = runWith(t, fakeCluster(t, []byte(readFile(t, "testdata/bad-policy.yaml"))), "", "validate")
	if r.code != ExitNo || !strings.Contains(r.stdout, "ConfigMap rktsched-system/rktsched-policy key policy.yaml: invalid: policy document line 5") {
		t.Errorf("validate of the live ConfigMap:\n%s", r)
	}
	r = runWith(t, fakeCluster(t, policy.DefaultDocument()), "", "validate", "-o", "json")
	if r.code != ExitOK || !strings.Contains(r.stdout, `"valid": true`) {
		t.Errorf("validate of the live ConfigMap:\n%s", r)
	}
}

func TestDiffLive(t *testing.T) {
	running := livePod("web", "debug", "rkt-coreos-1", map[string]string{policy.AnnotationNeeds: "port-forward"})
	running.Status.Phase = v1.PodRunning
	other := livePod("other", "debug", "rkt-coreos-2", map[string]string{policy.AnnotationNeeds: "port-forward"})
	other.Status.Phase = v1.PodRunning
	client := fakeCluster(t, policy.DefaultDocument(), running, other)
	r := runWith(t, client, "", "diff", "--policy", "testdata/edited-policy.yaml", "-o", "json")
	if r.code != ExitNo {
		t.Fatalf("diff: want exit 1:\n%s", r)
	}
	var got policydiff.Result
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := []policydiff.PodChange{
		{Pod: "other/debug", Node: "rkt-coreos-2", Reason: "rkt stage1-coreos lacks port-forward"},
		{Pod: "web/debug", Node: "rkt-coreos-1", Reason: "rkt stage1-coreos lacks port-forward"},
	}
	if diff := cmp.Diff(want, got.Stranded); diff != "" {
		t.Errorf("stranded (-want +got):\n%s", diff)
	}
	// -n narrows the pods.
	r = runWith(t, client, "", "diff", "--policy", "testdata/edited-policy.yaml", "-n", "web", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Stranded) != 1 || got.Pods != 1 {
		t.Errorf("diff -n web: %d pods, stranded %v", got.Pods, got.Stranded)
	}
}

// The old policy is the live ConfigMap that --policy-configmap-namespace and -name say: here
// one already holding the new policy, so nothing is stranded.
func TestDiffLiveConfigMapElsewhere(t *testing.T) {
	running := livePod("web", "debug", "rkt-coreos-1", map[string]string{policy.AnnotationNeeds: "port-forward"})
	running.Status.Phase = v1.PodRunning
	edited := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ops", Name: "edited"},
		Data:       map[string]string{policy.ConfigMapKey: readFile(t, "testdata/edited-policy.yaml")},
	}
	client := fakeCluster(t, policy.DefaultDocument(), running, edited)
	r := runWith(t, client, "", "diff", "--policy", "testdata/edited-policy.yaml",
		"--policy-configmap-namespace", "ops", "--policy-configmap-name", "edited", "-o", "json")
	if r.code != ExitOK {
		t.Fatalf("diff against the ConfigMap that holds the new policy: want exit 0:\n%s", r)
	}
	var got policydiff.Result
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Stranded) != 0 || got.Pods != 1 {
		t.Errorf("diff: %d pods, stranded %v; want 1 pod, none stranded", got.Pods, got.Stranded)
	}
}
