package load

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
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

// TestClusterObjects: a live cluster's RuntimeClasses, DeviceClasses, claims and templates
// (of every namespace) are read into the object set.
func TestClusterObjects(t *testing.T) {
	client := fake.NewClientset(
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"},
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu.nvidia.com"}},
		&resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "c"}},
		&resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "t"}},
	)
	set, warnings, err := (&Cluster{Client: client}).Objects(context.Background())
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Objects: %v, warnings %v", err, warnings)
	}
	if set.RuntimeClass("gvisor") == nil || set.DeviceClasses["gpu.nvidia.com"] == nil ||
		set.ResourceClaim("a", "c") == nil || set.ResourceClaimTemplate("b", "t") == nil {
		t.Errorf("object set %+v lacks an object of the cluster", set)
	}
}
