package extender

import (
	"sync"
	"time"

	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// recentNodes remembers the nodes that full-Node requests carried, by name and
// resourceVersion, so that a steady cluster classifies each version of a node once, and
// preempt (which is sent node names only) can judge nodes a filter call has shown. A node
// not seen for one to two periods is forgotten, which bounds the memory to the live nodes.
type recentNodes struct {
	period time.Duration

	mu       sync.Mutex
	cur, old map[string]*nodeEntry
	rotated  time.Time
}

func newRecentNodes(period time.Duration) *recentNodes {
	return &recentNodes{period: period, cur: map[string]*nodeEntry{}, old: map[string]*nodeEntry{}, rotated: time.Now()}
}

// get returns the node of that name, if it is remembered at that resourceVersion. Nodes
// without a resourceVersion are never remembered: nothing would tell when they change.
func (r *recentNodes) get(name, resourceVersion []byte) *nodeEntry {
	if len(resourceVersion) == 0 {
		return nil
	}
	e := r.anyVersion(name)
	if e == nil || e.ResourceVersion != string(resourceVersion) {
		return nil
	}
	return e
}

// anyVersion returns the last version of the named node seen.
func (r *recentNodes) anyVersion(name []byte) *nodeEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.cur[string(name)]; e != nil {
		return e
	}
	e := r.old[string(name)]
	if e != nil {
		r.cur[string(name)] = e
	}
	return e
}

func (r *recentNodes) put(name string, e *nodeEntry) {
	if e.ResourceVersion == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.rotated) > r.period {
		r.old, r.cur, r.rotated = r.cur, make(map[string]*nodeEntry, len(r.cur)), now
	}
	r.cur[name] = e
}

// reset forgets every node (tests).
func (r *recentNodes) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur, r.old = map[string]*nodeEntry{}, map[string]*nodeEntry{}
}

// profileFor returns the profile under p of a node read from a request.
func (r *recentNodes) profileFor(p *policy.Policy, f *nodeFields) (policy.NodeProfile, error) {
	rv := f.resourceVersion
	if f.rvEsc {
		rv = []byte(jsonscan.Unquote(rv, true))
	}
	if e := r.get(f.nameKey(), rv); e != nil {
		return e.profile(p), nil
	}
	e, err := f.entry()
	if err != nil {
		return policy.NodeProfile{}, err
	}
	np := e.profile(p)
	r.put(f.nameString(), e)
	return np, nil
}
