package extender

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

// The runtimes of the design's matrix, as kubelets report them.
const (
	docker   = "docker"
	coreos   = "rkt-coreos"
	kvm      = "rkt-kvm"
	fly      = "rkt-fly"
	rktPlain = "rkt-default" // rkt without the stage1 annotation: the policy's default, coreos
)

// matrixNodes are one node per column of the design's capability matrix, plus an rkt node
// that does not declare its stage1.
func matrixNodes() []*v1.Node {
	return []*v1.Node{
		node(docker, "docker://1.12.6", ""),
		node(coreos, "rkt://1.29.0", "coreos.com/rkt/stage1-coreos:1.29.0"),
		node(kvm, "rkt://1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0"),
		node(fly, "rkt://1.29.0", "coreos.com/rkt/stage1-fly:1.29.0"),
		node(rktPlain, "rkt://1.29.0", ""),
	}
}

func node(name, runtimeVersion, stage1Image string) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			UID:             types.UID("uid-" + name),
			ResourceVersion: "1",
			Labels:          map[string]string{"kubernetes.io/hostname": name},
		},
		Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: runtimeVersion}},
	}
	if stage1Image != "" {
		n.Annotations = map[string]string{policy.AnnotationStage1Image: stage1Image}
	}
	return n
}

func names(nodes []*v1.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

// loadPod reads a pod manifest; the seed pods live with the policy package's tests.
func loadPod(t testing.TB, path string) *v1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pod v1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	pod.Namespace = "default"
	pod.UID = types.UID("uid-" + filepath.Base(path))
	pod.ResourceVersion = "1"
	return &pod
}

// pod returns a plain pod (one container, a pinned image, restartPolicy Never: no soft needs
// but namespace-isolation) changed by edit.
func pod(name string, edit func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), ResourceVersion: "7"},
		Spec: v1.PodSpec{
			RestartPolicy: v1.RestartPolicyNever,
			Containers:    []v1.Container{{Name: "main", Image: "registry.example/app:1.0"}},
		},
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func needs(caps string) func(*v1.Pod) {
	return func(p *v1.Pod) { p.Annotations = map[string]string{policy.AnnotationNeeds: caps} }
}

func gpuPod(p *v1.Pod) {
	p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
}

func guaranteedPod(p *v1.Pod) {
	rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
	p.Spec.Containers[0].Resources = v1.ResourceRequirements{Limits: rl, Requests: rl}
}

// newTestServer returns a server whose node cache (nil: standalone) holds nodes.
func newTestServer(t testing.TB, standalone bool, nodes ...*v1.Node) *Server {
	t.Helper()
	cfg := Config{
		Policy:       policy.NewStore(policy.Default()),
		PodCacheTTL:  time.Minute,
		MaxBodyBytes: DefaultMaxBodyBytes,
		MaxInFlight:  DefaultMaxInFlight,
		Registry:     prometheus.NewRegistry(),
		Version:      "test",
	}
	if !standalone {
		cfg.Nodes = staticNodeCache(nodes...)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// staticObjects is an objectSource that never changes.
type staticObjects struct{ *policy.ObjectSet }

func (staticObjects) Generation() int64 { return 0 }

// staticNodeCache is a NodeCache fed directly rather than by an informer, with the objects
// of testObjects.
func staticNodeCache(nodes ...*v1.Node) *NodeCache {
	c := &NodeCache{nodes: map[string]nodeSlot{}, synced: func() bool { return true },
		objects: staticObjects{testObjects()}, objectsSynced: func() bool { return true }}
	for _, n := range nodes {
		c.update(n)
	}
	return c
}

// update hands n to the cache as its informer does: through the transform.
func (c *NodeCache) update(n *v1.Node) {
	e, err := c.transform(n)
	if err != nil {
		panic(err)
	}
	c.set(e)
}

// Request bodies as kube-scheduler sends them (it uses encoding/json on the same types).

func namesArgs(p *v1.Pod, nodes []*v1.Node) []byte {
	nn := names(nodes)
	return mustJSON(extenderv1.ExtenderArgs{Pod: p, NodeNames: &nn})
}

func nodesArgs(p *v1.Pod, nodes []*v1.Node) []byte {
	list := &v1.NodeList{}
	for _, n := range nodes {
		list.Items = append(list.Items, *n)
	}
	return mustJSON(extenderv1.ExtenderArgs{Pod: p, Nodes: list})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// serve sends body to the server's verb the way kube-scheduler does.
func serve(t testing.TB, h http.Handler, method, verb string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/"+verb, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// decodeOK checks a 200 answer and decodes it into out.
func decodeOK(t testing.TB, rec *httptest.ResponseRecorder, out any) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		t.Fatalf("answer is not a %T: %v\n%s", out, err, rec.Body)
	}
}

// modes are the two payload forms of filter and prioritize.
var modes = []struct {
	name string
	args func(*v1.Pod, []*v1.Node) []byte
}{
	{"names", namesArgs},
	{"nodes", nodesArgs},
}

func seedPath(name string) string { return filepath.Join("..", "policy", "testdata", name) }

// testObjects are the RuntimeClasses and DRA objects the tests' pods name.
func testObjects() *policy.ObjectSet {
	return policy.NewObjectSet(
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "kata"}, Handler: "kata-qemu"},
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "gvisor"}, Handler: "runsc"},
		&nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "wasm"}, Handler: "spin"},
		&resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: "gpu.nvidia.com"}},
		&resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "one-gpu"},
			Spec: resourcev1.ResourceClaimTemplateSpec{Spec: resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{
				Requests: []resourcev1.DeviceRequest{{Name: "gpu", Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "gpu.nvidia.com"}}}}}}},
	)
}
