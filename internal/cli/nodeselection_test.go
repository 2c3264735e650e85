package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/policydiff"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// testdata/nodes-labelled.yaml is testdata/nodes.yaml with the labels the labeler writes
// under the built-in policy, and nothing else of rktsched's.
func TestLabelledDump(t *testing.T) {
	labelledDump, _, err := load.Nodes([]byte(readFile(t, "testdata/nodes-labelled.yaml")), "nodes-labelled.yaml")
	if err != nil {
		t.Fatal(err)
	}
	labelled := labelledDump.Nodes
	plainDump, _, err := load.Nodes([]byte(readFile(t, "testdata/nodes.yaml")), "nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plain := plainDump.Nodes
	if len(labelled) != len(plain) {
		t.Fatalf("%d labelled nodes, %d plain", len(labelled), len(plain))
	}
	p := policy.Default()
	for i, n := range labelled {
		want := p.Profile(n).Labels()
		for k, v := range plain[i].Labels {
			if !strings.HasPrefix(k, "rktsched.io/") && !strings.HasPrefix(k, policy.CapabilityLabelPrefix) {
				want[k] = v
			}
		}
		if diff := cmp.Diff(want, n.Labels); diff != "" {
			t.Errorf("node %s: labels (-labeler +dump):\n%s", n.Name, diff)
		}
	}
}

// explainJSON runs explain -o json offline and decodes its one answer.
func explainJSON(t *testing.T, args ...string) (*explain.Explanation, int) {
	t.Helper()
	r := runOffline(t, "", append(append([]string{"explain"}, args...), "-o", "json")...)
	var e explain.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	return &e, r.code
}

// kube-scheduler applies a pod's nodeSelector and required node affinity before it asks
// rktsched: nodes they leave out make the pod fit nowhere, nor do their reasons count.
func TestExplainNodeSelection(t *testing.T) {
	const labelled = "testdata/nodes-labelled.yaml"
	tests := []struct {
		name      string
		args      []string
		code      int
		selection string
		// By class: the nodes counted and those left out.
		nodes, notSelected map[string][]string
		reasons            []string // of the classes with nodes counted
		tableHas           []string
	}{
		{
			name:        "gpu-on-rkt: its nodeSelector leaves out the docker nodes with GPUs",
			args:        []string{"-f", "../../test/testdata/pods/gpu-on-rkt.yaml", "--builtin-policy", "--nodes", labelled},
			code:        ExitNo,
			selection:   "nodeSelector rktsched.io/runtime=rkt",
			nodes:       map[string][]string{"docker": {}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {"rkt-kvm-1"}, "rkt stage1-fly": {"rkt-fly-1"}},
			notSelected: map[string][]string{"docker": {"docker-1", "docker-gpu-1"}},
			reasons:     []string{"rkt stage1-coreos lacks gpu", "rkt stage1-kvm lacks gpu", "rkt stage1-fly lacks gpu, namespace-isolation"},
			tableHas: []string{"fits: no node of the 4 selected\n",
				"nodeSelector/affinity: 4 of 6 nodes selected (nodeSelector rktsched.io/runtime=rkt); kube-scheduler does not ask rktsched about the other 2\n",
				"reason (rkt stage1-coreos): rkt stage1-coreos lacks gpu\n",
				"or run the pod on nodes of docker (2 nodes, left out by its nodeSelector/affinity), or add nodes of containerd, cri-o, unknown;"},
		},
		{
			name:        "required node affinity, two terms",
			args:        []string{"-f", "testdata/affinity.yaml", "--builtin-policy", "--nodes", labelled},
			code:        ExitNo,
			selection:   "required node affinity rktsched.io/runtime In [rkt], rktsched.io/stage1 In [coreos, kvm] or metadata.name In [rkt-fly-1]",
			nodes:       map[string][]string{"docker": {}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {"rkt-kvm-1"}, "rkt stage1-fly": {"rkt-fly-1"}},
			notSelected: map[string][]string{"docker": {"docker-1", "docker-gpu-1"}},
			reasons:     []string{"rkt stage1-coreos lacks init-containers", "rkt stage1-kvm lacks init-containers", "rkt stage1-fly lacks init-containers, namespace-isolation"},
			tableHas:    []string{"fits: no node of the 4 selected\n", "nodeSelector/affinity: 4 of 6 nodes selected (required node affinity "},
		},
		{
			name:        "a nodeSelector no node matches",
			args:        []string{"-f", "testdata/no-matching-node.yaml", "--builtin-policy", "--nodes", labelled},
			code:        ExitNo,
			selection:   "nodeSelector disktype=ssd",
			nodes:       map[string][]string{"docker": {}, "rkt stage1-coreos": {}, "rkt stage1-kvm": {}, "rkt stage1-fly": {}},
			notSelected: map[string][]string{"docker": {"docker-1", "docker-gpu-1"}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {"rkt-kvm-1"}, "rkt stage1-fly": {"rkt-fly-1"}},
			tableHas: []string{"fits: no node: the pod's nodeSelector/affinity selects none of the 6 (rktsched is never asked)\n",
				"nodeSelector/affinity: 0 of 6 nodes selected (nodeSelector disktype=ssd)\n",
				"fix: nodeSelector/affinity: selects none of the 6 nodes (nodeSelector disktype=ssd): change it, or label nodes to match\n"},
		},
		{
			name:      "a nodeSelector that picks a node the pod fits",
			args:      []string{"-f", "../../test/testdata/pods/stage1-override.yaml", "--builtin-policy", "--nodes", labelled},
			code:      ExitOK,
			selection: "nodeSelector rktsched.io/stage1=kvm",
			nodes:     map[string][]string{"docker": {}, "rkt stage1-coreos": {}, "rkt stage1-kvm": {"rkt-kvm-1"}, "rkt stage1-fly": {}},
			notSelected: map[string][]string{"docker": {"docker-1", "docker-gpu-1"}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"},
				"rkt stage1-fly": {"rkt-fly-1"}},
			tableHas: []string{"fits: yes, on 1 of the 1 selected nodes (rkt stage1-kvm)\n"},
		},
		{
			name:      "per class, the nodeSelector is not applied",
			args:      []string{"-f", "../../test/testdata/pods/gpu-on-rkt.yaml", "--builtin-policy"},
			code:      ExitOK,
			selection: "nodeSelector rktsched.io/runtime=rkt",
			reasons:   []string{"rkt stage1-coreos lacks gpu", "rkt stage1-kvm lacks gpu", "rkt stage1-fly lacks gpu, namespace-isolation"},
			tableHas:  []string{"nodeSelector/affinity: not applied, judged per class (classes have no labels): nodeSelector rktsched.io/runtime=rkt\n"},
		},
		{
			name:     "no nodeSelector: nothing left out, nothing said",
			args:     []string{"-f", "testdata/host-ipc-pid.yaml", "--builtin-policy", "--nodes", labelled},
			code:     ExitOK,
			nodes:    map[string][]string{"docker": {"docker-1", "docker-gpu-1"}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {"rkt-kvm-1"}, "rkt stage1-fly": {"rkt-fly-1"}},
			reasons:  []string{"rkt stage1-coreos lacks host-ipc, host-pid", "rkt stage1-kvm lacks host-ipc, host-pid"},
			tableHas: []string{"fits: yes, on 3 of 6 nodes (docker, rkt stage1-fly)\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, code := explainJSON(t, tt.args...)
			if code != tt.code || e.Fits != (tt.code == ExitOK) {
				t.Errorf("exit %d with fits %v, want exit %d", code, e.Fits, tt.code)
			}
			if e.NodeSelection != tt.selection {
				t.Errorf("nodeSelection %q, want %q", e.NodeSelection, tt.selection)
			}
			nodes, notSelected := map[string][]string{}, map[string][]string{}
			var reasons []string
			for _, c := range e.Classes {
				if !e.PerClass {
					nodes[c.Class] = c.Nodes
				}
				if c.NotSelected != nil {
					notSelected[c.Class] = c.NotSelected
				}
				if c.Reason != "" && (e.PerClass || len(c.Nodes) > 0) {
					reasons = append(reasons, c.Reason)
				}
			}
			if tt.nodes == nil {
				tt.nodes = map[string][]string{}
			}
			if tt.notSelected == nil {
				tt.notSelected = map[string][]string{}
			}
			if diff := cmp.Diff(tt.nodes, nodes); diff != "" {
				t.Errorf("nodes by class (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notSelected, notSelected); diff != "" {
				t.Errorf("nodes not selected by class (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons of the classes asked about (-want +got):\n%s", diff)
			}
			table := runOffline(t, "", append([]string{"explain"}, tt.args...)...)
			for _, s := range tt.tableHas {
				if !strings.Contains(table.stdout, s) {
					t.Errorf("the table lacks %q:\n%s", s, table.stdout)
				}
			}
			// The reasons printed are those of the classes kube-scheduler asks about.
			for line := range strings.Lines(table.stdout) {
				if r, ok := strings.CutPrefix(line, "reason ("); ok {
					_, r, _ = strings.Cut(r, "): ")
					if !slices.Contains(tt.reasons, strings.TrimSuffix(r, "\n")) {
						t.Errorf("the table gives a reason of no class asked about: %q", line)
					}
				}
			}
		})
	}
}

// TestPreviewSelectsOnTheNewLabels: diff and explain --policy match Pending pods' selectors
// against the labels the policy they preview makes, not the nodes' labels of today (issue
// 26, item 7): a policy that drops port-forward takes capability.rktsched.io/port-forward
// off every node, and a pod selecting it fits nowhere after the edit.
func TestPreviewSelectsOnTheNewLabels(t *testing.T) {
	dir := t.TempDir()
	noPortForward := filepath.Join(dir, "no-port-forward.yaml")
	doc := policytest.EditDefault(t, "  port-forward:          {action: filter, weight: 5}\n", "")
	if err := os.WriteFile(noPortForward, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	const selects = "nodeSelector capability.rktsched.io/port-forward=true"
	pod := func(name string, selector map[string]string) v1.Pod {
		return v1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, NodeSelector: selector,
				Containers: []v1.Container{{Name: "main", Image: "busybox:1.36"}}},
			Status: v1.PodStatus{Phase: v1.PodPending}}
	}
	pf := pod("wants-port-forward", map[string]string{"capability.rktsched.io/port-forward": "true"})
	ssd := pod("wants-ssd", map[string]string{"disktype": "ssd"})
	podsFile, pfFile := filepath.Join(dir, "pods.json"), filepath.Join(dir, "pf.json")
	writeJSON(t, podsFile, &v1.List{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "List"},
		Items: []runtime.RawExtension{{Object: &pf}, {Object: &ssd}}})
	writeJSON(t, pfFile, &pf)
	const labelled, plain = "testdata/nodes-labelled.yaml", "testdata/nodes.yaml"

	t.Run("diff", func(t *testing.T) {
		tests := []struct {
			name                       string
			args                       []string
			schedulable, unschedulable []policydiff.PodChange
		}{
			{"dropping port-forward strands the pod selecting it", []string{"--old-builtin-policy", "--policy", noPortForward},
				[]policydiff.PodChange{}, []policydiff.PodChange{{Pod: "default/wants-port-forward", Reason: "no node matches its " + selects}}},
			{"adding port-forward lets it go", []string{"--old-policy", noPortForward, "--builtin-policy"},
				[]policydiff.PodChange{{Pod: "default/wants-port-forward", Reason: "no node matches its " + selects, Classes: []string{"docker", "rkt stage1-coreos"}}},
				[]policydiff.PodChange{}},
			{"the same policy changes nothing", []string{"--old-builtin-policy", "--builtin-policy"}, []policydiff.PodChange{}, []policydiff.PodChange{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := runOffline(t, "", append([]string{"diff", "--nodes", labelled, "--pods", podsFile, "-o", "json"}, tt.args...)...)
				if r.code != ExitOK {
					t.Fatalf("diff: exit %d, want 0 (no running pod stranded):\n%s", r.code, r)
				}
				var got policydiff.Result
				if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.schedulable, got.Schedulable); diff != "" {
					t.Errorf("schedulable (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.unschedulable, got.Unschedulable); diff != "" {
					t.Errorf("unschedulable (-want +got):\n%s", diff)
				}
			})
		}
	})
	t.Run("explain", func(t *testing.T) {
		tests := []struct {
			name  string
			args  []string
			code  int
			nodes map[string][]string // selected, by class
		}{
			{"under a policy without port-forward no node is selected", []string{"--nodes", labelled, "--policy", noPortForward}, ExitNo,
				map[string][]string{"docker": {}, "rkt stage1-coreos": {}, "rkt stage1-kvm": {}, "rkt stage1-fly": {}}},
			{"under the built-in policy, the nodes it labels port-forward=true", []string{"--nodes", labelled, "--builtin-policy"}, ExitOK,
				map[string][]string{"docker": {"docker-1", "docker-gpu-1"}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {}, "rkt stage1-fly": {}}},
			{"nodes not labelled yet are labelled as the policy would", []string{"--nodes", plain, "--builtin-policy"}, ExitOK,
				map[string][]string{"docker": {"docker-1", "docker-gpu-1"}, "rkt stage1-coreos": {"rkt-coreos-1", "rkt-coreos-2"}, "rkt stage1-kvm": {}, "rkt stage1-fly": {}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e, code := explainJSON(t, append([]string{"-f", pfFile}, tt.args...)...)
				if code != tt.code {
					t.Errorf("exit %d, want %d", code, tt.code)
				}
				nodes := map[string][]string{}
				for _, c := range e.Classes {
					nodes[c.Class] = c.Nodes
				}
				if diff := cmp.Diff(tt.nodes, nodes); diff != "" {
					t.Errorf("nodes selected by class (-want +got):\n%s", diff)
				}
			})
		}
	})
}
