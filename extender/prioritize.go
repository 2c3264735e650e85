package extender

import (
	"net/http"
	"strconv"
	"sync"
)

// scored is one node of a prioritize answer: its name as it lies in the request, and its score.
type scored struct {
	host  []byte
	score int64
}

var scoredLists = sync.Pool{New: func() any { return new([]scored) }}

// prioritize answers ExtenderArgs with a HostPriorityList from the pod's soft needs (a pod
// that pulls Always prefers Docker's image cache to rkt); a node the pod does not fit, or the
// cache has not seen yet, scores 0.
//
// Scores are relative. kube-scheduler adds each listed node's score to its plugins' scores
// and picks the highest total, so taking the lowest score off every node changes no
// decision; nodes left at 0 are not listed, which kube-scheduler reads as 0. A pod that
// scores alike everywhere so gets [], and one that prefers Docker lists only the Docker
// nodes, rather than one entry per node for kube-scheduler to decode and merge.
func (s *Server) prioritize(w http.ResponseWriter, r *http.Request, st *stats) error {
	var c call
	if err := s.readCall(w, r, &c, st, "Nodes", "NodeNames"); err != nil {
		return err
	}
	defer c.release()
	nodes, names := c.members[1], c.members[2]
	if nodes == nil && names == nil {
		return badRequest("the request has neither Nodes nor NodeNames")
	}
	if names != nil && s.nodes == nil {
		return errNoNodeCache
	}
	list := scoredLists.Get().(*[]scored)
	defer func() {
		clear(*list) // no references into this request's body
		*list = (*list)[:0]
		scoredLists.Put(list)
	}()
	// v is nil for a node the cache has not seen: nothing says it suits the pod, and the
	// filter has told kube-scheduler to come back later.
	add := func(host []byte, v *classVerdict) {
		var score int64
		if v != nil {
			score = v.score
			if !v.fits {
				st.refused++
			}
		}
		*list = append(*list, scored{host: host, score: score})
	}
	var err error
	if names != nil {
		err = forEachName(names, func(raw, key []byte) {
			np, ok := s.nodes.lookup(c.policy, key)
			if !ok {
				st.unknown++
				add(raw, nil)
				return
			}
			add(raw, c.pod.verdict(np.Class))
		})
		s.metrics.unknown.WithLabelValues("prioritize").Add(float64(st.unknown))
	} else {
		reset := func() { *list, st.refused = (*list)[:0], 0 }
		err = forEachNode(nodes, reset, func(_ []byte, f *nodeFields) error {
			np, err := s.recent.profileFor(c.policy, f)
			if err != nil {
				return err
			}
			add(f.name, c.pod.verdict(np.Class))
			return nil
		})
	}
	if err != nil {
		return badRequest("malformed node list: %v", err)
	}
	st.nodes = len(*list)
	out := getBuffer()
	defer out.release()
	out.b = appendRelativeScores(out.b, *list)
	writeJSON(w, out.b)
	return nil
}

// appendRelativeScores appends the HostPriorityList of the nodes scoring above the lowest
// score, each less that lowest score.
func appendRelativeScores(b []byte, list []scored) []byte {
	lowest := int64(0)
	if len(list) > 0 {
		lowest = list[0].score
	}
	for _, n := range list {
		lowest = min(lowest, n.score)
	}
	b = append(b, '[')
	first := true
	for _, n := range list {
		if n.score == lowest {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `{"Host":"`...)
		b = append(b, n.host...)
		b = append(b, `","Score":`...)
		b = strconv.AppendInt(b, n.score-lowest, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}
