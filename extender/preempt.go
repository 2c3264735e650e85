package extender

import (
	"net/http"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// preempt answers ExtenderPreemptionArgs with ExtenderPreemptionResult: it drops every
// candidate node whose runtime can never run the pod (evicting victims there would be for
// nothing) and keeps the victims of the others unchanged. kube-scheduler sends full victim
// pods (NodeNameToVictims) or, when nodeCacheCapable, their UIDs (NodeNameToMetaVictims); the
// answer is always NodeNameToMetaVictims.
//
// Preempt is sent node names only, and judges only what it can judge from content it trusts:
// the node cache (names mode). A node the cache has not seen is dropped (too new to have been
// judged; the pod's next attempt will see it). In standalone mode nothing a preempt request
// carries says what a node runs, and a node a filter call once described under that name may
// be anyone's invention (issue 26): every node is dropped, so an extender without a node cache
// never lets kube-scheduler evict pods for a node the pod may not run on. Run names mode for
// preemption.
func (s *Server) preempt(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readPreemptArgs(w, r, c); err != nil {
		return err
	}
	victims := c.preempt.Victims
	c.out = wire.AppendPreemptionResult(c.out[:0], victims, func(i int) bool { return s.keep(c, victims[i].Node.Key) })
	s.metrics.unknown.WithLabelValues("preempt").Add(float64(c.stats.unknown))
	writeJSON(w, c.out)
	return nil
}

// keep says whether preemption may go on considering the named node for the pod.
func (s *Server) keep(c *call, name []byte) bool {
	st := c.stats
	st.nodes++
	var np policy.NodeProfile
	ok := false
	if s.nodes != nil {
		np, ok = s.nodes.lookup(c.policy, name)
	}
	if !ok {
		st.unknown++
		st.refused++
		return false
	}
	if !c.pod.verdict(np.Class).fits {
		st.refused++
		return false
	}
	return true
}
