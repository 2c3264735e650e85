package extender

import (
	"net/http"
)

// unknownScore is the score of a node the node cache has not seen yet: nothing says it
// suits the pod, and the filter has already told the scheduler to come back later.
var unknownScore = []byte("0")

// prioritize answers ExtenderArgs with a HostPriorityList: 0..10 per node from the pod's
// soft needs (a pod that pulls Always prefers Docker's image cache to rkt), 0 where the pod
// does not fit at all.
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
	out := getBuffer()
	defer out.release()
	out.b = append(out.b, '[')
	add := func(raw, score []byte) {
		if st.nodes > 0 {
			out.b = append(out.b, ',')
		}
		st.nodes++
		out.b = append(out.b, `{"Host":"`...)
		out.b = append(out.b, raw...)
		out.b = append(out.b, `","Score":`...)
		out.b = append(out.b, score...)
		out.b = append(out.b, '}')
	}
	var err error
	if names != nil {
		err = forEachName(names, func(raw, key []byte) {
			np, ok := s.nodes.lookup(c.policy, key)
			if !ok {
				st.unknown++
				add(raw, unknownScore)
				return
			}
			v := c.pod.verdict(np.Class)
			if !v.fits {
				st.refused++
			}
			add(raw, v.score)
		})
		s.metrics.unknown.WithLabelValues("prioritize").Add(float64(st.unknown))
	} else {
		reset := func() { out.b, st.nodes, st.refused = append(out.b[:0], '['), 0, 0 }
		err = forEachNode(nodes, reset, func(_ []byte, f *nodeFields) error {
			np, err := s.recent.profileFor(c.policy, f)
			if err != nil {
				return err
			}
			v := c.pod.verdict(np.Class)
			if !v.fits {
				st.refused++
			}
			add(f.name, v.score)
			return nil
		})
	}
	if err != nil {
		return badRequest("malformed node list: %v", err)
	}
	out.b = append(out.b, ']')
	writeJSON(w, out.b)
	return nil
}
