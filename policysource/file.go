package policysource

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/policy"
)

// Timings of the policy file watch.
const (
	// DefaultFileSettle is how long the watch waits after the last change in the file's
	// directory before it reads the file: an editor's or kubelet's update is several events
	// (write, rename, symlink swap, removal of the old data), and a read in the middle of an
	// in-place rewrite would see a truncated document.
	DefaultFileSettle = 100 * time.Millisecond
	// DefaultFileResync is how often the file is read even without events, in case events were
	// lost (the inotify queue overflows, the directory is replaced). Reading an unchanged
	// file changes nothing.
	DefaultFileResync = time.Minute
)

// fileWatcher keeps a store in step with a policy file (--policy-file) for as long as its
// context lives. It watches the file's directory, not the file, so that every way the file
// is replaced is seen: rewritten in place, renamed over (editors, `mv`), or switched by the
// ..data symlink swap of a Kubernetes ConfigMap volume.
//
// A document that does not parse, or a file that cannot be read, is rejected: logged, counted
// by the store (rktsched_policy_reload_errors_total), reported as a Warning Event on eventRef
// if set, and the last good policy stays in force with its generation. The watcher reads bad
// content twice, a settle apart, before it rejects it (a read can catch a rewrite half done),
// and reports the same rejected content once, not at every event.
type fileWatcher struct {
	path     string
	store    *policy.Store
	recorder record.EventRecorder

	// eventRef is the object Events about the file are recorded on (e.g. the binary's Pod);
	// nil records none.
	eventRef *v1.ObjectReference
	// changed is called after a new policy is put in force (Source.changed).
	changed func(*policy.Policy)
	// settle and resync override DefaultFileSettle and DefaultFileResync when positive.
	settle, resync time.Duration

	mu             sync.Mutex
	lastRejected   [sha256.Size]byte // of the content last rejected; reported once
	hasRejected    bool
	unconfirmed    [sha256.Size]byte // of bad content the loop read once, not yet reported
	hasUnconfirmed bool
}

// newFileWatcher returns a watcher of the policy file at path. The store should hold the
// file's policy already (LoadFile at start, so that a bad file fails the start).
func newFileWatcher(path string, store *policy.Store, recorder record.EventRecorder) *fileWatcher {
	return &fileWatcher{path: path, store: store, recorder: recorder}
}

// Start watches the file's directory until ctx ends, and reads the file once more now (it may
// have changed since it was loaded). It fails if the directory cannot be watched.
func (w *fileWatcher) Start(ctx context.Context) error {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching policy file %s: %w", w.path, err)
	}
	dir := filepath.Dir(w.path)
	if err := fsw.Add(dir); err != nil {
		_ = fsw.Close()
		return fmt.Errorf("watching policy file %s: directory %s: %w", w.path, dir, err)
	}
	klog.FromContext(ctx).Info("Watching the policy file", "path", w.path, "directory", dir)
	go w.loop(ctx, fsw)
	return nil
}

func (w *fileWatcher) loop(ctx context.Context, fsw *fsnotify.Watcher) {
	defer func() { _ = fsw.Close() }()
	logger := klog.FromContext(ctx).WithValues("path", w.path)
	settle, resync := w.settle, w.resync
	if settle <= 0 {
		settle = DefaultFileSettle
	}
	if resync <= 0 {
		resync = DefaultFileResync
	}
	ticker := time.NewTicker(resync)
	defer ticker.Stop()
	// settled fires settle after the last event; nil while nothing is pending.
	var settled <-chan time.Time
	var timer *time.Timer
	// read reads the file; bad content seen for the first time is read again a settle later
	// before it is reported.
	read := func() {
		if !w.reload(ctx) {
			return
		}
		if timer == nil {
			timer = time.NewTimer(settle)
		} else {
			timer.Reset(settle)
		}
		settled = timer.C
	}
	read()
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-fsw.Events:
			if !ok {
				return
			}
			logger.V(5).Info("Policy file directory changed", "event", ev.String())
			if timer == nil {
				timer = time.NewTimer(settle)
			} else {
				timer.Reset(settle)
			}
			settled = timer.C
		case err, ok := <-fsw.Errors:
			if !ok {
				return
			}
			// E.g. the inotify queue overflowed: events were lost, so read the file now.
			logger.Error(err, "Watching the policy file; reading it again")
			read()
		case <-settled:
			settled = nil
			read()
		case <-ticker.C:
			read()
		}
	}
}

// Reload reads the file and puts its policy in force if it is good and differs from the one
// in force; a bad or unreadable file is rejected (see fileWatcher). It reports whether the
// policy in force changed. It is safe to call at any time.
func (w *fileWatcher) Reload(ctx context.Context) bool {
	changed, _ := w.read(ctx, true)
	return changed
}

// reload is the watch loop's Reload. Bad content read for the first time is not reported but
// returned as unconfirmed, for the loop to read again a settle later: a read can land in the
// middle of a rewrite (after the truncation, before the write) and see an empty or cut
// document that the writer is about to replace. Only the same bad content read twice in a
// row is a bad file.
func (w *fileWatcher) reload(ctx context.Context) (unconfirmed bool) {
	_, unconfirmed = w.read(ctx, false)
	return unconfirmed
}

func (w *fileWatcher) read(ctx context.Context, confirmed bool) (changed, unconfirmed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	logger := klog.FromContext(ctx).WithValues("path", w.path)
	data, err := os.ReadFile(w.path)
	var p *policy.Policy
	if err == nil {
		p, err = policy.Parse(data)
		if err != nil {
			err = fmt.Errorf("%s: %w", w.path, err)
		}
	}
	if err != nil {
		sum := sha256.Sum256([]byte(err.Error() + "\x00" + string(data)))
		if w.hasRejected && sum == w.lastRejected {
			w.hasUnconfirmed = false
			return false, false // reported already
		}
		if !confirmed && (!w.hasUnconfirmed || sum != w.unconfirmed) {
			w.unconfirmed, w.hasUnconfirmed = sum, true
			logger.V(2).Info("Policy file unreadable or bad; reading it again before rejecting it", "err", err.Error())
			return false, true
		}
		w.hasUnconfirmed = false
		w.lastRejected, w.hasRejected = sum, true
		w.store.Reject()
		logger.Error(err, "Policy file rejected; the last good policy stays in force", "generation", w.store.Generation())
		if w.eventRef != nil && w.recorder != nil {
			w.recorder.Eventf(w.eventRef, v1.EventTypeWarning, "PolicyRejected", "Policy file %s rejected, the last good policy stays in force: %v", w.path, err)
		}
		return false, false
	}
	w.hasRejected, w.hasUnconfirmed = false, false
	if !w.store.Set(p) {
		return false, false
	}
	logger.Info("Policy in force", "generation", w.store.Generation(), "digest", p.Digest())
	if w.eventRef != nil && w.recorder != nil {
		w.recorder.Eventf(w.eventRef, v1.EventTypeNormal, "PolicyLoaded", "Policy %s from %s in force (generation %d)", p.Digest(), w.path, w.store.Generation())
	}
	if w.changed != nil {
		w.changed(p)
	}
	return true, false
}
