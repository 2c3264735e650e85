package policysource

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// Three valid documents that differ from each other and from the default.
func docs(t *testing.T) (gpuIgnored, gpuScored, attachIgnored string) {
	return edited(t),
		policytest.EditDefault(t, "gpu:                   {action: filter", "gpu:                   {action: score"),
		policytest.EditDefault(t, "attach:                {action: filter", "attach:                {action: ignore")
}

func write(t *testing.T, path, doc string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

// renameOver writes doc to a temporary file beside path and renames it over path, the way
// editors and `mv` replace a file.
func renameOver(t *testing.T, path, doc string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, doc)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// loadedWatcher writes doc to path, loads it into a new store as a binary's start does, and
// returns the store and a watcher of path that is not started (tests call its reads).
func loadedWatcher(t *testing.T, path, doc string, rec record.EventRecorder) (*policy.Store, *fileWatcher) {
	t.Helper()
	write(t, path, doc)
	p, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(p)
	return store, newFileWatcher(path, store, rec)
}

// change is what OnChange was called with.
type change struct{ old, cur *policy.Policy }

// startFile opens the source of the policy file at path and starts it.
func startFile(t *testing.T, path string) (*Source, *record.FakeRecorder, chan change) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec := record.NewFakeRecorder(20)
	s, err := Open(ctx, Options{File: path}, Config{Recorder: rec, EventRef: &v1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "me"}})
	if err != nil {
		t.Fatal(err)
	}
	s.file.settle = 10 * time.Millisecond
	changes := make(chan change, 10)
	s.OnChange(func(old, cur *policy.Policy) { changes <- change{old, cur} })
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.HasSynced() {
		t.Error("a source whose file was read at Open has not synced")
	}
	return s, rec, changes
}

// waitGeneration waits until the store is at generation gen (with a deadline, never a fixed
// sleep) and checks the metric and the policy in force.
func waitGeneration(t *testing.T, s *Source, gen int64, wantAction func(*policy.Policy) bool) {
	t.Helper()
	waitFor(t, "generation", func() bool { return s.Store().Generation() >= gen })
	if got := s.Store().Generation(); got != gen {
		t.Fatalf("generation %d, want %d", got, gen)
	}
	if got := metric(t, s.Store(), "rktsched_policy_generation"); got != float64(gen) {
		t.Errorf("rktsched_policy_generation = %v, want %d", got, gen)
	}
	if !wantAction(s.Store().Load()) {
		t.Error("the policy in force is not the file's")
	}
}

func TestFileRewrittenInPlace(t *testing.T) {
	a, b, c := docs(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, a)
	s, rec, changes := startFile(t, path)
	if s.Store().Generation() != 1 || s.Store().Load().Action(policy.GPU) != policy.ActionIgnore {
		t.Fatal("the file's policy is not in force at generation 1 after Open")
	}
	first := s.Store().Load()
	write(t, path, b)
	waitGeneration(t, s, 2, func(p *policy.Policy) bool { return p.Action(policy.GPU) == policy.ActionScore })
	second := s.Store().Load()
	if ch := <-changes; ch.old != first || ch.cur != second {
		t.Error("OnChange was not called with the file's first policy and the one in force now")
	}
	expectEvent(t, rec, "Normal PolicyLoaded Policy ")
	renameOver(t, path, c)
	waitGeneration(t, s, 3, func(p *policy.Policy) bool { return p.Action(policy.Attach) == policy.ActionIgnore })
	if ch := <-changes; ch.old != second || ch.cur != s.Store().Load() {
		t.Error("OnChange's old policy is not the one the previous change put in force")
	}
}

// A Kubernetes ConfigMap volume: path is a symlink to ..data/policy.yaml, ..data a symlink to
// a timestamped directory; an update writes a new directory and renames a new ..data symlink
// over the old one, then removes the old directory. The file itself is never written.
func TestFileConfigMapVolumeSymlinkSwap(t *testing.T) {
	a, b, c := docs(t)
	dir := t.TempDir()
	version := func(name, doc string) {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name, "policy.yaml"), doc)
	}
	swap := func(to, old string) {
		if err := os.Symlink(to, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if old != "" {
			if err := os.RemoveAll(filepath.Join(dir, old)); err != nil {
				t.Fatal(err)
			}
		}
	}
	version("..2026_12_01_21_00_00.1", a)
	swap("..2026_12_01_21_00_00.1", "")
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink("..data/policy.yaml", path); err != nil {
		t.Fatal(err)
	}
	s, _, _ := startFile(t, path)
	version("..2026_12_01_21_01_00.2", b)
	swap("..2026_12_01_21_01_00.2", "..2026_12_01_21_00_00.1")
	waitGeneration(t, s, 2, func(p *policy.Policy) bool { return p.Action(policy.GPU) == policy.ActionScore })
	version("..2026_12_01_21_02_00.3", c)
	swap("..2026_12_01_21_02_00.3", "..2026_12_01_21_01_00.2")
	waitGeneration(t, s, 3, func(p *policy.Policy) bool { return p.Action(policy.Attach) == policy.ActionIgnore })
}

