// Package wire is all of the extender's JSON: it reads kube-scheduler's extender/v1 requests
// and writes the answers, on github.com/go-json-experiment/json (the module form of Go's
// encoding/json/v2) with its default options: names match exactly, a duplicate name anywhere
// in a request refuses it (the error names the name), invalid UTF-8 refuses it.
//
// Requests are read in one streaming pass over the body (jsontext's ReadToken, ReadValue and
// SkipValue), keeping only what the verbs need: the raw Pod, and of each Node its name, the
// three things the policy reads and its raw bytes, so that the Nodes that pass are written
// back byte for byte. Nothing here allocates per node, except to unescape a name that holds
// JSON escapes.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rktsched/rktsched/policy"
)

// Name is a string of a request as it lies there: Raw between its quotes (valid to write back
// between quotes), Key unescaped.
type Name struct {
	Raw, Key []byte
}

// String is the name unescaped.
func (n Name) String() string { return string(n.Key) }

// Node is one item of a request's NodeList: its bytes and what the policy reads of it, raw.
type Node struct {
	// Raw is the item exactly as the request carries it.
	Raw []byte
	// Name is metadata.name.
	Name Name
	// RuntimeVersion is status.nodeInfo.containerRuntimeVersion, Stage1Image and
	// RuntimeHandlersAnnotation the policy.AnnotationStage1Image and
	// policy.AnnotationRuntimeHandlers annotations, as raw JSON values (nil when absent).
	RuntimeVersion, Stage1Image, RuntimeHandlersAnnotation []byte
	// RuntimeHandlers and Features are the raw status.runtimeHandlers and status.features
	// values (nil when absent).
	RuntimeHandlers, Features []byte
	// Labels is the raw metadata.labels value (nil when absent).
	Labels []byte
}

// Args is an ExtenderArgs request (filter, prioritize). At most one of HasNodes and
// HasNames is set (a request with both is refused); Pod is never nil.
type Args struct {
	Pod []byte
	// HasNodes: "Nodes" is set; Nodes are its items.
	HasNodes bool
	Nodes    []Node
	// HasNames: "NodeNames" is set.
	HasNames bool
	Names    []Name
}

// Victims are the victims preemption would evict on one node: from NodeNameToMetaVictims,
// or the UIDs of NodeNameToVictims' pods.
type Victims struct {
	Node Name
	// Null is a null MetaVictims (written back as null).
	Null bool
	// UIDs are the victims' UIDs as raw JSON values; nil for a null MetaPod.
	UIDs             [][]byte
	NumPDBViolations int64
}

// PreemptArgs is an ExtenderPreemptionArgs request. At most one of HasFull
// (NodeNameToVictims) and HasMeta (NodeNameToMetaVictims) is set; Pod is never nil.
type PreemptArgs struct {
	Pod              []byte
	HasFull, HasMeta bool
	Victims          []Victims
}

// Reader reads requests. The zero value is ready; a Reader is reused from request to
// request (its slices are kept) and is not safe for concurrent use.
type Reader struct {
	// Limits bound what a request may carry; a request past one is refused with a
	// *LimitError as soon as the count goes past it, before more memory is taken.
	Limits Limits

	buf  bytes.Buffer
	dec  jsontext.Decoder
	body []byte
	// uids backs the Victims' UIDs.
	uids [][]byte
	// names holds the member name being matched when it has escapes.
	names []byte
}

// Limits are the bounds of a Reader; a zero field is no bound.
type Limits struct {
	// Nodes bounds the items of Nodes, the NodeNames, and the nodes of a preemption
	// request's victims (--max-nodes-per-request).
	Nodes int
	// Victims bounds the victim pods of a preemption request, all nodes together
	// (--max-victims-per-request).
	Victims int
}

// Retained is the memory r keeps from request to request, in bytes.
func (r *Reader) Retained() int { return cap(r.uids)*24 + cap(r.names) }

// over is the *LimitError for a count past its bound.
func over(what string, limit int, flag string) error {
	return &LimitError{What: what, Limit: limit, Flag: flag}
}

// Options are the library options requests are read with, for anyone decoding the same
// requests (the extender's Pod decoding, the tests' reference): the defaults of
// encoding/json/v2.
var Options = []json.Options{}

