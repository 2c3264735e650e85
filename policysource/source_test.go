package policysource

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// configMap returns the policy ConfigMap at a resourceVersion (the fake clientset sets none).
func configMap(doc, resourceVersion string) *v1.ConfigMap {
	return &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: DefaultName, ResourceVersion: resourceVersion},
		Data:       map[string]string{policy.ConfigMapKey: doc},
	}
}

// edited returns the default document with gpu ignored: a valid policy unlike the default.
func edited(t *testing.T) string {
	return policytest.EditDefault(t, "gpu:                   {action: filter", "gpu:                   {action: ignore")
}

// cmWatcher is a watcher of the default policy ConfigMap, not started.
func cmWatcher(client kubernetes.Interface, store *policy.Store, rec record.EventRecorder) *configMapWatcher {
	return &configMapWatcher{client: client, opts: Options{Namespace: DefaultNamespace, Name: DefaultName}, store: store, recorder: rec}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func expectEvent(t *testing.T, rec *record.FakeRecorder, prefix string) {
	t.Helper()
	select {
	case e := <-rec.Events:
		if !strings.HasPrefix(e, prefix) {
			t.Errorf("event %q, want one starting with %q", e, prefix)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no event %q", prefix)
	}
}

func TestWatcher(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(configMap(edited(t), "1"))
	store := policy.NewStore(policy.Default())
	rec := record.NewFakeRecorder(10)
	w := cmWatcher(client, store, rec)
	changes := make(chan *policy.Policy, 10)
	w.changed = func(p *policy.Policy) { changes <- p }
	w.Start(ctx)

	// The ConfigMap's policy replaces the built-in one.
	waitFor(t, "sync", w.HasSynced)
	waitFor(t, "the ConfigMap's policy", func() bool { return store.Load().Action(policy.GPU) == policy.ActionIgnore })
	expectEvent(t, rec, "Normal PolicyLoaded")
	if p := <-changes; p != store.Load() {
		t.Error("OnChange got another policy than the one in force")
	}
	good := store.Load()

	// A bad edit is rejected: Warning Event, metric, last good policy in force.
	errorsBefore := metric(t, store, "rktsched_policy_reload_errors_total")
	cms := client.CoreV1().ConfigMaps(DefaultNamespace)
	if _, err := cms.Update(ctx, configMap(edited(t)+"\nbogus: true\n", "2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, rec, `Warning PolicyRejected Policy rejected, the last good policy stays in force: policy document: line `)
	if got := metric(t, store, "rktsched_policy_reload_errors_total") - errorsBefore; got != 1 {
		t.Errorf("reload errors went up by %v, want 1", got)
	}
	if store.Load() != good {
		t.Error("a rejected edit replaced the policy in force")
	}

	// A ConfigMap without the key is rejected too.
	if _, err := cms.Update(ctx, &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: DefaultNamespace, Name: DefaultName, ResourceVersion: "3"}}, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, rec, `Warning PolicyRejected Policy rejected, the last good policy stays in force: key "policy.yaml" is missing`)
	if store.Load() != good {
		t.Error("a ConfigMap without the key replaced the policy in force")
	}

	// Deleting the ConfigMap brings back the built-in policy.
	if err := cms.Delete(ctx, DefaultName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the built-in policy", func() bool { return store.Load() == policy.Default() })
	if got := metric(t, store, "rktsched_policy_generation"); got != float64(store.Generation()) || got != 3 {
		t.Errorf("generation metric %v, store generation %d, want 3", got, store.Generation())
	}
}

func TestWatcherWithoutConfigMap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := policy.NewStore(policy.Default())
	w := cmWatcher(fake.NewClientset(), store, record.NewFakeRecorder(10))
	w.Start(ctx)
	waitFor(t, "sync", w.HasSynced)
	if store.Load() != policy.Default() || store.Generation() != 1 {
		t.Error("without a ConfigMap the built-in policy must stay in force")
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(edited(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("apiVersion: v2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := LoadFile(good); err != nil || p.Action(policy.GPU) != policy.ActionIgnore {
		t.Errorf("LoadFile(good) = %v, %v", p, err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml: policy document line 1: apiVersion") {
		t.Errorf("LoadFile(bad) error %v, want one naming the file, line and field", err)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
}

// TestNewStoreReportsGeneration: a policy that no watcher follows (the built-in policy) is
// reported as generation 1 too, not left at 0.
func TestNewStoreReportsGeneration(t *testing.T) {
	if got := metric(t, NewStore(policy.Default()), "rktsched_policy_generation"); got != 1 {
		t.Errorf("rktsched_policy_generation = %v, want 1", got)
	}
}

// Two stores (two binaries' registries in one process, or two tests) never share counts.
func TestMetricsPerStore(t *testing.T) {
	a, b := NewStore(policy.Default()), NewStore(policy.Default())
	a.Reject()
	a.Set(mustParse(t, edited(t)))
	if got := metric(t, a, "rktsched_policy_reload_errors_total"); got != 1 {
		t.Errorf("a: reload errors %v, want 1", got)
	}
	if got := metric(t, a, "rktsched_policy_generation"); got != 2 {
		t.Errorf("a: generation %v, want 2", got)
	}
	if got := metric(t, b, "rktsched_policy_reload_errors_total"); got != 0 {
		t.Errorf("b: reload errors %v, want 0", got)
	}
	if got := metric(t, b, "rktsched_policy_generation"); got != 1 {
		t.Errorf("b: generation %v, want 1", got)
	}
}

func mustParse(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// metric is the value of the named policy metric of store, as a registry serves it.
func metric(t *testing.T, store *policy.Store, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	Register(reg, store)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// A ConfigMap whose document is bad from the start leaves the watcher unsynced: the built-in
// policy is in force then only for lack of a good one. A good edit syncs it, and a later bad
// one does not unsync it (the last good policy is the ConfigMap's).
func TestWatcherHasSyncedOnlyWithAPolicyFromTheConfigMap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(configMap("apiVersion: v2\n", "1"))
	store := NewStore(policy.Default())
	w := cmWatcher(client, store, record.NewFakeRecorder(10))
	w.Start(ctx)
	waitFor(t, "the rejection", func() bool { return store.Rejected() == 1 })
	waitFor(t, "the informer's sync", w.synced)
	if w.HasSynced() {
		t.Error("synced on a rejected ConfigMap")
	}
	cms := client.CoreV1().ConfigMaps(DefaultNamespace)
	if _, err := cms.Update(ctx, configMap(policytest.EditDefault(t), "2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The default document: the policy in force does not change, yet it is the ConfigMap's.
	waitFor(t, "sync", w.HasSynced)
	if store.Generation() != 1 {
		t.Errorf("generation %d, want 1", store.Generation())
	}
	if _, err := cms.Update(ctx, configMap("apiVersion: v3\n", "3"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second rejection", func() bool { return store.Rejected() == 2 })
	if !w.HasSynced() {
		t.Error("a rejected edit unsynced the watcher")
	}
}

// Open of the ConfigMap: every subscriber is told of each change with the policy before it,
// WaitForSync returns once the ConfigMap's policy is in force and fails while a rejected
// document keeps it unsynced, and the broadcaster Open started sends the Events to the API
// server.
func TestOpenConfigMap(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := fake.NewClientset(configMap("apiVersion: v2\n", "1"))
	s, err := Open(ctx, Options{Namespace: DefaultNamespace, Name: DefaultName}, Config{Client: client, Component: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "policy ConfigMap rktsched-system/rktsched-policy"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	type change struct{ old, cur *policy.Policy }
	first, second := make(chan change, 10), make(chan change, 10)
	s.OnChange(func(old, cur *policy.Policy) { first <- change{old, cur} })
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s.OnChange(func(old, cur *policy.Policy) { second <- change{old, cur} }) // after Start, as a second profile does

	waitFor(t, "the rejection", func() bool { return metric(t, s.Store(), "rktsched_policy_reload_errors_total") == 1 })
	done, stop := context.WithCancel(ctx)
	stop()
	err = s.WaitForSync(done, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "the policy ConfigMap rktsched-system/rktsched-policy was not read within 1h0m0s") {
		t.Errorf("WaitForSync on a rejected ConfigMap = %v, want an error naming it", err)
	}
	waitFor(t, "the rejection's Event sent to the API server", func() bool {
		events, err := client.CoreV1().Events(DefaultNamespace).List(ctx, metav1.ListOptions{})
		return err == nil && len(events.Items) == 1 && events.Items[0].Reason == "PolicyRejected" &&
			events.Items[0].Source.Component == "test" && events.Items[0].InvolvedObject.Name == DefaultName
	})

	if _, err := client.CoreV1().ConfigMaps(DefaultNamespace).Update(ctx, configMap(edited(t), "2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitForSync(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := change{policy.Default(), s.Store().Load()}
	for name, ch := range map[string]chan change{"first": first, "second": second} {
		if got := <-ch; got != want {
			t.Errorf("%s subscriber: told of %s -> %s, want %s -> %s", name, got.old.Digest(), got.cur.Digest(), want.old.Digest(), want.cur.Digest())
		}
	}
	if s.Store().Load().Action(policy.GPU) != policy.ActionIgnore {
		t.Error("the ConfigMap's policy is not in force after WaitForSync")
	}
}
