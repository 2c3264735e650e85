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

// podEntry is a pod's analysis under one policy and one generation of the objects it names,
// with each class's verdict already in the shape the answers need, so judging a node is one
// slice index and a copy of shared bytes.
type podEntry struct {
	policy     *policy.Policy
	generation int64 // of the cluster objects the analysis read
	analysis   *policy.Analysis
	verdicts   []classVerdict // by Class.ID, for the classes the policy had then
	ref        klog.ObjectRef
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

// Metric labels of refusals that no missing capability causes: a typo in the
// rktsched.io/needs annotation, or an object the pod names that does not exist.
const (
	refusedUnknownNeed   = "unknown-need"
	refusedMissingObject = "missing-object"
)

func newPodEntry(p *policy.Policy, pod *v1.Pod, objs policy.Objects, generation int64) *podEntry {
	a := p.AnalyzeWith(pod, objs)
	classes := p.Classes()
	e := &podEntry{policy: p, generation: generation, analysis: a, verdicts: make([]classVerdict, len(classes)), ref: klog.KObj(pod)}
	for _, c := range classes {
		e.verdicts[c.ID] = e.judge(c)
	}
	return e
}

func (e *podEntry) judge(c *policy.Class) classVerdict {
	v := e.analysis.Verdict(c)
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
		switch {
		case len(cv.refusedFor) > 0:
		case len(e.analysis.MissingObjects) > 0:
			cv.refusedFor = []string{refusedMissingObject}
		default:
			cv.refusedFor = []string{refusedUnknownNeed}
		}
	}
	return cv
}

// verdict returns the verdict for nodes of class c, which comes from e.policy. A class the
// policy met after the analysis is judged on the call.
func (e *podEntry) verdict(c *policy.Class) *classVerdict {
	if c.ID >= 0 && c.ID < len(e.verdicts) {
		return &e.verdicts[c.ID]
	}
	cv := e.judge(c)
	return &cv
}

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
// same JSON was analysed under p and the same objects within the TTL, else by decoding it.
// The objects the pod names are read from objs (nil: none exist), whose generation says
// whether a cached analysis read the same ones. Before decoding, the Pod is measured and
// refused past its bounds (wire.ScanPod, a *wire.LimitError), and reserve is asked for what
// decoding it will hold; its error is returned as it is.
func (pc *podCache) analyze(raw []byte, p *policy.Policy, objs policy.Objects, generation int64, reserve func(wire.PodShape) error) (*podEntry, error) {
	key := xxhash.Sum64(raw)
	now := pc.clock.Now()
	if e, ok := pc.lru.Get(key); ok && e.policy == p && e.generation == generation && bytes.Equal(e.raw, raw) && now.Sub(e.added) < pc.ttl {
		return e, nil
	}
	sh, err := wire.ScanPod(raw)
	if err != nil {
		return nil, fmt.Errorf("Pod: %w", err) //nolint:staticcheck // Pod is the request's field, named as the request names it
	}
	if err := reserve(sh); err != nil {
		return nil, err
	}
	var pod v1.Pod
	if err := wire.UnmarshalPod(raw, &pod); err != nil {
		return nil, fmt.Errorf("decoding Pod: %w", err)
	}
	e := newPodEntry(p, &pod, objs, generation)
	if len(raw) <= maxCachedPodBytes {
		e.raw, e.added = bytes.Clone(raw), now
		pc.lru.Add(key, e)
	}
	return e, nil
}
