package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/extender"
	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/nodeselect"
	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/policy"
)

// TestExplainAgreesWithExtender is the property that makes explain worth reading: for the
// same pod, nodes and policy, `explain -o json` says a node fits exactly when the extender's
// filter passes it, gives the very bytes of the extender's reason for every node it refuses,
// and the scores of its prioritize answer (made relative as the extender sends them). It
// lists a node under nodes exactly when the pod's nodeSelector and required node affinity
// select it with the labels the policy makes (explain --policy previews the policy:
// nodeselect.Labelled), under notSelected otherwise, and says the pod fits exactly when the
// extender passes one of those: kube-scheduler's NodeAffinity filter runs first and asks the
// extender about no other. Pods: every test pod of the repository, the CLI's test pods, and 150
// random ones (some with a nodeSelector or node affinity); nodes: the e2e cluster's as the
// labeler leaves them, and realistic ones, half of them labelled; policies: the built-in and
// two edits.
func TestExplainAgreesWithExtender(t *testing.T) {
	dir := t.TempDir()
	nodes := agreementNodes(t)
	nodesFile := filepath.Join(dir, "nodes.json")
	writeJSON(t, nodesFile, &v1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"}, Items: derefNodes(nodes)})

	policies := map[string][]byte{
		"built-in": policy.DefaultDocument(),
		"edited":   []byte(readFile(t, "testdata/edited-policy.yaml")),
		"scored":   scoredPolicy(t),
	}
	pods := agreementPods(t)
	for pname, doc := range policies {
		p, err := policy.Parse(doc)
		if err != nil {
			t.Fatal(err)
		}
		policyFile := filepath.Join(dir, pname+".yaml")
		if err := os.WriteFile(policyFile, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		srv := newExtender(t, p)
		for _, pod := range pods {
			podJSON, err := json.Marshal(pod)
			if err != nil {
				t.Fatal(err)
			}
			r := runOffline(t, string(podJSON), "explain", "-f", "-", "--nodes", nodesFile, "--policy", policyFile, "-o", "json")
			if r.code != ExitOK && r.code != ExitNo {
				t.Fatalf("policy %s pod %s: %s", pname, pod.Name, r)
			}
			var e explain.Explanation
			if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
				t.Fatalf("policy %s pod %s: %v\n%s", pname, pod.Name, err, r.stdout)
			}
			if (r.code == ExitOK) != e.Fits {
				t.Errorf("policy %s pod %s: exit %d with fits %v", pname, pod.Name, r.code, e.Fits)
			}
			checkAgreement(t, fmt.Sprintf("policy %s pod %s", pname, pod.Name), srv, pod, nodes, nodeselect.Labelled(p, nodes), &e)
		}
	}
}

// checkAgreement checks e against the extender's answers for pod on nodes, whose labels are
// labelled's once the policy is applied.
func checkAgreement(t *testing.T, what string, srv *httptest.Server, pod *v1.Pod, nodes, labelled []*v1.Node, e *explain.Explanation) {
	t.Helper()
	list := &v1.NodeList{Items: derefNodes(nodes)}
	var filtered extenderv1.ExtenderFilterResult
	post(t, srv, "/filter", &extenderv1.ExtenderArgs{Pod: pod, Nodes: list}, &filtered)
	if filtered.Error != "" || len(filtered.FailedNodes) > 0 {
		t.Fatalf("%s: extender error %q, failed nodes %v", what, filtered.Error, filtered.FailedNodes)
	}
	passed := map[string]bool{}
	if filtered.Nodes != nil {
		for _, n := range filtered.Nodes.Items {
			passed[n.Name] = true
		}
	}
	// What explain says of each node, against what the extender answered.
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	selected := map[string]bool{}
	anySelectedPassed := false
	for i, n := range nodes {
		ok, err := required.Match(labelled[i])
		selected[n.Name] = ok && err == nil
		anySelectedPassed = anySelectedPassed || selected[n.Name] && passed[n.Name]
	}
	scoreOf := map[string]int64{}
	seen := 0
	fits := false
	for _, c := range e.Classes {
		for _, n := range c.NotSelected {
			if selected[n] {
				t.Errorf("%s: explain says the pod's nodeSelector/affinity leaves out %s, it selects it", what, n)
			}
		}
		for _, n := range c.Nodes {
			if !selected[n] {
				t.Errorf("%s: explain counts %s, which the pod's nodeSelector/affinity leaves out", what, n)
			}
		}
		for _, n := range slices.Concat(c.Nodes, c.NotSelected) {
			seen++
			scoreOf[n] = c.Score
			reason, refused := filtered.FailedAndUnresolvableNodes[n]
			switch {
			case c.Fits && !passed[n]:
				t.Errorf("%s: explain says %s (%s) fits, the extender refuses it: %q", what, n, c.Class, reason)
			case !c.Fits && !refused:
				t.Errorf("%s: explain refuses %s (%s) with %q, the extender passes it", what, n, c.Class, c.Reason)
			case !c.Fits && reason != c.Reason:
				t.Errorf("%s: node %s: explain's reason %q, the extender's %q", what, n, c.Reason, reason)
			}
		}
		fits = fits || c.Fits && len(c.Nodes) > 0
	}
	if seen != len(nodes) {
		t.Errorf("%s: explain lists %d nodes, the dump has %d", what, seen, len(nodes))
	}
	if fits != e.Fits {
		t.Errorf("%s: fits %v, but the classes say %v", what, e.Fits, fits)
	}
	if e.Fits != anySelectedPassed {
		t.Errorf("%s: fits %v, but the extender passes a node the pod's nodeSelector/affinity selects: %v", what, e.Fits, anySelectedPassed)
	}
	if (e.NodeSelection != "") != (nodeselect.Of(pod) != nil) {
		t.Errorf("%s: nodeSelection %q for a pod with nodeSelector %v, affinity %v", what, e.NodeSelection, pod.Spec.NodeSelector, pod.Spec.Affinity)
	}
	// Prioritize: scores less the lowest, nodes at 0 not listed.
	var prio extenderv1.HostPriorityList
	post(t, srv, "/prioritize", &extenderv1.ExtenderArgs{Pod: pod, Nodes: list}, &prio)
	lowest := int64(policy.MaxScore)
	for _, s := range scoreOf {
		lowest = min(lowest, s)
	}
	want := map[string]int64{}
	for n, s := range scoreOf {
		if s-lowest != 0 {
			want[n] = s - lowest
		}
	}
	got := map[string]int64{}
	for _, hp := range prio {
		got[hp.Host] = hp.Score
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: explain's scores made relative vs the extender's prioritize (-explain +extender):\n%s", what, diff)
	}
}

// newExtender serves a standalone extender (full Nodes in the requests) with policy p.
func newExtender(t *testing.T, p *policy.Policy) *httptest.Server {
	t.Helper()
	s, err := extender.New(extender.Config{Policy: policy.NewStore(p), PodCacheTTL: time.Minute, MaxBodyBytes: 64 << 20, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, path string, in, out any) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Post(srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func derefNodes(nodes []*v1.Node) []v1.Node {
	out := make([]v1.Node, len(nodes))
	for i, n := range nodes {
		out[i] = *n
	}
	return out
}

// agreementNodes are the e2e cluster's nodes as the labeler leaves them, realistic ones of
// every class (the even ones labelled by the built-in policy, the odd ones not yet), and a
// containerd node.
func agreementNodes(t *testing.T) []*v1.Node {
	t.Helper()
	dump, _, err := load.Nodes([]byte(readFile(t, "testdata/nodes-labelled.yaml")), "nodes-labelled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nodes := dump.Nodes
	for i := range 12 {
		n := prodlike.Node(i)
		if i%4 < 2 {
			maps.Copy(n.Labels, policy.Default().Profile(n).Labels())
		}
		nodes = append(nodes, n)
	}
	nodes = append(nodes, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "containerd-1"},
		Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://2.1.0"}}})
	return nodes
}

// scoredPolicy is the built-in policy with init-containers and gpu scored, not filtered.
func scoredPolicy(t *testing.T) []byte {
	t.Helper()
	doc := string(policy.DefaultDocument())
	for _, c := range []string{"init-containers", "gpu"} {
		re := regexp.MustCompile(`(?m)^(  ` + c + `:\s*)\{action: filter, weight: 5\}`)
		if len(re.FindAllString(doc, -1)) != 1 {
			t.Fatalf("policy/default.yaml no longer sets %s to filter with weight 5 once", c)
		}
		doc = re.ReplaceAllString(doc, "${1}{action: score, weight: 4}")
	}
	return []byte(doc)
}

// agreementPods are the repository's test pods, the CLI's, and random ones.
func agreementPods(t *testing.T) []*v1.Pod {
	t.Helper()
	var pods []*v1.Pod
	paths, err := filepath.Glob("../../test/testdata/pods/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no test pods: %v", err)
	}
	paths = append(paths, "testdata/mount-dne.yaml", "testdata/host-ipc-pid.yaml", "testdata/init-containers.yaml",
		"testdata/affinity.yaml", "testdata/no-matching-node.yaml")
	for _, path := range paths {
		var pod v1.Pod
		if err := yaml.UnmarshalStrict([]byte(readFile(t, path)), &pod); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pod.Namespace = "default"
		pods = append(pods, &pod)
	}
	rng := rand.New(rand.NewPCG(15, 18))
	for i := range 150 {
		pods = append(pods, randomPod(rng, i))
	}
	sort.SliceStable(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods
}

// randomPod combines the features the analysis looks at.
func randomPod(rng *rand.Rand, i int) *v1.Pod {
	p := &v1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("random-%03d", i), Namespace: "default", UID: types.UID(fmt.Sprintf("uid-random-%d", i)), ResourceVersion: "1"},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "main", Image: []string{"busybox", "busybox:1.36", "busybox:latest", "busybox@sha256:abc"}[rng.IntN(4)]}}},
	}
	c := &p.Spec.Containers[0]
	coin := func() bool { return rng.IntN(4) == 0 }
	if coin() {
		p.Spec.InitContainers = []v1.Container{{Name: "init", Image: "busybox:1.36"}}
	}
	p.Spec.HostIPC, p.Spec.HostPID, p.Spec.HostNetwork = coin(), coin(), coin()
	c.Stdin, c.TTY = coin(), coin()
	p.Spec.RestartPolicy = []v1.RestartPolicy{"", v1.RestartPolicyAlways, v1.RestartPolicyOnFailure, v1.RestartPolicyNever}[rng.IntN(4)]
	if coin() {
		c.Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	}
	if coin() {
		rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
		c.Resources = v1.ResourceRequirements{Limits: rl, Requests: rl}
	}
	if coin() {
		p.Spec.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: []string{"/etc", "/data/x"}[rng.IntN(2)]}}}}
		c.VolumeMounts = []v1.VolumeMount{{Name: "v", MountPath: "/v"}}
	} else if coin() {
		p.Spec.Volumes = []v1.Volume{{Name: "v", VolumeSource: v1.VolumeSource{EmptyDir: &v1.EmptyDirVolumeSource{}}}}
		c.VolumeMounts = []v1.VolumeMount{{Name: "v", MountPath: "/v", SubPath: "sub"}}
	}
	if coin() {
		p.Annotations = map[string]string{policy.AnnotationNeeds: []string{"port-forward", "stdout-logs", "image-update-in-place", "port-forward,typo"}[rng.IntN(4)]}
	}
	if coin() {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[policy.AnnotationStage1Override] = []string{"coreos.com/rkt/stage1-fly:1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0"}[rng.IntN(2)]
	}
	switch rng.IntN(6) {
	case 0:
		p.Spec.NodeSelector = map[string]string{policy.LabelRuntime: []string{"rkt", "docker"}[rng.IntN(2)]}
	case 1:
		p.Spec.NodeSelector = map[string]string{policy.LabelStage1: []string{"coreos", "kvm", "fly"}[rng.IntN(3)]}
	case 2:
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{
				{MatchExpressions: []v1.NodeSelectorRequirement{{Key: policy.CapabilityLabel(policy.Attach), Operator: v1.NodeSelectorOpNotIn, Values: []string{"false"}}}},
				{MatchFields: []v1.NodeSelectorRequirement{{Key: "metadata.name", Operator: v1.NodeSelectorOpIn, Values: []string{"rkt-fly-1"}}}},
			},
		}}}
	}
	return p
}
