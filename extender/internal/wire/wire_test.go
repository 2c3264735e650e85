package wire

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadArgs(t *testing.T) {
	item := `{ "metadata" : {"name":"d\u006fcker","labels":{"a":"b"},"annotations":{"x":"y","rktsched.io/stage1-image":"s"}},` +
		` "spec":{"taints":[]}, "status":{"nodeInfo":{"containerRuntimeVersion":"docker://1.12.6"}}}`
	body := `{"Pod":{"metadata":{"uid":"u"}}, "Nodes":{"kind":"NodeList","items":[` + item + `,null]}}`
	var r Reader
	var a Args
	if err := r.ReadArgs([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if !a.HasNodes || a.HasNames || len(a.Nodes) != 2 || string(a.Pod) != `{"metadata":{"uid":"u"}}` {
		t.Fatalf("read %+v", a)
	}
	n := a.Nodes[0]
	got := []string{string(n.Raw), string(n.Name.Raw), n.Name.String(), string(n.Labels), string(n.Stage1Image), string(n.RuntimeVersion)}
	want := []string{item, `d\u006fcker`, "docker", `{"a":"b"}`, `"s"`, `"docker://1.12.6"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node (-want +got):\n%s", diff)
	}
	if string(a.Nodes[1].Raw) != "null" || a.Nodes[1].Name.String() != "" {
		t.Errorf("null item: raw %q, name %q", a.Nodes[1].Raw, a.Nodes[1].Name)
	}
}

// TestReadArgsSemantics: the holes of the old scanner, closed by encoding/json/v2 semantics.
func TestReadArgsSemantics(t *testing.T) {
	for _, tt := range []struct {
		name, body, err string
		check           func(*Args) bool
	}{
		{"duplicate top-level name", `{"Pod":{},"Pod":{}}`, `duplicate object member name "Pod"`, nil},
		{"duplicate Node metadata", `{"Pod":{},"Nodes":{"items":[{"metadata":{"name":"a"},"metadata":{"name":"b"}}]}}`,
			`duplicate object member name "metadata"`, nil},
		{"duplicate in the Pod", `{"Pod":{"spec":{},"spec":{}},"NodeNames":[]}`, `duplicate object member name "spec"`, nil},
		{"duplicate in a skipped member", `{"Pod":{},"x":{"k":1,"k":2},"NodeNames":[]}`, `duplicate object member name "k"`, nil},
		{"duplicate label", `{"Pod":{},"Nodes":{"items":[{"metadata":{"labels":{"k":"1","k":"2"}}}]}}`, `duplicate object member name "k"`, nil},
		{"case-folded name not matched", `{"Pod":{},"Nodes":{"items":[{"metadata":{"name":"a"},"ſtatus":{"nodeInfo":{"containerRuntimeVersion":"rkt://1"}}}]}}`, "",
			func(a *Args) bool { return a.Nodes[0].RuntimeVersion == nil }},
		{"names match exactly", `{"pod":{},"Pod":{},"nodeNames":["x"],"NodeNames":["y"]}`, "",
			func(a *Args) bool { return len(a.Names) == 1 && a.Names[0].String() == "y" }},
		{"null metadata", `{"Pod":{"metadata":null},"Nodes":{"items":[{"metadata":null}]}}`, "",
			func(a *Args) bool { return string(a.Pod) == `{"metadata":null}` && a.Nodes[0].Name.String() == "" }},
		{"invalid UTF-8", "{\"Pod\":{\"x\":\"\xff\"},\"NodeNames\":[]}", "invalid UTF-8", nil},
		{"two values", `{"Pod":{},"NodeNames":[]} {}`, "malformed JSON", nil},
		{"no Pod", `{"NodeNames":[]}`, "no Pod", nil},
		{"both modes", `{"Pod":{},"NodeNames":[],"Nodes":{}}`, "both Nodes and NodeNames", nil},
		{"label not a string", `{"Pod":{},"Nodes":{"items":[{"metadata":{"labels":{"k":1}}}]}}`, "want a string", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Reader
			var a Args
			err := r.ReadArgs([]byte(tt.body), &a)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want one saying %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.check != nil && !tt.check(&a):
				t.Errorf("read %+v", a)
			}
		})
	}
}

func TestReadPreemptArgs(t *testing.T) {
	body := `{"Pod":{},"NodeNameToMetaVictims":{"a":{"Pods":[{"UID":"u1"},null],"NumPDBViolations":2},"b":null,"c":{}}}`
	var r Reader
	var a PreemptArgs
	if err := r.ReadPreemptArgs([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	out := string(AppendPreemptionResult(nil, a.Victims, func(int) bool { return true }))
	want := `{"NodeNameToMetaVictims":{"a":{"Pods":[{"UID":"u1"},null],"NumPDBViolations":2},"b":null,"c":{"Pods":[],"NumPDBViolations":0}}}`
	if out != want {
		t.Errorf("answer\n got %s\nwant %s", out, want)
	}
	body = `{"Pod":{},"NodeNameToVictims":{"a":{"Pods":[{"metadata":{"uid":"u1","name":"v"}},{}],"NumPDBViolations":1}}}`
	if err := r.ReadPreemptArgs([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	out = string(AppendPreemptionResult(nil, a.Victims, func(int) bool { return true }))
	want = `{"NodeNameToMetaVictims":{"a":{"Pods":[{"UID":"u1"},{"UID":""}],"NumPDBViolations":1}}}`
	if out != want {
		t.Errorf("answer\n got %s\nwant %s", out, want)
	}
	for _, bad := range []string{
		`{"Pod":{},"NodeNameToVictims":{"a":null}}`,
		`{"Pod":{},"NodeNameToVictims":{"a":{"Pods":[null]}}}`,
		`{"Pod":{},"NodeNameToMetaVictims":{"a":{"NumPDBViolations":1e3}}}`,
		`{"Pod":{},"NodeNameToMetaVictims":{"a":{"NumPDBViolations":9223372036854775808}}}`,
	} {
		if err := r.ReadPreemptArgs([]byte(bad), &a); err == nil {
			t.Errorf("%s: read, want an error", bad)
		}
	}
}

func TestFilterResult(t *testing.T) {
	var f FilterResult
	f.Reset(true)
	f.PassName(Name{Raw: []byte(`a\u0062`)})
	f.Fail(Name{Raw: []byte("c")}, Quote("new"))
	f.Refuse(Name{Raw: []byte("d")}, Quote(`says "no"`))
	f.Refuse(Name{Raw: []byte("e")}, Quote(`says "no"`))
	want := `{"Nodes":null,"NodeNames":["a\u0062"],"FailedNodes":{"c":"new"},"FailedAndUnresolvableNodes":{"d":"says \"no\"","e":"says \"no\""},"Error":""}`
	if got := string(f.AppendTo(nil)); got != want {
		t.Errorf("answer\n got %s\nwant %s", got, want)
	}
}
