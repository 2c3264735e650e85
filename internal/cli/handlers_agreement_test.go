package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/extender"
	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/nodeselect"
	"github.com/rktsched/rktsched/policy"
)

// TestExplainAgreesWithExtenderOnHandlers is TestExplainAgreesWithExtender for today's
// runtimes: nodes reporting runtime handlers and features (and one declaring them by
// annotation), RuntimeClasses, and the handler pods with variants naming each RuntimeClass,
// one that does not exist, and none; and DRA pods whose templates request a GPU class,
// another class, or do not exist. The extender reads the RuntimeClasses from its informers
// (a fake API server), explain from the dump; nodes reach the extender in full, as
// kube-scheduler sends them with nodeCacheCapable: false.
func TestExplainAgreesWithExtenderOnHandlers(t *testing.T) {
	const dumpFile = "testdata/handlers.yaml"
	dump, _, err := load.Nodes([]byte(readFile(t, dumpFile)), dumpFile)
	if err != nil {
		t.Fatal(err)
	}
	objs := []runtime.Object{}
	for _, n := range dump.Nodes {
		objs = append(objs, n)
	}
	for _, rc := range dump.Objects.RuntimeClasses {
		objs = append(objs, rc)
	}
	for _, dc := range dump.Objects.DeviceClasses {
		objs = append(objs, dc)
	}
	for _, tmpl := range dump.Objects.ResourceClaimTemplates {
		objs = append(objs, tmpl)
	}
	srv := newHandlerExtender(t, policy.Default(), objs...)

	paths, err := filepath.Glob("../../test/testdata/handler-pods/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no handler pods: %v", err)
	}
	var pods []*v1.Pod
	for _, path := range paths {
		var pod v1.Pod
		if err := yaml.UnmarshalStrict([]byte(readFile(t, path)), &pod); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pod.Namespace = "default"
		for _, rc := range []string{"", "kata", "gvisor", "wasm", "kata-clh"} {
			p := pod.DeepCopy()
			p.Name += "-" + rc
			p.Spec.RuntimeClassName = ptr.To(rc)
			pods = append(pods, p)
		}
	}
	// DRA: a GPU template, a template of another device, one that does not exist.
	for _, tmpl := range []string{"one-gpu", "nic", "gone"} {
		for _, rc := range []string{"", "kata", "gvisor"} {
			p := pods[0].DeepCopy()
			p.Name = "dra-" + tmpl + "-" + rc
			p.Spec.RuntimeClassName = ptr.To(rc)
			p.Spec.ResourceClaims = []v1.PodResourceClaim{{Name: "dev", ResourceClaimTemplateName: ptr.To(tmpl)}}
			pods = append(pods, p)
		}
	}
	for _, pod := range pods {
		podJSON, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		r := runOffline(t, string(podJSON), "explain", "-f", "-", "--nodes", dumpFile, "--builtin-policy", "-o", "json")
		if r.code != ExitOK && r.code != ExitNo {
			t.Fatalf("pod %s: %s", pod.Name, r)
		}
		var e explain.Explanation
		if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
			t.Fatalf("pod %s: %v\n%s", pod.Name, err, r.stdout)
		}
		checkAgreement(t, fmt.Sprintf("pod %s", pod.Name), srv, pod, dump.Nodes, nodeselect.Labelled(policy.Default(), dump.Nodes), &e)
	}
}

// newHandlerExtender serves an extender with a node cache fed by informers on a fake API
// server holding objs, once the caches have synced.
func newHandlerExtender(t *testing.T, p *policy.Policy, objs ...runtime.Object) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nodes, err := extender.NewNodeCache(fake.NewClientset(objs...))
	if err != nil {
		t.Fatal(err)
	}
	nodes.Start(ctx)
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), nodes.HasSynced) {
		t.Fatal("the node cache did not sync")
	}
	s, err := extender.New(extender.Config{Policy: policy.NewStore(p), Nodes: nodes, PodCacheTTL: time.Minute, MaxBodyBytes: 64 << 20, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}
