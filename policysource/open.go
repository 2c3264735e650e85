package policysource

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"

	"github.com/rktsched/rktsched/policy"
)

// Source is where a binary's policy comes from, and what keeps the store in step with it:
// --policy-file (a FileWatcher), the policy ConfigMap (a Watcher), or, with neither (a
// standalone extender), the built-in policy.
type Source struct {
	store *policy.Store
	file  *FileWatcher
	cm    *Watcher
	desc  string
}

// Open returns the source opts name. With a file, the file is read now: an unreadable or
// invalid file is an error (the binary must not start on a policy it cannot read). Without a
// file, the ConfigMap is watched through client, the built-in policy in force until it has
// been read; with no client either, the built-in policy stays. eventRef is the object Events
// about the file are recorded on (nil: none); ConfigMap Events are recorded on the ConfigMap.
// Nothing is watched before Start.
func Open(client kubernetes.Interface, opts Options, recorder record.EventRecorder, eventRef *v1.ObjectReference) (*Source, error) {
	switch {
	case opts.File != "":
		p, err := LoadFile(opts.File)
		if err != nil {
			return nil, err
		}
		s := &Source{store: NewStore(p), desc: "policy file " + opts.File}
		s.file = NewFileWatcher(opts.File, s.store, recorder)
		s.file.EventRef = eventRef
		return s, nil
	case client != nil:
		s := &Source{store: NewStore(policy.Default()), desc: fmt.Sprintf("policy ConfigMap %s/%s", opts.Namespace, opts.Name)}
		s.cm = NewWatcher(client, opts, s.store, recorder)
		return s, nil
	default:
		return &Source{store: NewStore(policy.Default()), desc: "built-in policy"}, nil
	}
}

// Store holds the policy in force.
func (s *Source) Store() *policy.Store { return s.store }

// String names the source for logs and readiness messages, e.g. "policy file /etc/p.yaml".
func (s *Source) String() string { return s.desc }

// OnChange sets f to be called after a new policy is put in force. Call it before Start.
func (s *Source) OnChange(f func(*policy.Policy)) {
	if s.file != nil {
		s.file.OnChange = f
	}
	if s.cm != nil {
		s.cm.OnChange = f
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
// Watcher.HasSynced), or there is no source and the built-in policy is in force by design
// (always true). Until then the binary must not act on the policy in force: the labeler
// writes no label and the extender answers 503.
func (s *Source) HasSynced() bool {
	if s.cm != nil {
		return s.cm.HasSynced()
	}
	return true
}
