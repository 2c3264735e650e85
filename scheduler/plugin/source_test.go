package plugin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/klog/v2/ktesting"

	"github.com/rktsched/rktsched/policy"
)

// A policyFile is watched like the extender's and the labeler's --policy-file: an edit of the
// file is put in force in the plugin's store, and the plugin requeues the pending pods the
// old policy refused (its OnChange subscription).
func TestPolicyFileWatched(t *testing.T) {
	t.Cleanup(func() { // New opens the process's one policy; let later tests open their own
		shared.Lock()
		shared.policy = nil
		shared.Unlock()
	})
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, policy.DefaultDocument(), 0o600); err != nil {
		t.Fatal(err)
	}
	initPod := withInitContainer(plainPod("init"))
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	if err := factory.Core().V1().Pods().Informer().GetIndexer().Add(initPod); err != nil {
		t.Fatal(err)
	}
	for _, n := range allClassNodes(t, policy.Default()) {
		if err := factory.Core().V1().Nodes().Informer().GetIndexer().Add(n); err != nil {
			t.Fatal(err)
		}
	}
	h := &fakeHandle{informers: factory} // no client: a policyFile needs none
	raw, err := json.Marshal(Args{PolicyFile: path})
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	obj, err := New(ctx, &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}, h)
	if err != nil {
		t.Fatal(err)
	}
	pl := obj.(*Plugin)
	if got := pl.src.store.Load().Digest(); got != policy.Default().Digest() {
		t.Fatalf("policy in force %s, want the file's (the default document, %s)", got, policy.Default().Digest())
	}

	edited := strings.Replace(string(policy.DefaultDocument()),
		"init-containers:       {action: filter, weight: 5}", "init-containers:       {action: ignore, weight: 5}", 1)
	want, err := policy.Parse([]byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	if want.Digest() == policy.Default().Digest() {
		t.Fatal("the edit changed nothing; update the test")
	}
	// Renamed over the file, as editors and kubectl cp do.
	if err := os.WriteFile(path+".tmp", []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return pl.src.store.Load().Digest() == want.Digest() && len(h.activations()) > 0, nil
	})
	if err != nil {
		t.Fatalf("the edited policy file was not put in force and acted on: policy %s (want %s), activations %v",
			pl.src.store.Load().Digest(), want.Digest(), h.activations())
	}
	if g := pl.src.store.Generation(); g != 2 {
		t.Errorf("policy generation %d, want 2", g)
	}
	if diff := cmp.Diff([]map[string]*v1.Pod{{"default/init": initPod}}, h.activations()); diff != "" {
		t.Errorf("activated after the edit (-want +got):\n%s", diff)
	}
}
