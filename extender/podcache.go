package extender

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// podEntry is a pod's analysis under one policy, with each class's verdict already in the
// shape the answers need, so judging a node is one slice index and a copy of shared bytes.
type podEntry struct {
	policy   *policy.Policy
	verdicts []classVerdict // by Class.ID
	ref      klog.ObjectRef
	// raw is the Pod's JSON the analysis was made from, and added when.
	raw   []byte
	added time.Time
}

type classVerdict struct {
	fits bool
	// score is the Score, 0..10; 0 when the pod does not fit.
	score int64
	// reason is the refusal reason as a JSON string, the same bytes for every node.
	reason []byte
	// refusedFor are the metric labels a refused node counts under.
	refusedFor []string
}

// refusedUnknownNeed labels refusals caused by a typo in the rktsched.io/needs annotation,
// which refuses every node without any capability missing.
const refusedUnknownNeed = "unknown-need"

func newPodEntry(p *policy.Policy, pod *v1.Pod) *podEntry {
	a := p.Analyze(pod)
	e := &podEntry{policy: p, verdicts: make([]classVerdict, len(p.Classes())), ref: klog.KObj(pod)}
	for _, c := range p.Classes() {
		v := a.Verdict(c)
		// Scores outside 0..10 are added up by kube-scheduler as they are: never send one.
		score := min(max(v.Score, 0), policy.MaxScore)
		if !v.Fits {
			score = 0
		}
		cv := classVerdict{fits: v.Fits, score: score}
		if !v.Fits {
			cv.reason = wire.Quote(v.Reason)
			for _, m := range v.Missing {
				cv.refusedFor = append(cv.refusedFor, string(m))
			}
			if len(cv.refusedFor) == 0 {
				cv.refusedFor = []string{refusedUnknownNeed}
			}
		}
		e.verdicts[c.ID] = cv
	}
	return e
}

// verdict returns the verdict for nodes of class c, which comes from e.policy.
func (e *podEntry) verdict(c *policy.Class) *classVerdict { return &e.verdicts[c.ID] }

// Bounds of the pod cache. kube-scheduler works on one pod at a time, and its verbs for a
// pod follow each other within seconds: a few hundred analyses cover any backlog of retries.
// A pod larger than maxCachedPodBytes is analysed on every call, so the cache holds at most
// podCacheSize × maxCachedPodBytes of Pod JSON whatever callers send.
const (
	podCacheSize      = 1024
	maxCachedPodBytes = 64 << 10
)

// podCache keeps analyses for the few seconds a pod spends in one scheduling cycle (filter,
// prioritize, maybe preempt), keyed by the Pod's JSON itself: a hash of it finds the entry,
// and the entry is used only if its JSON is the same, byte for byte, and its policy is the
// one in force. Nothing the caller says about the pod (UID, resourceVersion) is trusted: a
// body that differs in any byte is analysed afresh.
//
// It is a bounded LRU (golang-lru/v2) with a TTL checked on read. go-cache, which the
// extender used before, has neither a size bound nor a clock that tests can move.
type podCache struct {
	lru   *lru.Cache[uint64, *podEntry]
	ttl   time.Duration
	clock clock.PassiveClock
}

func newPodCache(ttl time.Duration, clk clock.PassiveClock) *podCache {
	c, err := lru.New[uint64, *podEntry](podCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return &podCache{lru: c, ttl: ttl, clock: clk}
}

func (pc *podCache) flush() { pc.lru.Purge() }

// Len is how many analyses are cached.
func (pc *podCache) Len() int { return pc.lru.Len() }

// analyze returns the analysis of the pod whose JSON is raw, under p: from the cache when the
// same JSON was analysed under p within the TTL, else by decoding it.
func (pc *podCache) analyze(raw []byte, p *policy.Policy) (*podEntry, error) {
	key := xxhash.Sum64(raw)
	now := pc.clock.Now()
	if e, ok := pc.lru.Get(key); ok && e.policy == p && bytes.Equal(e.raw, raw) && now.Sub(e.added) < pc.ttl {
		return e, nil
	}
	var pod v1.Pod
	if err := wire.Unmarshal(raw, &pod); err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	e := newPodEntry(p, &pod)
	if len(raw) <= maxCachedPodBytes {
		e.raw, e.added = bytes.Clone(raw), now
		pc.lru.Add(key, e)
	}
	return e, nil
}
