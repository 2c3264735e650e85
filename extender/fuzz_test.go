package extender

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// FuzzHandler sends arbitrary bodies to the verbs. The handler must never panic and must
// answer either 400 or 200 with a well-formed answer of the verb's type; and whenever the
// decode-everything reference accepts a request (without duplicate keys, which encoding/json
// merges and the extender reads last-wins), the answers must be the same.
//
// op: bits 0-1 pick the verb (filter, prioritize, preempt, filter); bit 2 standalone mode.
func FuzzHandler(f *testing.F) {
	nodes := matrixNodes()
	for i, p := range []*v1.Pod{pod("gpu", gpuPod), loadPod(f, seedPath("mount-dne.yaml")), loadPod(f, seedPath("host-ipc-pid.yaml"))} {
		f.Add(uint8(0), namesArgs(p, nodes[:2+i]))
		f.Add(uint8(4), nodesArgs(p, nodes[:2+i]))
		f.Add(uint8(1), nodesArgs(p, nodes[i:]))
		f.Add(uint8(2), forms[i%2].args(p, names(nodes)))
	}
	f.Add(uint8(0), []byte(`{"Pod":{},"NodeNames":["rkt-fly","nope",null]}`))
	f.Add(uint8(1), []byte(`{"pod":{"metadata":{"uid":"u"}},"nodes":{"Items":[null,{"Metadata":{"Name":"d\u006fcker"}}]}}`))
	f.Add(uint8(2), []byte(`{"Pod":{},"NodeNameToMetaVictims":{"docker":null,"rkt-kvm":{"Pods":[null,{"UID":"x"}]}}}`))
	f.Add(uint8(6), []byte(`{"Pod":{},"NodeNameToVictims":{"a":{"Pods":[{"metadata":{"uid":"u"}}],"NumPDBViolations":-3}}}`))
	f.Add(uint8(0), []byte(`{"Pod":`))

	servers := [2]*Server{newTestServer(f, false, nodes...), newTestServer(f, true)}
	for _, s := range servers {
		s.logger = logr.Discard() // 400s are expected here by the thousand
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		verb := []string{"filter", "prioritize", "preempt", "filter"}[op&3]
		s := servers[op>>2&1]
		s.pods.flush() // every input stands alone
		s.recent.reset()
		rec := serve(t, s, http.MethodPost, verb, body)
		ref := reference{policy: s.store.Load(), nodes: s.nodes}
		var want, got any
		var refErr error
		switch verb {
		case "filter":
			want, refErr = ref.filter(body)
			got = &extenderv1.ExtenderFilterResult{}
		case "prioritize":
			want, refErr = ref.prioritize(body)
			got = &extenderv1.HostPriorityList{}
		case "preempt":
			want, refErr = ref.preempt(body)
			got = &extenderv1.ExtenderPreemptionResult{}
		}
		switch rec.Code {
		case http.StatusOK:
			if err := json.Unmarshal(rec.Body.Bytes(), got); err != nil {
				t.Fatalf("200 with an answer that is not a %T: %v\n%s", got, err, rec.Body)
			}
		case http.StatusBadRequest:
			if refErr == nil && !hasDuplicateKeys(body) {
				t.Fatalf("400 %q for a request the reference answers", rec.Body)
			}
			return
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if refErr != nil || hasDuplicateKeys(body) {
			return // the extender skips what it does not read: it may accept more
		}
		if hp, ok := got.(*extenderv1.HostPriorityList); ok {
			got = *hp
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("answer (-reference +extender):\n%s", diff)
		}
	})
}

// hasDuplicateKeys reports whether any object in data has two keys that encoding/json
// could take for the same field (equal regardless of case). Invalid JSON has none.
func hasDuplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		object bool
		keys   []string
		atKey  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.atKey {
			if key, ok := tok.(string); ok {
				for _, k := range top.keys {
					if bytes.EqualFold([]byte(k), []byte(key)) {
						return true
					}
				}
				top.keys = append(top.keys, key)
				top.atKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.object {
				top.atKey = true
			}
			stack = append(stack, &frame{object: true, atKey: true})
			continue
		case json.Delim('['):
			if top != nil && top.object {
				top.atKey = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object {
			top.atKey = true // a scalar value: a key comes next
		}
	}
}

func TestHasDuplicateKeys(t *testing.T) {
	for in, want := range map[string]bool{
		`{"a":1,"b":{"a":2}}`:         false,
		`{"a":1,"A":2}`:               true,
		`{"x":[{"a":1},{"a":2}]}`:     false,
		`{"x":{"k":1,"k":2}}`:         true,
		`{"x":[1,{"y":{}}],"y":null}`: false,
		`{"x":{},"x":[]}`:             true,
	} {
		if got := hasDuplicateKeys([]byte(in)); got != want {
			t.Errorf("hasDuplicateKeys(%s) = %v, want %v", in, got, want)
		}
	}
}
