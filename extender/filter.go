package extender

import (
	"net/http"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// notCachedReason is the FailedNodes reason for a node name the node cache has not seen yet.
// FailedNodes (not FailedAndUnresolvableNodes): the node is only new, the next attempt will
// judge it.
const notCachedReason = "node not in the rktsched-extender node cache yet"

var notCachedJSON = wire.Quote(notCachedReason)

// filter answers ExtenderArgs with ExtenderFilterResult: the nodes whose runtime can run the
// pod pass; the others go to FailedAndUnresolvableNodes with the policy's reason, because no
// preemption can give a node a capability its runtime lacks. A node name the cache has not
// seen yet goes to FailedNodes.
func (s *Server) filter(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readArgs(w, r, c); err != nil {
		return err
	}
	st, res := c.stats, &c.filter
	res.Reset(c.args.HasNames)
	refused := newRefusals(c.policy)
	if c.args.HasNames {
		for _, name := range c.args.Names {
			np, ok := s.nodes.lookup(c.policy, name.Key)
			if !ok {
				res.Fail(name, notCachedJSON)
				st.unknown++
				continue
			}
			if v := c.pod.verdict(np.Class); v.fits {
				res.PassName(name)
			} else {
				res.Refuse(name, v.reason)
				refused[np.Class.ID]++
			}
		}
		st.nodes = len(c.args.Names)
		s.metrics.unknown.WithLabelValues("filter").Add(float64(st.unknown))
	} else {
		res.Grow(len(c.body)) // at most every node passes
		for i := range c.args.Nodes {
			n := &c.args.Nodes[i]
			np, err := s.remembered.profileFor(c.policy, n, &c.scratch)
			if err != nil {
				return badRequest("%v", err)
			}
			if v := c.pod.verdict(np.Class); v.fits {
				res.PassNode(n)
			} else {
				res.Refuse(n.Name, v.reason)
				refused[np.Class.ID]++
			}
		}
		st.nodes = len(c.args.Nodes)
	}
	for _, n := range refused {
		st.refused += n
	}
	s.countRefusals(c, refused)
	c.out = res.AppendTo(c.out[:0])
	writeJSON(w, c.out)
	return nil
}

// refusals counts refused nodes by class, for the metrics.
type refusals []int

func newRefusals(p *policy.Policy) refusals { return make(refusals, len(p.Classes())) }

func (s *Server) countRefusals(c *call, r refusals) {
	for id, n := range r {
		if n == 0 {
			continue
		}
		for _, label := range c.pod.verdicts[id].refusedFor {
			s.metrics.refused.WithLabelValues(label).Add(float64(n))
		}
	}
}
