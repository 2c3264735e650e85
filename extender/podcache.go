package extender

import (
	"encoding/json"
	"fmt"
	"time"

	gocache "github.com/patrickmn/go-cache"
	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// podEntry is a pod's analysis under one policy, with each class's verdict already in the
// shape the answers need, so judging a node is one slice index and a copy of shared bytes.
type podEntry struct {
	policy   *policy.Policy
	analysis *policy.Analysis
	verdicts []classVerdict // by Class.ID
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

func newPodEntry(p *policy.Policy, a *policy.Analysis) *podEntry {
	e := &podEntry{policy: p, analysis: a, verdicts: make([]classVerdict, len(p.Classes()))}
	for _, c := range p.Classes() {
		v := a.Verdict(c)
		// Scores outside 0..10 are added up by kube-scheduler as they are: never send one.
		score := min(max(v.Score, 0), policy.MaxScore)
		if !v.Fits {
			score = 0
		}
		cv := classVerdict{fits: v.Fits, score: score}
		if !v.Fits {
			cv.reason, _ = json.Marshal(v.Reason)
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

// podCache keeps analyses for the few seconds a pod spends in one scheduling cycle (filter,
// prioritize, maybe preempt), keyed by UID and resourceVersion: any change to the pod makes
// a new resourceVersion and so a new analysis.
type podCache struct {
	c *gocache.Cache
}

func newPodCache(ttl time.Duration) *podCache {
	return &podCache{c: gocache.New(ttl, 2*ttl)}
}

func (pc *podCache) flush() { pc.c.Flush() }

// podMeta is what identifies a pod, read without decoding the pod.
type podMeta struct {
	namespace, name, uid, resourceVersion string
}

func (m *podMeta) ref() klog.ObjectRef { return klog.KRef(m.namespace, m.name) }

// analyze returns the analysis of the pod whose JSON is raw, under p: from the cache when the
// same pod (UID and resourceVersion) was analysed under p, else by decoding it.
func (s *Server) analyze(raw []byte, p *policy.Policy) (*podEntry, podMeta, error) {
	meta, err := readPodMeta(raw)
	if err != nil {
		return nil, meta, fmt.Errorf("decoding Pod: %w", err)
	}
	key := ""
	if meta.uid != "" {
		key = meta.uid + "/" + meta.resourceVersion
		if got, ok := s.pods.c.Get(key); ok {
			if e := got.(*podEntry); e.policy == p {
				return e, meta, nil
			}
		}
	}
	var pod v1.Pod
	if err := json.Unmarshal(raw, &pod); err != nil {
		return nil, meta, fmt.Errorf("decoding Pod: %w", err)
	}
	e := newPodEntry(p, p.Analyze(&pod))
	if key != "" {
		s.pods.c.SetDefault(key, e)
	}
	return e, meta, nil
}

// readPodMeta reads metadata.{namespace,name,uid,resourceVersion} of a Pod object.
func readPodMeta(raw []byte) (podMeta, error) {
	var m podMeta
	var sc jsonscan.Scanner
	sc.Reset(raw)
	if err := sc.EnterObject(); err != nil {
		return m, err
	}
	for first := true; ; first = false {
		key, esc, ok, err := sc.NextKey(first)
		if err != nil || !ok {
			return m, err
		}
		if !jsonscan.FieldIs(key, esc, "metadata") {
			if err := sc.Skip(); err != nil {
				return m, err
			}
			continue
		}
		if sc.Null() {
			m = podMeta{}
			continue
		}
		if err := readObjectMeta(&sc, &m); err != nil {
			return m, err
		}
	}
}

func readObjectMeta(sc *jsonscan.Scanner, m *podMeta) error {
	if err := sc.EnterObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, esc, ok, err := sc.NextKey(first)
		if err != nil || !ok {
			return err
		}
		var dst *string
		switch {
		case jsonscan.FieldIs(key, esc, "namespace"):
			dst = &m.namespace
		case jsonscan.FieldIs(key, esc, "name"):
			dst = &m.name
		case jsonscan.FieldIs(key, esc, "uid"):
			dst = &m.uid
		case jsonscan.FieldIs(key, esc, "resourceVersion"):
			dst = &m.resourceVersion
		default:
			if err := sc.Skip(); err != nil {
				return err
			}
			continue
		}
		v, vesc, err := sc.StringOrNull()
		if err != nil {
			return err
		}
		*dst = jsonscan.Unquote(v, vesc)
	}
}
