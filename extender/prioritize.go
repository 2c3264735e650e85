package extender

import (
	"net/http"

	"github.com/rktsched/rktsched/extender/internal/wire"
)

// prioritize answers ExtenderArgs with a HostPriorityList from the pod's soft needs (a pod
// that pulls Always prefers Docker's image cache to rkt); a node the pod does not fit, or the
// cache has not seen yet, scores 0.
//
// Scores are relative. kube-scheduler adds each listed node's score to its plugins' scores
// and picks the highest total, so taking the lowest score off every node changes no
// decision; nodes left at 0 are not listed, which kube-scheduler reads as 0. A pod that
// scores alike everywhere so gets [], and one that prefers Docker lists only the Docker
// nodes, rather than one entry per node for kube-scheduler to decode and merge.
func (s *Server) prioritize(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readArgs(w, r, c); err != nil {
		return err
	}
	st, list := c.stats, c.scores[:0]
	// v is nil for a node the cache has not seen: nothing says it suits the pod, and the
	// filter has told kube-scheduler to come back later.
	add := func(host wire.Name, v *classVerdict) {
		var score int64
		if v != nil {
			score = v.score
			if !v.fits {
				st.refused++
			}
		}
		list = append(list, wire.HostPriority{Host: host, Score: score})
	}
	if c.args.HasNames {
		var recalled bool
		if c.classes, recalled = s.passed.recall(c.pod, c.args.Names, c.classes[:0]); !recalled {
			c.classes = s.nodes.classes(c.policy, c.args.Names, c.classes[:0])
		}
		for i, name := range c.args.Names {
			if c.classes[i] == nil {
				st.unknown++
				add(name, nil)
				continue
			}
			add(name, c.pod.verdict(c.classes[i]))
		}
		s.metrics.unknown.WithLabelValues("prioritize").Add(float64(st.unknown))
	} else {
		for i := range c.args.Nodes {
			n := &c.args.Nodes[i]
			np, err := s.remembered.profileFor(c.policy, n, &c.scratch)
			if err != nil {
				return badRequest("%v", err)
			}
			add(n.Name, c.pod.verdict(np.Class))
		}
	}
	st.nodes = len(list)
	c.scores = relativeScores(list)
	c.out = wire.AppendHostPriorities(c.out[:0], c.scores)
	writeJSON(w, c.out)
	return nil
}

// relativeScores takes the lowest score off every node and drops the nodes left at 0, in place.
func relativeScores(list []wire.HostPriority) []wire.HostPriority {
	lowest := int64(0)
	if len(list) > 0 {
		lowest = list[0].Score
	}
	for _, hp := range list {
		lowest = min(lowest, hp.Score)
	}
	out := list[:0]
	for _, hp := range list {
		if hp.Score > lowest {
			out = append(out, wire.HostPriority{Host: hp.Host, Score: hp.Score - lowest})
		}
	}
	return out
}
