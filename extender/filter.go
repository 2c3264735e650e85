package extender

import (
	"net/http"

	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// notCachedReason is the FailedNodes reason for a node name the node cache has not seen yet.
// FailedNodes (not FailedAndUnresolvableNodes): the node is only new, the next attempt will
// judge it.
const notCachedReason = "node not in the rktsched-extender node cache yet"

var notCachedJSON = []byte(`"` + notCachedReason + `"`)

// filter answers ExtenderArgs with ExtenderFilterResult: the nodes whose runtime can run the
// pod pass; the others go to FailedAndUnresolvableNodes with the policy's reason, because no
// preemption can give a node a capability its runtime lacks.
func (s *Server) filter(w http.ResponseWriter, r *http.Request, st *stats) error {
	var c call
	if err := s.readCall(w, r, &c, st, "Nodes", "NodeNames"); err != nil {
		return err
	}
	defer c.release()
	nodes, names := c.members[1], c.members[2]
	switch {
	case names != nil:
		return s.filterNames(w, &c, names, st)
	case nodes != nil:
		return s.filterNodes(w, &c, nodes, st)
	}
	return badRequest("the request has neither Nodes nor NodeNames")
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

// filterNames answers the nodeCacheCapable form: names in, names out, nodes from the cache.
func (s *Server) filterNames(w http.ResponseWriter, c *call, names []byte, st *stats) error {
	if s.nodes == nil {
		return errNoNodeCache
	}
	passed, failed, unresolvable := getBuffer(), getBuffer(), getBuffer()
	defer passed.release()
	defer failed.release()
	defer unresolvable.release()
	passed.b = append(passed.b, `{"Nodes":null,"NodeNames":[`...)
	failed.b = append(failed.b, `],"FailedNodes":{`...)
	unresolvable.b = append(unresolvable.b, `},"FailedAndUnresolvableNodes":{`...)
	refused := newRefusals(c.policy)
	var nPassed, nFailed, nRefused int
	err := forEachName(names, func(raw, key []byte) {
		st.nodes++
		np, ok := s.nodes.lookup(c.policy, key)
		if !ok {
			failed.b = appendKey(failed.b, raw, nFailed == 0)
			failed.b = append(failed.b, notCachedJSON...)
			nFailed++
			return
		}
		v := c.pod.verdict(np.Class)
		if v.fits {
			passed.b = appendString(passed.b, raw, nPassed == 0)
			nPassed++
			return
		}
		unresolvable.b = appendKey(unresolvable.b, raw, nRefused == 0)
		unresolvable.b = append(unresolvable.b, v.reason...)
		nRefused++
		refused[np.Class.ID]++
	})
	if err != nil {
		return badRequest("malformed NodeNames: %v", err)
	}
	st.refused, st.unknown = nRefused, nFailed
	s.countRefusals(c, refused)
	s.metrics.unknown.WithLabelValues("filter").Add(float64(nFailed))
	// One contiguous answer, written at once.
	passed.b = append(append(append(passed.b, failed.b...), unresolvable.b...), filterTail...)
	writeJSON(w, passed.b)
	return nil
}

var filterTail = []byte(`},"Error":""}`)

// filterNodes answers the full-Node form: the Nodes that pass are written back byte for byte.
func (s *Server) filterNodes(w http.ResponseWriter, c *call, nodes []byte, st *stats) error {
	passed, unresolvable := getBuffer(), getBuffer()
	defer passed.release()
	defer unresolvable.release()
	const head = `{"Nodes":{"metadata":{},"items":[`
	const middle = `]},"NodeNames":null,"FailedNodes":{},"FailedAndUnresolvableNodes":{`
	if cap(passed.b) < len(nodes)+len(head)+len(middle) {
		passed.b = make([]byte, 0, len(nodes)+len(head)+len(middle)) // at most every node passes
	}
	refused := newRefusals(c.policy)
	var nPassed, nRefused int
	reset := func() {
		passed.b = append(passed.b[:0], head...)
		unresolvable.b = append(unresolvable.b[:0], middle...)
		clear(refused)
		nPassed, nRefused, st.nodes = 0, 0, 0
	}
	reset()
	err := forEachNode(nodes, reset, func(item []byte, f *nodeFields) error {
		st.nodes++
		np, err := s.recent.profileFor(c.policy, f)
		if err != nil {
			return err
		}
		v := c.pod.verdict(np.Class)
		if v.fits {
			if nPassed > 0 {
				passed.b = append(passed.b, ',')
			}
			passed.b = append(passed.b, item...)
			nPassed++
			return nil
		}
		unresolvable.b = appendKey(unresolvable.b, f.name, nRefused == 0)
		unresolvable.b = append(unresolvable.b, v.reason...)
		nRefused++
		refused[np.Class.ID]++
		return nil
	})
	if err != nil {
		return badRequest("malformed Nodes: %v", err)
	}
	st.refused = nRefused
	s.countRefusals(c, refused)
	passed.b = append(append(passed.b, unresolvable.b...), filterTail...)
	writeJSON(w, passed.b)
	return nil
}

var errNoNodeCache = badRequest("this extender runs --standalone, without a node cache: " +
	"it needs full Nodes (nodeCacheCapable: false), not NodeNames")

// forEachName hands fn every name of a NodeNames array: raw as it is between its quotes in
// the request, key as the name's bytes.
func forEachName(names []byte, fn func(raw, key []byte)) error {
	var sc jsonscan.Scanner
	sc.Reset(names)
	if err := sc.EnterArray(); err != nil {
		return err
	}
	for first := true; ; first = false {
		ok, err := sc.NextElem(first)
		if err != nil || !ok {
			return err
		}
		raw, esc, err := sc.StringOrNull()
		if err != nil {
			return err
		}
		key := raw
		if esc {
			key = []byte(jsonscan.Unquote(raw, true))
		}
		fn(raw, key)
	}
}

// forEachNode hands fn every element of a NodeList's items with what the policy reads of
// it. reset is called when an items member starts: a later duplicate replaces an earlier
// one, as in encoding/json.
func forEachNode(list []byte, reset func(), fn func(item []byte, f *nodeFields) error) error {
	var sc jsonscan.Scanner
	sc.Reset(list)
	if err := sc.EnterObject(); err != nil {
		return err
	}
	var f nodeFields
	for first := true; ; first = false {
		key, esc, ok, err := sc.NextKey(first)
		if err != nil || !ok {
			return err
		}
		if !jsonscan.FieldIs(key, esc, "items") {
			if err := sc.Skip(); err != nil {
				return err
			}
			continue
		}
		reset()
		if sc.Null() {
			continue
		}
		if err := sc.EnterArray(); err != nil {
			return err
		}
		for first := true; ; first = false {
			ok, err := sc.NextElem(first)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			sc.Peek()
			start := sc.Pos()
			if err := scanNode(&sc, &f); err != nil {
				return err
			}
			if err := fn(sc.Data()[start:sc.Pos()], &f); err != nil {
				return err
			}
		}
	}
}
