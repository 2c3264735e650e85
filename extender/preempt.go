package extender

import (
	"net/http"
	"strconv"

	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// preempt answers ExtenderPreemptionArgs with ExtenderPreemptionResult: it drops every
// candidate node whose runtime can never run the pod (evicting victims there would be for
// nothing) and keeps the victims of the others unchanged. kube-scheduler sends full victim
// pods (NodeNameToVictims) or, when nodeCacheCapable, their UIDs (NodeNameToMetaVictims); the
// answer is always NodeNameToMetaVictims.
//
// Preempt is sent node names only. A node is judged from the node cache, else from the last
// full Node a filter call carried. A node known to neither is dropped when there is a node
// cache (it is too new to have been judged; the pod's next attempt will see it), and kept in
// standalone mode, where nothing else could ever judge it and dropping it would turn
// preemption off.
func (s *Server) preempt(w http.ResponseWriter, r *http.Request, st *stats) error {
	var c call
	if err := s.readCall(w, r, &c, st, "NodeNameToVictims", "NodeNameToMetaVictims"); err != nil {
		return err
	}
	defer c.release()
	full, meta := c.members[1], c.members[2]
	out := getBuffer()
	defer out.release()
	out.b = append(out.b, `{"NodeNameToMetaVictims":{`...)
	var err error
	switch {
	case meta != nil:
		err = s.keptVictims(&c, meta, false, out, st)
	case full != nil:
		err = s.keptVictims(&c, full, true, out, st)
	}
	if err != nil {
		return badRequest("malformed victims: %v", err)
	}
	s.metrics.unknown.WithLabelValues("preempt").Add(float64(st.unknown))
	out.b = append(out.b, '}', '}')
	writeJSON(w, out.b)
	return nil
}

// keep says whether preemption may go on considering the named node for the pod.
func (s *Server) keep(c *call, name []byte, st *stats) bool {
	st.nodes++
	var np policy.NodeProfile
	ok := false
	if s.nodes != nil {
		np, ok = s.nodes.lookup(c.policy, name)
	}
	if !ok {
		if e := s.recent.anyVersion(name); e != nil {
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

// keptVictims answers the victims of the nodes preemption may keep, from an object keyed by
// node name: MetaVictims are kept byte for byte once checked to be what encoding/json would
// accept; full Victims (full) are turned into MetaVictims (their pods' UIDs).
func (s *Server) keptVictims(c *call, victims []byte, full bool, out *buffer, st *stats) error {
	var sc jsonscan.Scanner
	sc.Reset(victims)
	if err := sc.EnterObject(); err != nil {
		return err
	}
	kept := 0
	for first := true; ; first = false {
		name, esc, ok, err := sc.NextKey(first)
		if err != nil || !ok {
			return err
		}
		mark := len(out.b)
		out.b = appendKey(out.b, name, kept == 0)
		if full {
			err = appendMetaVictims(&sc, out)
		} else {
			sc.Peek()
			start := sc.Pos()
			err = checkMetaVictims(&sc)
			out.b = append(out.b, sc.Data()[start:sc.Pos()]...)
		}
		if err != nil {
			return err
		}
		if !s.keep(c, nameKey(name, esc), st) {
			out.b = out.b[:mark]
			continue
		}
		kept++
	}
}

// checkMetaVictims checks one MetaVictims value: null or {"Pods":[{"UID":...}],"NumPDBViolations":n}.
func checkMetaVictims(sc *jsonscan.Scanner) error {
	return sc.Object(func(key []byte, esc bool) (err error) {
		switch {
		case jsonscan.FieldIs(key, esc, "Pods"):
			err = forEachVictim(sc, true, func() error {
				_, _, err := stringAt(sc, "UID")
				return err
			})
		case jsonscan.FieldIs(key, esc, "NumPDBViolations"):
			_, err = sc.Int64()
		default:
			err = sc.Skip()
		}
		return err
	})
}

// appendMetaVictims reads one Victims value and appends it as MetaVictims.
func appendMetaVictims(sc *jsonscan.Scanner, out *buffer) error {
	if sc.Null() {
		return badRequest("null victims")
	}
	if err := sc.EnterObject(); err != nil {
		return err
	}
	var pdb int64
	out.b = append(out.b, `{"Pods":[`...)
	start := len(out.b)
	for first := true; ; first = false {
		key, esc, ok, err := sc.NextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case jsonscan.FieldIs(key, esc, "Pods"):
			out.b = out.b[:start] // the last Pods wins
			n := 0
			err = forEachVictim(sc, false, func() error {
				uid, _, err := stringAt(sc, "metadata", "uid")
				if n > 0 {
					out.b = append(out.b, ',')
				}
				n++
				out.b = append(out.b, `{"UID":"`...)
				out.b = append(out.b, uid...)
				out.b = append(out.b, `"}`...)
				return err
			})
		case jsonscan.FieldIs(key, esc, "NumPDBViolations"):
			pdb, err = sc.Int64()
		default:
			err = sc.Skip()
		}
		if err != nil {
			return err
		}
	}
	out.b = append(out.b, `],"NumPDBViolations":`...)
	out.b = strconv.AppendInt(out.b, pdb, 10)
	out.b = append(out.b, '}')
	return nil
}

// forEachVictim reads a Pods array (or null), calling fn to read each element that is not
// null. A null element is an error unless nullOK: a null *v1.Pod would crash kube-scheduler's
// own conversion to MetaVictims.
func forEachVictim(sc *jsonscan.Scanner, nullOK bool, fn func() error) error {
	if sc.Null() {
		return nil
	}
	if err := sc.EnterArray(); err != nil {
		return err
	}
	for first := true; ; first = false {
		ok, err := sc.NextElem(first)
		if err != nil || !ok {
			return err
		}
		if sc.Null() {
			if !nullOK {
				return errNullVictimPod
			}
			continue
		}
		if err := fn(); err != nil {
			return err
		}
	}
}

var errNullVictimPod = badRequest("null victim pod")

// stringAt reads one value, an object or null, and returns the string at path inside it:
// struct field names matched as encoding/json does, the last duplicate winning. Every value
// on the way must be an object or null, and the last one a string or null.
func stringAt(sc *jsonscan.Scanner, path ...string) (raw []byte, esc bool, err error) {
	if len(path) == 0 {
		return sc.StringOrNull()
	}
	if sc.Null() {
		return nil, false, nil
	}
	if err := sc.EnterObject(); err != nil {
		return nil, false, err
	}
	for first := true; ; first = false {
		key, kesc, ok, err := sc.NextKey(first)
		if err != nil || !ok {
			return raw, esc, err
		}
		if jsonscan.FieldIs(key, kesc, path[0]) {
			raw, esc, err = stringAt(sc, path[1:]...)
		} else {
			err = sc.Skip()
		}
		if err != nil {
			return nil, false, err
		}
	}
}

func nameKey(raw []byte, esc bool) []byte {
	if esc {
		return []byte(jsonscan.Unquote(raw, true))
	}
	return raw
}
