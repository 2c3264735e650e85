package policy

import (
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const header = "apiVersion: policy.rktsched.io/v1alpha1\nkind: RuntimePolicy\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // the error must contain this
	}{
		{"empty", "", "policy document is empty"},
		{"blank", "  \n\n", "policy document is empty"},
		{"syntax", header + "capabilities: [", "policy document: line 3: did not find expected node content"},
		{"wrong apiVersion", "apiVersion: v1\nkind: RuntimePolicy\n", `line 1: apiVersion: must be "policy.rktsched.io/v1alpha1", not "v1"`},
		{"missing apiVersion", "kind: RuntimePolicy\n", `apiVersion: must be "policy.rktsched.io/v1alpha1", not ""`},
		{"wrong kind", "apiVersion: policy.rktsched.io/v1alpha1\nkind: ConfigMap\n", `line 2: kind: must be "RuntimePolicy", not "ConfigMap"`},
		{"no capabilities", header, "capabilities: must list at least one capability"},
		{"unknown top-level field", header + "capabilityz:\n  gpu: {action: filter}\n", `line 3: unknown field "capabilityz"`},
		{"unknown capability", header + "capabilities:\n  gpuu: {action: filter}\n", `line 4: capabilities.gpuu: unknown capability "gpuu"`},
		{"unknown capability field", header + "capabilities:\n  gpu: {action: filter, wieght: 3}\n", `line 4: unknown field "wieght"`},
		{"bad action", header + "capabilities:\n  gpu:\n    action: block\n", `line 5: capabilities.gpu.action: must be filter, score or ignore, not "block"`},
		{"missing action", header + "capabilities:\n  gpu: {weight: 3}\n", `line 4: capabilities.gpu.action: is required`},
		{"negative weight", header + "capabilities:\n  gpu: {action: score, weight: -1}\n", `line 4: capabilities.gpu.weight: must be between 0 and 10, not -1`},
		{"weight too big", header + "capabilities:\n  gpu: {action: score, weight: 11}\n", `capabilities.gpu.weight: must be between 0 and 10, not 11`},
		{"weight not a number", header + "capabilities:\n  gpu: {action: score, weight: lots}\n", "line 4: cannot unmarshal !!str `lots` into int"},
		{"bad gpu resource", header + "capabilities:\n  gpu: {action: filter}\ngpuResources: ['nvidia gpu']\n", `line 5: gpuResources[0]: "nvidia gpu" is not a resource name`},
		{"relative known hostPath", header + "capabilities:\n  gpu: {action: filter}\nknownHostPaths: [/etc, var/log]\n", `line 5: knownHostPaths[1]: "var/log" is not an absolute path`},
		{"runtime without name", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- schemes: [docker]\n", `line 6: runtimes[0].name: is required`},
		{"runtime matching nothing", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: kata\n", `line 6: runtimes[0]: runtime "kata" matches no node`},
		{"runtime listed twice", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: docker\n  schemes: [docker]\n- name: docker\n  schemes: [moby]\n", `line 8: runtimes[1].name: runtime "docker" is listed twice`},
		{"runtime name not a label value", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: my runtime\n  schemes: [x]\n", `line 6: runtimes[0].name: "my runtime" is not a valid label value`},
		{"unknown runtime with schemes", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: unknown\n  schemes: [x]\n", `runtimes[0]: runtime "unknown" applies to nodes no other runtime matches`},
		{"unknown capability in lacks", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  schemes: [rkt]\n  lacks: [gpu, atach]\n", `line 8: runtimes[0].lacks[1]: unknown capability "atach"`},
		{"unknown capability in stage1 lacks", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  schemes: [rkt]\n  stage1:\n    coreos:\n      lacks: [gpuu]\n", `line 10: runtimes[0].stage1.coreos.lacks[0]: unknown capability "gpuu"`},
		{"unknown stage1 field", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  schemes: [rkt]\n  stage1:\n    coreos: {lack: [gpu]}\n", `line 9: unknown field "lack"`},
		{"unknown runtime field", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  scheme: [rkt]\n", `line 7: unknown field "scheme"`},
		{"default stage1 not listed", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  schemes: [rkt]\n  defaultStage1: kvm\n  stage1:\n    coreos: {}\n", `line 8: runtimes[0].defaultStage1: "kvm" is not one of the listed stage1 flavours`},
		{"default stage1 without flavours", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: rkt\n  schemes: [rkt]\n  defaultStage1: kvm\n", `runtimes[0].defaultStage1: is set but no stage1 flavours are listed`},
		{"matching on an owned label", header + "capabilities:\n  gpu: {action: filter}\nruntimes:\n- name: kata\n  nodeLabels: {rktsched.io/runtime: kata}\n", `runtimes[0].nodeLabels: "rktsched.io/runtime" is a label rktsched writes`},
		{"two documents", header + "capabilities:\n  gpu: {action: filter}\n---\n" + header, "only one YAML document is allowed"},
		{"not a mapping", "- a\n- b\n", "policy document: line 1: cannot unmarshal !!seq"},
		{"huge", header + "# " + strings.Repeat("x", MaxDocumentBytes) + "\n", "more than the 1048576 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted the document: %+v", p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestParseMinimal(t *testing.T) {
	p, err := Parse([]byte(header + "capabilities:\n  gpu: {action: filter}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// No runtimes: every node is unknown, with every capability.
	if c := p.Profile(coreosNode).Class; c.Name != UnknownRuntime || c.Lacks(GPU) {
		t.Errorf("class %s lacks gpu=%v, want unknown with gpu", c.Name, c.Lacks(GPU))
	}
	if got := p.Capabilities(); len(got) != 1 || got[0] != GPU {
		t.Errorf("capabilities in force %v, want [gpu]", got)
	}
}

// FuzzParse: no document makes Parse panic, and whatever it accepts is usable.
func FuzzParse(f *testing.F) {
	f.Add(DefaultDocument())
	f.Add([]byte(header + "capabilities:\n  gpu: {action: score, weight: 3}\nruntimes:\n- name: kata\n  nodeLabels: {a: b}\n"))
	f.Add([]byte("kind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(p.Classes()) == 0 {
			t.Fatal("accepted policy has no node classes")
		}
		np := p.ProfileOf(NodeInputs{RuntimeVersion: "rkt://1.29.0", Labels: map[string]string{"a": "b"}, Stage1Image: "stage1-fly"})
		for k := range np.Labels() {
			if !OwnedLabel(k) {
				t.Fatalf("policy produces label %q that rktsched does not own", k)
			}
		}
		a := p.Analyze(pod(func(s *v1.PodSpec) { s.HostPID = true }))
		for _, c := range p.Classes() {
			if v := a.Verdict(c); v.Score < 0 || v.Score > MaxScore {
				t.Fatalf("score %d out of range", v.Score)
			}
		}
	})
}

// FuzzAnalyze: no pod makes the analysis panic, and every verdict is consistent.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"mount-dne.yaml", "host-ipc-pid.yaml"} {
		pd := loadPodF(f, name)
		data, _ := yaml.Marshal(pd)
		js, _ := yaml.YAMLToJSON(data)
		f.Add(js)
	}
	f.Add([]byte(`{"metadata":{"annotations":{"rktsched.io/needs":"gpu,,x","rkt.alpha.kubernetes.io/stage1-name-override":"/:@"}},"spec":{"initContainers":[{"name":"i","image":"a:latest","stdin":true,"resources":{"limits":{"nvidia.com/gpu":"1"}},"volumeMounts":[{"name":"v","subPath":"x"}]}],"volumes":[{"name":"v","hostPath":{"path":"/x"}}]}}`))
	p := Default()
	f.Fuzz(func(t *testing.T, data []byte) {
		var pd v1.Pod
		if err := yaml.Unmarshal(data, &pd); err != nil {
			return
		}
		a := p.AnalyzeWith(&pd, handlerObjects)
		for _, c := range p.Classes() {
			v := a.Verdict(c)
			if v.Score < 0 || v.Score > MaxScore {
				t.Fatalf("score %d out of range", v.Score)
			}
			if v.Fits == (v.Reason != "") {
				t.Fatalf("fits=%v with reason %q", v.Fits, v.Reason)
			}
			if len(a.Unknown) > 0 && v.Fits {
				t.Fatalf("unknown needs %v but fits on %s", a.Unknown, c.Name)
			}
		}
	})
}

func loadPodF(f *testing.F, name string) *v1.Pod {
	data, err := readTestdata(name)
	if err != nil {
		f.Fatal(err)
	}
	var pd v1.Pod
	if err := yaml.UnmarshalStrict(data, &pd); err != nil {
		f.Fatal(err)
	}
	return &pd
}

// A document with several errors reports the first in the document, and the same one every
// time (map iteration order must not choose it).
func TestParseFirstErrorIsStable(t *testing.T) {
	tests := []struct{ doc, want string }{
		{header + `capabilities:
  zz-unknown: {action: filter}
  gpu: {action: maybe}
  aa-unknown: {action: filter}
  attach: {action: filter, weight: 99}
runtimes:
- name: rkt
  schemes: [rkt]
  stage1:
    zz: {lacks: [nope]}
    aa: {lacks: [nope2]}
`, `policy document line 4: capabilities.zz-unknown: unknown capability "zz-unknown"`},
		{header + `capabilities:
  gpu: {action: filter}
runtimes:
- name: rkt
  schemes: [rkt]
  stage1:
    zz: {lacks: [nope]}
    aa: {lacks: [nope2]}
`, `policy document line 9: runtimes[0].stage1.zz.lacks[0]: unknown capability "nope"`},
	}
	for _, tt := range tests {
		for range 100 {
			if _, err := Parse([]byte(tt.doc)); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one starting %q", err, tt.want)
			}
		}
	}
}
