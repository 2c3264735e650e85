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
// Preempt is sent node names only. A node is judged from the node cache, else from the last
// full Node a filter call carried under that name. A node known to neither is dropped when
// there is a node cache (it is too new to have been judged; the pod's next attempt will see
// it), and kept in standalone mode, where nothing else could ever judge it and dropping it
// would turn preemption off.
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
		if e := s.remembered.byNodeName(name); e != nil {
			np, ok = e.profile(c.policy), true
		}
	}
	if !ok {
		st.unknown++
		if s.nodes != nil {
			st.refused++
		}
		return s.nodes == nil
	}
	if !c.pod.verdict(np.Class).fits {
		st.refused++
		return false
	}
	return true
}
