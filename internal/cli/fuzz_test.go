package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/render"
	"github.com/rktsched/rktsched/policy"
)

// FuzzExplainFile feeds explain -f's path arbitrary YAML and JSON documents: reading them
// (several documents, Lists, workloads), judging each pod per class and on nodes, and
// writing the table and the JSON. Whatever the input, it must not panic, an error must be
// an error (no answer), and every answer must be consistent: it fits exactly when a class
// with nodes that the pod's nodeSelector/affinity selects fits, each refusing class has the extender's reason, and its JSON reads back
// as the same answer. The seed corpus is testdata/fuzz/FuzzExplainFile plus the CLI's test
// files.
func FuzzExplainFile(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/*.json", "../../test/testdata/pods/*.yaml"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	data, err := os.ReadFile("testdata/nodes-labelled.yaml")
	if err != nil {
		f.Fatal(err)
	}
	dump, _, err := load.Nodes(data, "nodes-labelled.yaml")
	if err != nil {
		f.Fatal(err)
	}
	p := policy.Default()
	in := explain.Input{Policy: p, Document: policy.DefaultDocument(), Nodes: dump.Nodes, Objects: dump.Objects}
	classified := explain.GroupByClass(p, dump.Nodes)
	f.Fuzz(func(t *testing.T, data []byte) {
		subjects, _, err := load.Subjects(data, "fuzz.yaml", "default")
		if err != nil {
			if subjects != nil {
				t.Fatalf("an error (%v) with %d subjects", err, len(subjects))
			}
			return
		}
		for _, s := range subjects {
			if s.Pod == nil {
				t.Fatalf("%s: no pod", s.Where)
			}
			for _, classes := range []*explain.Classified{nil, classified} {
				e := explain.ExplainClassified(s.Pod, s.Ref(), s.Kind, in, classes)
				checkExplanation(t, p, e)
				var table, js bytes.Buffer
				if err := render.Explanations(&table, "wide", "built-in", []*explain.Explanation{e}); err != nil {
					t.Fatal(err)
				}
				if err := render.Explanations(&js, "json", "built-in", []*explain.Explanation{e}); err != nil {
					t.Fatal(err)
				}
				var back explain.Explanation
				if err := json.Unmarshal(js.Bytes(), &back); err != nil {
					t.Fatalf("the JSON answer does not read back: %v\n%s", err, js.Bytes())
				}
				again, _ := json.Marshal(&back)
				first, _ := json.Marshal(e)
				if !bytes.Equal(again, first) {
					t.Fatalf("the JSON answer reads back different:\n%s\n%s", first, again)
				}
			}
		}
	})
}

func checkExplanation(t *testing.T, p *policy.Policy, e *explain.Explanation) {
	t.Helper()
	fits := false
	for _, c := range e.Classes {
		if c.Nodes == nil || c.Missing == nil || c.Degraded == nil {
			t.Fatalf("class %s has a null list", c.Class)
		}
		if !e.PerClass && len(c.Nodes)+len(c.NotSelected) == 0 {
			t.Fatalf("class %s listed without nodes", c.Class)
		}
		if len(c.NotSelected) > 0 && (e.PerClass || e.NodeSelection == "") {
			t.Fatalf("class %s: nodes not selected (%v) by a pod without a nodeSelector/affinity (%q) or judged per class (%v)", c.Class, c.NotSelected, e.NodeSelection, e.PerClass)
		}
		if c.Fits != (c.Reason == "") {
			t.Fatalf("class %s: fits %v with reason %q", c.Class, c.Fits, c.Reason)
		}
		if c.Score < 0 || c.Score > policy.MaxScore || (!c.Fits && c.Score != 0) {
			t.Fatalf("class %s: score %d (fits %v)", c.Class, c.Score, c.Fits)
		}
		fits = fits || c.Fits && (e.PerClass || len(c.Nodes) > 0)
	}
	if fits != e.Fits {
		t.Fatalf("fits %v, the classes say %v", e.Fits, fits)
	}
	if e.PerClass && len(e.Classes) != len(p.DocumentClasses()) {
		t.Fatalf("per class: %d classes, the policy has %d", len(e.Classes), len(p.DocumentClasses()))
	}
}
