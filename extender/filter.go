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
		c.classes = s.nodes.classes(c.policy, c.args.Names, c.classes[:0])
		// The classes of the nodes passed take the place of the ones read (passed ≤ i), in
		// order, for prioritize (passed.go).
		passed, names := 0, s.passed.hasher()
		for i, name := range c.args.Names {
			class := c.classes[i]
			if class == nil {
				res.Fail(name, notCachedJSON)
				st.unknown++
				continue
			}
			if v := c.pod.verdict(class); v.fits {
				res.PassName(name)
				c.classes[passed] = class
				passed++
				names.add(name.Key)
			} else {
				res.Refuse(name, v.reason)
				refused.add(class, v)
			}
		}
		s.passed.remember(c.pod, names.sum(), c.classes[:passed])
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
				refused.add(np.Class, v)
			}
		}
		st.nodes = len(c.args.Nodes)
	}
	st.refused += refused.total
	s.countRefusals(refused)
	c.out = res.AppendTo(c.out[:0])
	writeJSON(w, c.out)
	return nil
}

// refusals counts refused nodes by class, for the metrics: a class's verdict is the same for
// all its nodes, so one count per class stands for all their labels.
type refusals struct {
	byID     []int
	verdicts []*classVerdict // by Class.ID, the verdict counted
	total    int
}

func newRefusals(p *policy.Policy) *refusals {
	n := len(p.Classes())
	return &refusals{byID: make([]int, n), verdicts: make([]*classVerdict, n)}
}

func (r *refusals) add(c *policy.Class, v *classVerdict) {
	r.total++
	id := c.ID
	if id < 0 {
		id = len(r.byID) // a class made for one use: counted on its own
	}
	for id >= len(r.byID) {
		r.byID, r.verdicts = append(r.byID, 0), append(r.verdicts, nil)
	}
	if c.ID < 0 {
		r.byID[id], r.verdicts[id] = 1, v
		return
	}
	r.byID[id]++
	r.verdicts[id] = v
}

func (s *Server) countRefusals(r *refusals) {
	for id, n := range r.byID {
		if n == 0 {
			continue
		}
		for _, label := range r.verdicts[id].refusedFor {
			s.metrics.refused.WithLabelValues(label).Add(float64(n))
		}
	}
}
