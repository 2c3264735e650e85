package policy

import "fmt"

// lineIndex remembers where the document says what, so that explanations can point at the
// line a fix would change without parsing the document again.
type lineIndex struct {
	action map[Capability]int
	lacks  map[lineKey]lineAt
}

// lineKey is a capability in one list: "runtime rkt", "runtime rkt stage1-kvm",
// "handler kata*".
type lineKey struct {
	owner string
	c     Capability
}

type lineAt struct {
	field string
	line  int
}

func newLineIndex() *lineIndex {
	return &lineIndex{action: map[Capability]int{}, lacks: map[lineKey]lineAt{}}
}

func (l *lineIndex) addLacks(owner, field string, names []pos[string]) {
	for _, n := range names {
		l.lacks[lineKey{owner, Capability(n.V)}] = lineAt{field, n.Line}
	}
}

// ActionLine returns the field that sets c's action and its line (0 if c is not in the
// document): "capabilities.gpu.action", 14.
func (p *Policy) ActionLine(c Capability) (field string, line int) {
	return "capabilities." + string(c) + ".action", p.lines.action[c]
}

// LackLines says where the document makes nodes of class c lack capability cp for a pod of
// the given handler ("" for the default): each list entry or minimum version, with its line,
// e.g. "runtimes[3].stage1.kvm.lacks (line 60)". Empty when no line does (a feature the
// node does not report, or a handler the node does not offer).
func (p *Policy) LackLines(c *Class, handler string, cp Capability) []string {
	var out []string
	add := func(owner string) {
		if at, ok := p.lines.lacks[lineKey{owner, cp}]; ok {
			out = append(out, fmt.Sprintf("%s (line %d)", at.field, at.line))
		}
	}
	add("runtime " + c.Runtime)
	if c.Stage1 != "" {
		add("runtime " + c.Runtime + " stage1-" + c.Stage1)
	}
	if handler == "" {
		handler = c.rt.defaultHandler
	}
	if hp := p.matchProfile(c.rt, handler); hp != nil {
		add("handler " + hp.match)
	}
	return out
}