// Unmarshal decodes a raw value with the library and Options the requests are read with.
func Unmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v, Options...) }

func (r *Reader) reset(body []byte) {
	r.body = body
	r.buf = *bytes.NewBuffer(body) // the decoder reads the body in place, without a copy
	r.dec.Reset(&r.buf, Options...)
}

// ReadArgs reads an ExtenderArgs body into a. Its slices point into body.
func (r *Reader) ReadArgs(body []byte, a *Args) error {
	r.reset(body)
	*a = Args{Nodes: a.Nodes[:0], Names: a.Names[:0]}
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "Pod":
			return r.rawObject(&a.Pod)
		case "Nodes":
			a.HasNodes = false
			a.Nodes = a.Nodes[:0]
			return r.nodeList(a)
		case "NodeNames":
			a.HasNames = false
			a.Names = a.Names[:0]
			return r.array(&a.HasNames, func() error {
				if r.Limits.Nodes > 0 && len(a.Names) == r.Limits.Nodes {
					return over("NodeNames", r.Limits.Nodes, "--max-nodes-per-request")
				}
				n, err := r.name()
				a.Names = append(a.Names, n)
				return err
			})
		}
		return r.dec.SkipValue()
	})
	if err := r.end(err); err != nil {
		return malformed(err)
	}
	return check(a.Pod, a.HasNodes && a.HasNames, "Nodes", "NodeNames")
}

// ReadPreemptArgs reads an ExtenderPreemptionArgs body into a. Its slices point into body.
func (r *Reader) ReadPreemptArgs(body []byte, a *PreemptArgs) error {
	r.reset(body)
	*a = PreemptArgs{Victims: a.Victims[:0]}
	r.uids = r.uids[:0]
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "Pod":
			return r.rawObject(&a.Pod)
		case "NodeNameToVictims":
			return r.victimsMap(&a.HasFull, a, r.fullVictims)
		case "NodeNameToMetaVictims":
			return r.victimsMap(&a.HasMeta, a, r.metaVictims)
		}
		return r.dec.SkipValue()
	})
	if err := r.end(err); err != nil {
		return malformed(err)
	}
	// The UIDs were appended to one backing array, which may have moved: point into it now.
	at := 0
	for i := range a.Victims {
		n := len(a.Victims[i].UIDs)
		if a.Victims[i].UIDs != nil {
			a.Victims[i].UIDs = r.uids[at : at+n : at+n]
		}
		at += n
	}
	return check(a.Pod, a.HasFull && a.HasMeta, "NodeNameToVictims", "NodeNameToMetaVictims")
}

func check(pod []byte, both bool, a, b string) error {
	switch {
	case pod == nil:
		return errors.New("the request has no Pod")
	case both:
		return fmt.Errorf("the request has both %s and %s", a, b)
	}
	return nil
}

// malformed says that a syntax error is one.
func malformed(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("malformed JSON: no value")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return err
}

// end checks that the top-level value is all there is.
func (r *Reader) end(err error) error {
	if err != nil {
		return err
	}
	if _, err := r.dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("malformed JSON: more than one value")
		}
		return err
	}
	return nil
}

// errAt is an error at where the decoder is.
func (r *Reader) errAt(format string, args ...any) error {
	at := string(r.dec.StackPointer())
	if at == "" {
		at = "the request"
	}
	return fmt.Errorf("%s: %s", at, fmt.Sprintf(format, args...))
}

