package load

import (
	"encoding/json"
	"os"
	"slices"
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
	dump, _, err := Nodes(data, "nodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	slow := dump.Nodes
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

// TestNodesWithObjects: a dump of Nodes with the objects the policy reads (as kubectl get
// nodes,runtimeclasses,deviceclasses,resourceclaims,resourceclaimtemplates -A -o json writes
// it) gives the Nodes and an object set holding the others.
func TestNodesWithObjects(t *testing.T) {
	dump := `{"apiVersion":"v1","kind":"List","items":[
{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}},
{"apiVersion":"node.k8s.io/v1","kind":"RuntimeClass","metadata":{"name":"gvisor"},"handler":"runsc"},
{"apiVersion":"resource.k8s.io/v1","kind":"DeviceClass","metadata":{"name":"gpu.nvidia.com"},"spec":{"extendedResourceName":"nvidia.com/gpu"}},
{"apiVersion":"resource.k8s.io/v1","kind":"ResourceClaimTemplate","metadata":{"namespace":"ns","name":"t"},"spec":{"spec":{"devices":{"requests":[{"name":"gpu","exactly":{"deviceClassName":"gpu.nvidia.com"}}]}}}},
{"apiVersion":"resource.k8s.io/v1","kind":"ResourceClaim","metadata":{"namespace":"ns","name":"c"},"spec":{}}]}`
	d, _, err := Nodes([]byte(dump), "dump.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Nodes) != 1 || d.Nodes[0].Name != "n1" {
		t.Errorf("nodes: %v", d.Nodes)
	}
	if rc := d.Objects.RuntimeClass("gvisor"); rc == nil || rc.Handler != "runsc" {
		t.Errorf("RuntimeClass gvisor: %v", rc)
	}
	if got := d.Objects.DeviceClassesFor("nvidia.com/gpu"); !slices.Equal(got, []string{"gpu.nvidia.com"}) {
		t.Errorf("DeviceClassesFor(nvidia.com/gpu) = %v", got)
	}
	if d.Objects.ResourceClaimTemplate("ns", "t") == nil || d.Objects.ResourceClaim("ns", "c") == nil || d.Objects.ResourceClaim("other", "c") != nil {
		t.Errorf("claims and templates are not read by namespace/name: %+v", d.Objects)
	}
}
