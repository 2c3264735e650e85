package policysource

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/rktsched/rktsched/policy"
)

// Config is what a Source needs besides where the policy is (Options).
type Config struct {
	// Client watches the policy ConfigMap and receives Events. Nil means no API server (a
	// standalone extender): the policy file, or the built-in policy; Events are only logged.
	Client kubernetes.Interface
	// Component names the binary in the Events it records (v1.EventSource).
	Component string
	// EventRef is the object Events about the policy file are recorded on, e.g. the binary's
	// Pod (PodFromEnv); nil records none. Events about the ConfigMap are recorded on it.
	EventRef *v1.ObjectReference
	// LogEventsOnly logs Events without sending them (a dry run writes nothing).
	LogEventsOnly bool
	// Recorder, if set, is used instead of the broadcaster Open starts (tests).
	Recorder record.EventRecorder
}

// Source is where a binary's policy comes from, and what keeps the store in step with it:
// --policy-file (watched), the policy ConfigMap (watched), or, with neither (a standalone
// extender), the built-in policy. It is the one way every binary gets its policy: the
// extender, the labeler and the scheduler plugin all Open one.
type Source struct {
	store    *policy.Store
	file     *fileWatcher
	cm       *configMapWatcher
	desc     string
	recorder record.EventRecorder

	mu          sync.Mutex
	last        *policy.Policy // the policy subscribers were last told about
	subscribers []func(old, cur *policy.Policy)
}

// Open returns the source opts name. With a file, the file is read now: an unreadable or
// invalid file is an error (the binary must not start on a policy it cannot read). Without a
// file, the ConfigMap is watched through cfg.Client, the built-in policy in force until it
// has been read; with no client either, the built-in policy stays.
//
// Open starts the process's Event broadcaster (unless cfg.Recorder is given): Events are
// logged at V(3) and, with a client and without LogEventsOnly, sent to the API server, until
// ctx ends. Recorder returns it for the binary's other Events. Nothing is watched before
// Start.
func Open(ctx context.Context, opts Options, cfg Config) (*Source, error) {
	var s *Source
	switch {
	case opts.File != "":
		p, err := LoadFile(opts.File)
		if err != nil {
			return nil, err
		}
		s = &Source{store: NewStore(p), desc: "policy file " + opts.File}
	case cfg.Client != nil:
		s = &Source{store: NewStore(policy.Default()), desc: fmt.Sprintf("policy ConfigMap %s/%s", opts.Namespace, opts.Name)}
	default:
		s = &Source{store: NewStore(policy.Default()), desc: "built-in policy"}
	}
	s.last = s.store.Load()
	s.recorder = cfg.Recorder
	if s.recorder == nil {
		s.recorder = newRecorder(ctx, cfg)
	}
	switch {
	case opts.File != "":
		s.file = newFileWatcher(opts.File, s.store, s.recorder)
		s.file.eventRef = cfg.EventRef
		s.file.changed = s.changed
	case cfg.Client != nil:
		s.cm = &configMapWatcher{client: cfg.Client, opts: opts, store: s.store, recorder: s.recorder, changed: s.changed}
	}
	return s, nil
}

// newRecorder starts the Event broadcaster for cfg; canceling ctx shuts it down.
func newRecorder(ctx context.Context, cfg Config) record.EventRecorder {
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartStructuredLogging(3)
	if cfg.Client != nil && !cfg.LogEventsOnly {
		broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	}
	return broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: cfg.Component})
}

// PodFromEnv is the binary's own Pod from the downward API (POD_NAME, POD_NAMESPACE), to
// record Events about --policy-file on; nil when either is unset.
func PodFromEnv() *v1.ObjectReference {
	name, ns := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || ns == "" {
		return nil
	}
	return &v1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: name}
}

// Store holds the policy in force.
func (s *Source) Store() *policy.Store { return s.store }

// Recorder records the binary's Events through the broadcaster Open started (or
// Config.Recorder).
func (s *Source) Recorder() record.EventRecorder { return s.recorder }

// String names the source for logs and readiness messages, e.g. "policy file /etc/p.yaml".
func (s *Source) String() string { return s.desc }

// OnChange has fn called with the previous and the new policy after every change of the
// policy in force, in the order of the changes. It may be called at any time, more than once
// (every scheduler profile subscribes); fn must not block.
func (s *Source) OnChange(fn func(old, cur *policy.Policy)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
}

// changed is the watchers' callback after they put cur in force.
func (s *Source) changed(cur *policy.Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.last
	s.last = cur
	for _, fn := range s.subscribers {
		fn(old, cur)
	}
}

// Start watches the source until ctx ends. It fails if the file's directory cannot be
// watched.
func (s *Source) Start(ctx context.Context) error {
	switch {
	case s.file != nil:
		return s.file.Start(ctx)
	case s.cm != nil:
		s.cm.Start(ctx)
	}
	return nil
}

// HasSynced reports whether a policy has been loaded from the source: the file was read at
// Open (always true), the ConfigMap has been read and accepted or found absent (see
// configMapWatcher.HasSynced), or there is no source and the built-in policy is in force by
// design (always true). Until then the binary must not act on the policy in force: the
// labeler writes no label, the extender answers 503 and the scheduler plugin does not start.
func (s *Source) HasSynced() bool {
	if s.cm != nil {
		return s.cm.HasSynced()
	}
	return true
}

// WaitForSync waits until HasSynced (checked at once, then every 50 ms), for at most
// timeout. It fails when ctx ends or timeout passes first: acting on the built-in policy while
// the operator's exists but cannot be read would place pods the operator's policy refuses.
func (s *Source) WaitForSync(ctx context.Context, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) { return s.HasSynced(), nil })
	if err != nil {
		return fmt.Errorf("the %s was not read within %v: %w", s.desc, timeout, err)
	}
	return nil
}