// object reads an object or null, calling fn with each member's (unescaped) name with the
// decoder before its value; fn must read the value.
func (r *Reader) object(fn func(name []byte) error) error {
	ok, err := r.open('{')
	if !ok || err != nil {
		return err
	}
	for r.dec.PeekKind() != '}' {
		v, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		name, err := r.unquote(v)
		if err != nil {
			return err
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	_, err = r.dec.ReadToken()
	return err
}

// array reads an array or null, calling fn for each element; set says whether it was an array.
func (r *Reader) array(set *bool, fn func() error) error {
	ok, err := r.open('[')
	if !ok || err != nil {
		return err
	}
	*set = true
	for r.dec.PeekKind() != ']' {
		if err := fn(); err != nil {
			return err
		}
	}
	_, err = r.dec.ReadToken()
	return err
}

// open reads the start of an object or array (kind '{' or '['), or a null (false).
func (r *Reader) open(kind jsontext.Kind) (bool, error) {
	switch k := r.dec.PeekKind(); k {
	case 'n':
		_, err := r.dec.ReadToken()
		return false, err
	case kind:
		_, err := r.dec.ReadToken()
		return true, err
	case 0:
		_, err := r.dec.ReadToken() // the syntax error
		return false, err
	default:
		return false, r.errAt("want %s or null, not %s", kindName(kind), kindName(k))
	}
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return k.String()
}

// rawObject reads an object or null into *raw (nil for null), as the request's bytes.
func (r *Reader) rawObject(raw *[]byte) error {
	*raw = nil
	switch k := r.dec.PeekKind(); k {
	case 'n', '{', 0:
		v, err := r.readValue()
		if err == nil && k == '{' {
			*raw = v
		}
		return err
	default:
		return r.errAt("want an object or null, not %s", kindName(k))
	}
}

// readValue reads a value and returns it as it lies in the body (the decoder reads the body
// in place, so the bytes stay valid after the next read).
func (r *Reader) readValue() ([]byte, error) {
	v, err := r.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(r.dec.InputOffset())
	return r.body[end-len(v) : end : end], nil
}

// str reads a string or null as its raw value (nil for null).
func (r *Reader) str() ([]byte, error) {
	switch k := r.dec.PeekKind(); k {
	case 'n', '"', 0:
		v, err := r.readValue()
		if k != '"' {
			v = nil
		}
		return v, err
	default:
		return nil, r.errAt("want a string or null, not %s", kindName(k))
	}
}

// name reads a string or null as a Name (null is the empty name).
func (r *Reader) name() (Name, error) {
	v, err := r.str()
	if err != nil || v == nil {
		return Name{Raw: []byte{}, Key: []byte{}}, err
	}
	return NameOf(v)
}

// NameOf is the Name of a raw JSON string.
func NameOf(raw []byte) (Name, error) {
	n := Name{Raw: raw[1 : len(raw)-1], Key: raw[1 : len(raw)-1]}
	if bytes.IndexByte(n.Raw, '\\') >= 0 {
		key, err := jsontext.AppendUnquote(nil, raw)
		if err != nil {
			return n, err
		}
		n.Key = key
	}
	return n, nil
}

// unquote returns the unescaped bytes of a raw member name, valid until the next call.
func (r *Reader) unquote(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	var err error
	r.names, err = jsontext.AppendUnquote(r.names[:0], raw)
	return r.names, err
}

// nodeList reads a NodeList (or null): only its items, each read by node.
func (r *Reader) nodeList(a *Args) error {
	a.HasNodes = r.dec.PeekKind() == '{'
	return r.object(func(name []byte) error {
		if string(name) != "items" {
			return r.dec.SkipValue()
		}
		var set bool
		return r.array(&set, func() error {
			if r.Limits.Nodes > 0 && len(a.Nodes) == r.Limits.Nodes {
				return over("items of Nodes", r.Limits.Nodes, "--max-nodes-per-request")
			}
			a.Nodes = append(a.Nodes, Node{})
			return r.node(&a.Nodes[len(a.Nodes)-1])
		})
	})
}

// node reads one item of a NodeList: an object (or null, the zero Node) of which it keeps
// what Node holds.
func (r *Reader) node(n *Node) error {
	start := r.offsetOfNext()
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "metadata":
			return r.object(func(name []byte) (err error) {
				switch string(name) {
				case "name":
					var v []byte
					if v, err = r.str(); err == nil {
						n.Name = Name{Raw: []byte{}, Key: []byte{}}
						if v != nil {
							n.Name, err = NameOf(v)
						}
					}
				case "labels":
					n.Labels, err = r.stringMap(nil)
				case "annotations":
					_, err = r.stringMap(func(k, v []byte) {
						switch string(k) {
						case policy.AnnotationStage1Image:
							n.Stage1Image = v
						case policy.AnnotationRuntimeHandlers:
							n.RuntimeHandlersAnnotation = v
						}
					})
				default:
					err = r.dec.SkipValue()
				}
				return err
			})
		case "status":
			return r.object(func(name []byte) (err error) {
				switch string(name) {
				case "nodeInfo":
					return r.object(func(name []byte) (err error) {
						if string(name) == "containerRuntimeVersion" {
							n.RuntimeVersion, err = r.str()
							return err
						}
						return r.dec.SkipValue()
					})
				case "runtimeHandlers":
					n.RuntimeHandlers, err = r.readValue()
				case "features":
					n.Features, err = r.readValue()
				default:
					err = r.dec.SkipValue()
				}
				return err
			})
		}
		return r.dec.SkipValue()
	})
	if err != nil {
		return err
	}
	n.Raw = r.body[start:r.dec.InputOffset()]
	if n.Name.Raw == nil {
		n.Name = Name{Raw: []byte{}, Key: []byte{}}
	}
	return nil
}

