package extender

import (
	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// nodeFields is what the policy reads of a Node in a request, as it lies in the request's
// bytes (no copies): metadata.name, metadata.resourceVersion, metadata.labels, the stage1
// annotation and status.nodeInfo.containerRuntimeVersion.
type nodeFields struct {
	name, resourceVersion, runtimeVersion, stage1Image []byte
	nameEsc, rvEsc, runtimeEsc, stage1Esc              bool
	// labels is the raw labels object, nil when absent or null.
	labels []byte
}

// nameKey is the node's name as bytes for a map lookup.
func (f *nodeFields) nameKey() []byte {
	if f.nameEsc {
		return []byte(f.nameString())
	}
	return f.name
}

func (f *nodeFields) nameString() string { return jsonscan.Unquote(f.name, f.nameEsc) }

// entry turns the fields into a nodeEntry, decoding the labels.
func (f *nodeFields) entry() (*nodeEntry, error) {
	e := &nodeEntry{
		runtimeVersion: jsonscan.Unquote(f.runtimeVersion, f.runtimeEsc),
		stage1Image:    jsonscan.Unquote(f.stage1Image, f.stage1Esc),
	}
	e.ResourceVersion = jsonscan.Unquote(f.resourceVersion, f.rvEsc)
	if f.labels != nil {
		var sc jsonscan.Scanner
		sc.Reset(f.labels)
		e.Labels = map[string]string{}
		err := readStringMap(&sc, func(k, v []byte, kesc, vesc bool) {
			e.Labels[jsonscan.Unquote(k, kesc)] = jsonscan.Unquote(v, vesc)
		})
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// scanNode reads one element of a NodeList's items into f, validating all of it.
func scanNode(sc *jsonscan.Scanner, f *nodeFields) error {
	*f = nodeFields{}
	return sc.Object(func(key []byte, esc bool) error {
		switch {
		case jsonscan.FieldIs(key, esc, "metadata"):
			return scanNodeMeta(sc, f)
		case jsonscan.FieldIs(key, esc, "status"):
			return scanNodeStatus(sc, f)
		default:
			return sc.Skip()
		}
	})
}

func scanNodeMeta(sc *jsonscan.Scanner, f *nodeFields) error {
	f.name, f.resourceVersion, f.labels, f.stage1Image = nil, nil, nil, nil
	f.nameEsc, f.rvEsc, f.stage1Esc = false, false, false
	return sc.Object(func(key []byte, esc bool) (err error) {
		switch {
		case jsonscan.FieldIs(key, esc, "name"):
			f.name, f.nameEsc, err = sc.StringOrNull()
		case jsonscan.FieldIs(key, esc, "resourceVersion"):
			f.resourceVersion, f.rvEsc, err = sc.StringOrNull()
		case jsonscan.FieldIs(key, esc, "labels"):
			f.labels = nil
			if !sc.Null() {
				start := sc.Pos()
				err = readStringMap(sc, nil)
				f.labels = sc.Data()[start:sc.Pos()]
			}
		case jsonscan.FieldIs(key, esc, "annotations"):
			f.stage1Image, f.stage1Esc = nil, false
			err = readStringMap(sc, func(k, v []byte, kesc, vesc bool) {
				if jsonscan.Equal(k, kesc, policy.AnnotationStage1Image) {
					f.stage1Image, f.stage1Esc = v, vesc
				}
			})
		default:
			err = sc.Skip()
		}
		return err
	})
}

func scanNodeStatus(sc *jsonscan.Scanner, f *nodeFields) error {
	f.runtimeVersion, f.runtimeEsc = nil, false
	return sc.Object(func(key []byte, esc bool) error {
		if !jsonscan.FieldIs(key, esc, "nodeInfo") {
			return sc.Skip()
		}
		f.runtimeVersion, f.runtimeEsc = nil, false
		return sc.Object(func(key []byte, esc bool) (err error) {
			if jsonscan.FieldIs(key, esc, "containerRuntimeVersion") {
				f.runtimeVersion, f.runtimeEsc, err = sc.StringOrNull()
				return err
			}
			return sc.Skip()
		})
	})
}

// readStringMap reads a map[string]string object (or null), handing fn (if set) each member.
func readStringMap(sc *jsonscan.Scanner, fn func(k, v []byte, kesc, vesc bool)) error {
	return sc.Object(func(key []byte, kesc bool) error {
		v, vesc, err := sc.StringOrNull()
		if err == nil && fn != nil {
			fn(key, v, kesc, vesc)
		}
		return err
	})
}