// A bad file is rejected with its reason (log, metric, Warning Event), the last good policy
// and its generation stay; the good file after it is put in force.
func TestFileBadThenGood(t *testing.T) {
	a, b, _ := docs(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write(t, path, a)
	s, rec, _ := startFile(t, path)
	good := s.Store().Load()

	renameOver(t, path, a+"\nbogus: true\n")
	waitFor(t, "the rejection", func() bool { return s.Store().Rejected() == 1 })
	expectEvent(t, rec, "Warning PolicyRejected Policy file "+path+" rejected, the last good policy stays in force: "+path+": policy document: line ")
	if got := metric(t, s.Store(), "rktsched_policy_reload_errors_total"); got != 1 {
		t.Errorf("rktsched_policy_reload_errors_total = %v, want 1", got)
	}
	if s.Store().Load() != good || s.Store().Generation() != 1 {
		t.Errorf("a rejected file changed the policy in force (generation %d)", s.Store().Generation())
	}
	if !s.HasSynced() {
		t.Error("a rejected edit unsynced the source: the last good policy is still the file's")
	}

	// Gone is rejected too (nothing read is nothing lost).
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rejection of the missing file", func() bool { return s.Store().Rejected() == 2 })
	expectEvent(t, rec, "Warning PolicyRejected Policy file "+path+" rejected")

	write(t, path, b)
	waitGeneration(t, s, 2, func(p *policy.Policy) bool { return p.Action(policy.GPU) == policy.ActionScore })
	if got := s.Store().Rejected(); got != 2 {
		t.Errorf("rejections %d after the good file, want 2", got)
	}
}

// The same bad content is reported once, however often the file is read (every event in
// the directory, the resync): Reload is called directly, so nothing here waits.
func TestFileSameRejectionReportedOnce(t *testing.T) {
	a, _, _ := docs(t)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	rec := record.NewFakeRecorder(10)
	store, w := loadedWatcher(t, path, a, rec)
	ctx := context.Background()
	write(t, path, "apiVersion: v2\n")
	for range 3 {
		if w.Reload(ctx) {
			t.Fatal("a bad file changed the policy")
		}
	}
	if got := store.Rejected(); got != 1 {
		t.Errorf("rejections %d, want 1 for one bad content", got)
	}
	write(t, path, "apiVersion: v3\n")
	w.Reload(ctx)
	if got := store.Rejected(); got != 2 {
		t.Errorf("rejections %d, want 2 after other bad content", got)
	}
	if len(rec.Events) != 0 {
		t.Errorf("%d Events without an EventRef, want none", len(rec.Events))
	}
	write(t, path, a)
	if w.Reload(ctx) {
		t.Error("the policy in force, read again, counted as a change")
	}
	if store.Generation() != 1 {
		t.Errorf("generation %d, want 1", store.Generation())
	}
}

// The watch loop's read can land between a rewrite's truncation and its write: the empty
// document it sees is read again before it is rejected, and the write in between wins.
func TestFileHalfWrittenReadIsNotRejected(t *testing.T) {
	a, b, _ := docs(t)
	store, w := loadedWatcher(t, filepath.Join(t.TempDir(), "policy.yaml"), a, nil)
	path := w.path
	ctx := context.Background()

	write(t, path, "") // truncated, not yet written
	if !w.reload(ctx) {
		t.Fatal("an empty file read once is not left unconfirmed")
	}
	write(t, path, b)
	if w.reload(ctx) || store.Rejected() != 0 || store.Generation() != 2 {
		t.Fatalf("after the write: rejections %d, generation %d; want 0 and 2", store.Rejected(), store.Generation())
	}

	write(t, path, "")
	for i, wantUnconfirmed := range []bool{true, false, false} {
		if got := w.reload(ctx); got != wantUnconfirmed {
			t.Errorf("read %d of the same empty file: unconfirmed %v, want %v", i+1, got, wantUnconfirmed)
		}
	}
	if store.Rejected() != 1 || store.Generation() != 2 {
		t.Errorf("an empty file read three times: rejections %d, generation %d; want 1 and 2", store.Rejected(), store.Generation())
	}
}

func TestOpen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := Open(ctx, Options{File: filepath.Join(t.TempDir(), "missing.yaml")}, Config{}); err == nil {
		t.Error("Open of a missing policy file succeeded")
	}
	s, err := Open(ctx, Options{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Store().Load() != policy.Default() || !s.HasSynced() || s.String() != "built-in policy" {
		t.Errorf("without file and client: policy %v, synced %v, %q; want the built-in policy, synced", s.Store().Load().Digest(), s.HasSynced(), s)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Error(err)
	}
}