// offsetOfNext is where the next value starts in the body, past whitespace and a separator.
func (r *Reader) offsetOfNext() int64 {
	off := r.dec.InputOffset()
	for off < int64(len(r.body)) {
		switch r.body[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// stringMap reads a map[string]string (or null) and returns its raw value; fn, if set, is
// handed each member's unescaped key and raw value (nil for null).
func (r *Reader) stringMap(fn func(k, v []byte)) ([]byte, error) {
	start := r.offsetOfNext()
	if r.dec.PeekKind() == 'n' {
		_, err := r.dec.ReadToken()
		return nil, err
	}
	err := r.object(func(k []byte) error {
		v, err := r.str()
		if err == nil && fn != nil {
			fn(k, v)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return r.body[start:r.dec.InputOffset()], nil
}

// victimsMap reads an object of victims by node name (or null), each value read by one.
func (r *Reader) victimsMap(set *bool, a *PreemptArgs, one func(*Victims) error) error {
	*set = false
	ok, err := r.open('{')
	if err != nil || !ok {
		return err
	}
	*set = true
	for r.dec.PeekKind() != '}' {
		if r.Limits.Nodes > 0 && len(a.Victims) == r.Limits.Nodes {
			return over("nodes with victims", r.Limits.Nodes, "--max-nodes-per-request")
		}
		v, err := r.readValue()
		if err != nil {
			return err
		}
		node, err := NameOf(v)
		if err != nil {
			return err
		}
		a.Victims = append(a.Victims, Victims{Node: node})
		if err := one(&a.Victims[len(a.Victims)-1]); err != nil {
			return err
		}
	}
	_, err = r.dec.ReadToken()
	return err
}

// metaVictims reads a MetaVictims (or null): {"Pods":[{"UID":…}],"NumPDBViolations":n}.
func (r *Reader) metaVictims(v *Victims) error {
	v.Null = r.dec.PeekKind() == 'n'
	return r.victims(v, true, metaUID)
}

// fullVictims reads a Victims with full pods; of each pod it keeps metadata.uid. A null
// Victims or victim pod is refused: kube-scheduler's own conversion to MetaVictims would
// crash on it.
func (r *Reader) fullVictims(v *Victims) error {
	if r.dec.PeekKind() == 'n' {
		return r.errAt("null victims")
	}
	return r.victims(v, false, podUID)
}

// Where a victim's UID is in a MetaPod and in a Pod.
var metaUID, podUID = []string{"UID"}, []string{"metadata", "uid"}

func (r *Reader) victims(v *Victims, nullPodOK bool, uidPath []string) error {
	first := len(r.uids)
	err := r.object(func(name []byte) error {
		switch string(name) {
		case "Pods":
			r.uids = r.uids[:first] // a null Pods is none
			var set bool
			return r.array(&set, func() error {
				if r.Limits.Victims > 0 && len(r.uids) == r.Limits.Victims {
					return over("victim pods", r.Limits.Victims, "--max-victims-per-request")
				}
				if r.dec.PeekKind() == 'n' {
					if !nullPodOK {
						return r.errAt("null victim pod")
					}
					r.uids = append(r.uids, nil)
					return r.dec.SkipValue()
				}
				uid, err := r.stringAt(uidPath)
				if uid == nil {
					uid = []byte(`""`)
				}
				r.uids = append(r.uids, uid)
				return err
			})
		case "NumPDBViolations":
			return r.int64(&v.NumPDBViolations)
		}
		return r.dec.SkipValue()
	})
	v.UIDs = r.uids[first:len(r.uids):len(r.uids)]
	if len(v.UIDs) == 0 {
		v.UIDs = [][]byte{}
	}
	return err
}

// int64 reads an integer or null (0) into *n, as encoding/json/v2 does: a number with a
// fraction or an exponent, or out of range, is refused.
func (r *Reader) int64(n *int64) error {
	switch k := r.dec.PeekKind(); k {
	case 'n', '0', 0:
		raw, err := r.readValue()
		if err != nil || k == 'n' {
			*n = 0
			return err
		}
		if *n, err = strconv.ParseInt(string(raw), 10, 64); err != nil {
			return r.errAt("%s is not an integer in range", raw)
		}
		return nil
	default:
		return r.errAt("want a number or null, not %s", kindName(k))
	}
}

// stringAt reads an object (or null) and returns the raw string at path inside it, nil when
// absent or null. Every value on the way must be an object or null.
func (r *Reader) stringAt(path []string) ([]byte, error) {
	if len(path) == 0 {
		return r.str()
	}
	var out []byte
	err := r.object(func(name []byte) (err error) {
		if string(name) != path[0] {
			return r.dec.SkipValue()
		}
		out, err = r.stringAt(path[1:])
		return err
	})
	return out, err
}

// Bounds of what Parts decodes of a Node, from what Kubernetes stores: past them a Node
// is refused (*LimitError) before it is decoded, as decoding them holds many times their
// size (an empty handler `{}` is a 24-byte struct and an entry string).
const (
	// MaxNodeAnnotationBytes: the API server refuses annotations over 256 KiB in all
	// (k8s.io/apimachinery/pkg/api/validation, TotalAnnotationSizeLimitB).
	MaxNodeAnnotationBytes = 256 << 10
	// MaxRuntimeHandlersBytes: the kubelet reports one short entry per CRI runtime handler,
	// a handful of them.
	MaxRuntimeHandlersBytes = 64 << 10
)

// Parts decodes what the policy reads of n: the runtime version, the labels, the two
// annotations, status.runtimeHandlers and status.features.
func (n *Node) Parts() (policy.NodeParts, error) {
	for _, f := range []struct {
		raw   []byte
		limit int
		what  string
	}{
		{n.Stage1Image, MaxNodeAnnotationBytes, "the " + policy.AnnotationStage1Image + " annotation"},
		{n.RuntimeHandlersAnnotation, MaxNodeAnnotationBytes, "the " + policy.AnnotationRuntimeHandlers + " annotation"},
		{n.RuntimeHandlers, MaxRuntimeHandlersBytes, "status.runtimeHandlers"},
	} {
		if len(f.raw) > f.limit {
			return policy.NodeParts{}, &LimitError{What: fmt.Sprintf("node %q: %s in bytes", n.Name.Key, f.what), Count: len(f.raw), Limit: f.limit}
		}
	}
	var parts policy.NodeParts
	for _, f := range []struct {
		raw  []byte
		into any
		what string
	}{
		{n.Labels, &parts.Labels, "metadata.labels"},
		{n.Stage1Image, &parts.Stage1Image, "the " + policy.AnnotationStage1Image + " annotation"},
		{n.RuntimeHandlersAnnotation, &parts.RuntimeHandlersAnnotation, "the " + policy.AnnotationRuntimeHandlers + " annotation"},
		{n.RuntimeVersion, &parts.RuntimeVersion, "status.nodeInfo.containerRuntimeVersion"},
		{n.RuntimeHandlers, &parts.RuntimeHandlers, "status.runtimeHandlers"},
		{n.Features, &parts.Features, "status.features"},
	} {
		if f.raw == nil {
			continue
		}
		if err := Unmarshal(f.raw, f.into); err != nil {
			return policy.NodeParts{}, fmt.Errorf("node %q: %s: %w", n.Name.Key, f.what, err)
		}
	}
	return parts, nil
}

// AppendInputs appends what the policy reads of n, raw, to b: equal bytes are equal inputs.
func (n *Node) AppendInputs(b []byte) []byte {
	// Each part is one whole JSON value or nothing, and 0 is no byte of JSON: the parts
	// cannot run into each other.
	for _, part := range [][]byte{n.RuntimeVersion, n.Stage1Image, n.RuntimeHandlersAnnotation, n.RuntimeHandlers, n.Features} {
		b = append(b, part...)
		b = append(b, 0)
	}
	return append(b, n.Labels...)
}
