package explain

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"

	"github.com/rktsched/rktsched/policy"
)

// locator finds the lines of a policy document that a fix would change. It only reads the
// document's shape; what the lines mean is policy.Parse's business.
type locator struct {
	root *yaml.Node // the document's top mapping; nil if unknown
}

func newLocator(doc []byte) locator {
	var n yaml.Node
	if len(doc) == 0 || yaml.Unmarshal(doc, &n) != nil || len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
		return locator{}
	}
	return locator{root: n.Content[0]}
}

// value returns the value of key in mapping m, and the key node.
func value(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// item returns the element of sequence s equal to want.
func item(s *yaml.Node, want string) *yaml.Node {
	if s == nil || s.Kind != yaml.SequenceNode {
		return nil
	}
	for _, e := range s.Content {
		if e.Value == want {
			return e
		}
	}
	return nil
}

// action says which line sets the capability's action.
func (l locator) action(c policy.Capability) string {
	_, caps := value(l.root, "capabilities")
	k, _ := value(caps, string(c))
	if k == nil {
		return fmt.Sprintf("capabilities.%s.action to score or ignore", c)
	}
	return fmt.Sprintf("capabilities.%s.action to score or ignore (line %d)", c, k.Line)
}

// lacks says which line makes the class lack c.
func (l locator) lacks(cl *policy.Class, c policy.Capability) string {
	field := "runtimes[" + cl.Runtime + "]"
	_, runtimes := value(l.root, "runtimes")
	if runtimes != nil && runtimes.Kind == yaml.SequenceNode {
		for i, rt := range runtimes.Content {
			if _, name := value(rt, "name"); name == nil || name.Value != cl.Runtime {
				continue
			}
			field = fmt.Sprintf("runtimes[%d]", i)
			_, lacks := value(rt, "lacks")
			if e := item(lacks, string(c)); e != nil {
				return fmt.Sprintf("%s.lacks (line %d)", field, e.Line)
			}
			if cl.Stage1 != "" {
				_, stage1 := value(rt, "stage1")
				_, flavour := value(stage1, cl.Stage1)
				_, lacks := value(flavour, "lacks")
				if e := item(lacks, string(c)); e != nil {
					return fmt.Sprintf("%s.stage1.%s.lacks (line %d)", field, cl.Stage1, e.Line)
				}
			}
		}
	}
	if cl.Stage1 != "" {
		return fmt.Sprintf("%s.stage1.%s.lacks", field, cl.Stage1)
	}
	return field + ".lacks"
}
