package policysource

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

// FuzzFileReload: whatever is written to the policy file, and however (in place, renamed over,
// removed), the reload path never puts a document in force that Parse refuses, never loses the
// last good policy, moves the generation only when the policy in force changes, and counts a
// rejection only for bad content read twice in a row by the watch loop (or once by Reload),
// and once until other content is read.
func FuzzFileReload(f *testing.F) {
	good := policy.DefaultDocument()
	f.Add(good, []byte("apiVersion: v2\n"), byte(0))
	f.Add([]byte{}, good, byte(0b0101))
	f.Add(append(append([]byte{}, good...), "\nbogus: true\n"...), []byte("kind: [\n"), byte(0b1010))
	f.Add([]byte(policytest.EditDefault(f, "gpu:                   {action: filter", "gpu:                   {action: score")), []byte{}, byte(0b10_0110))
	// One file for every execution of this worker: a directory per execution costs more than
	// the reload itself.
	path := filepath.Join(f.TempDir(), "policy.yaml")
	f.Fuzz(func(t *testing.T, first, second []byte, ops byte) {
		store, w := loadedWatcher(t, path, string(good), nil)
		var err error
		ctx := context.Background()
		// What the watcher should remember: the bad content last rejected, and bad content
		// read once by the loop and not yet rejected.
		var model struct{ rejected, unconfirmed string }
		for step, content := range [][]byte{first, second} {
			op := ops >> (3 * step)
			switch op & 0b11 {
			case 0: // rewritten in place
				err = os.WriteFile(path, content, 0o600)
			case 1: // renamed over, as editors and mv do
				if err = os.WriteFile(path+".tmp", content, 0o600); err == nil {
					err = os.Rename(path+".tmp", path)
				}
			default: // removed
				err = os.Remove(path)
				content = nil
				if os.IsNotExist(err) {
					err = nil
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			missing := op&0b11 >= 2
			want, parseErr := policy.Parse(content)
			bad := missing || parseErr != nil
			key := "file:" + string(content)
			if missing {
				key = "missing"
			}
			before, gen, rejected := store.Load(), store.Generation(), store.Rejected()

			// The watch loop's read: bad content is rejected the second time in a row it is
			// read, and once.
			unconfirmed := w.reload(ctx)
			wantRejected, wantUnconfirmed := rejected, false
			switch {
			case !bad:
				model.rejected, model.unconfirmed = "", ""
			case key == model.rejected:
				model.unconfirmed = ""
			case key == model.unconfirmed:
				wantRejected++
				model.rejected, model.unconfirmed = key, ""
			default:
				model.unconfirmed, wantUnconfirmed = key, true
			}
			if unconfirmed != wantUnconfirmed {
				t.Fatalf("step %d: unconfirmed %v after the loop's read of %q (parse error %v)", step, unconfirmed, content, parseErr)
			}
			// Reload's read (bit 2): bad content is rejected at once, and once.
			if op&0b100 != 0 {
				w.Reload(ctx)
				if bad && key != model.rejected {
					wantRejected++
					model.rejected = key
				}
				model.unconfirmed = ""
			}
			if got := store.Rejected(); got != wantRejected {
				t.Fatalf("step %d: %d rejections, want %d (bad %v, parse error %v)", step, got, wantRejected, bad, parseErr)
			}

			got := store.Load()
			switch {
			case bad:
				if got != before || store.Generation() != gen {
					t.Fatalf("step %d: bad content (%v) changed the policy in force (generation %d → %d)", step, parseErr, gen, store.Generation())
				}
			case got.Digest() != want.Digest():
				t.Fatalf("step %d: policy %s in force, the file's is %s", step, got.Digest(), want.Digest())
			case want.Digest() == before.Digest() && store.Generation() != gen:
				t.Fatalf("step %d: the same policy read again moved the generation %d → %d", step, gen, store.Generation())
			case want.Digest() != before.Digest() && store.Generation() != gen+1:
				t.Fatalf("step %d: a new policy moved the generation %d → %d, want +1", step, gen, store.Generation())
			}
			if m := metric(t, store, "rktsched_policy_reload_errors_total"); m != float64(store.Rejected()) {
				t.Fatalf("rktsched_policy_reload_errors_total = %v, rejections %d", m, store.Rejected())
			}
		}
	})
}
