package load

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
)

// TestNodesFastPath: a JSON List of Nodes, read in one pass, gives what reading the same
// dump as YAML item by item gives; a List holding anything but Nodes is still refused.
func TestNodesFastPath(t *testing.T) {
	data, err := os.ReadFile("../testdata/nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slow, _, err := Nodes(data, "nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nodeList(data); ok {
		t.Fatal("the YAML dump took the JSON path")
	}
	list := v1.NodeList{Items: make([]v1.Node, len(slow))}
	list.APIVersion, list.Kind = "v1", "List"
	for i, n := range slow {
		list.Items[i] = *n
	}
	js, err := json.Marshal(&list)
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := nodeList(js)
	if !ok {
		t.Fatal("the JSON dump did not take the one-pass path")
	}
	if diff := cmp.Diff(slow, fast); diff != "" {
		t.Errorf("one pass vs item by item (-item +pass):\n%s", diff)
	}
	bad := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}]}`
	if _, _, err := Nodes([]byte(bad), "bad.json"); err == nil || !strings.Contains(err.Error(), "a Pod in a node dump") {
		t.Errorf("a Pod in a node dump: %v", err)
	}
}
