package wire

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Quote returns s as a JSON string, for reasons written into many answers.
// Invalid UTF-8 is written as U+FFFD, as encoding/json does (AppendQuote's error says so).
func Quote(s string) []byte {
	b, _ := jsontext.AppendQuote(nil, s)
	return b
}

// FilterResult builds an ExtenderFilterResult. Names and Nodes are written as the request
// carried them. The zero value is ready; Reset reuses it.
type FilterResult struct {
	names                    bool
	passed, failed, refused  []byte
	nPassed, nFailed, nRefus int
}

// Retained is the memory f keeps from answer to answer, in bytes.
func (f *FilterResult) Retained() int { return cap(f.passed) + cap(f.failed) + cap(f.refused) }

// Reset starts an answer to a request of Nodes (names false) or NodeNames (names true).
func (f *FilterResult) Reset(names bool) {
	f.names = names
	f.passed, f.failed, f.refused = f.passed[:0], f.failed[:0], f.refused[:0]
	f.nPassed, f.nFailed, f.nRefus = 0, 0, 0
}

// Grow makes room for n bytes of passed Nodes.
func (f *FilterResult) Grow(n int) {
	if cap(f.passed) < n {
		f.passed = make([]byte, 0, n)
	}
}

// PassName lists a node name in NodeNames.
func (f *FilterResult) PassName(n Name) {
	f.passed = appendString(f.passed, n.Raw, f.nPassed == 0)
	f.nPassed++
}

// PassNode lists a Node in Nodes.items.
func (f *FilterResult) PassNode(n *Node) {
	if f.nPassed > 0 {
		f.passed = append(f.passed, ',')
	}
	f.passed = append(f.passed, n.Raw...)
	f.nPassed++
}

// Fail lists a node in FailedNodes (preemption might help, or a later attempt) with a reason
// already quoted (Quote).
func (f *FilterResult) Fail(n Name, reason []byte) {
	f.failed = appendMember(f.failed, n.Raw, reason, f.nFailed == 0)
	f.nFailed++
}

// Refuse lists a node in FailedAndUnresolvableNodes with a quoted reason.
func (f *FilterResult) Refuse(n Name, reason []byte) {
	f.refused = appendMember(f.refused, n.Raw, reason, f.nRefus == 0)
	f.nRefus++
}

// AppendTo appends the answer to b.
func (f *FilterResult) AppendTo(b []byte) []byte {
	if f.names {
		b = append(b, `{"Nodes":null,"NodeNames":[`...)
		b = append(b, f.passed...)
		b = append(b, `],"FailedNodes":{`...)
	} else {
		b = append(b, `{"Nodes":{"metadata":{},"items":[`...)
		b = append(b, f.passed...)
		b = append(b, `]},"NodeNames":null,"FailedNodes":{`...)
	}
	b = append(b, f.failed...)
	b = append(b, `},"FailedAndUnresolvableNodes":{`...)
	b = append(b, f.refused...)
	return append(b, `},"Error":""}`...)
}

// HostPriority is one entry of a HostPriorityList.
type HostPriority struct {
	Host  Name
	Score int64
}

// AppendHostPriorities appends list as a HostPriorityList.
func AppendHostPriorities(b []byte, list []HostPriority) []byte {
	b = append(b, '[')
	for i, hp := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Host":"`...)
		b = append(b, hp.Host.Raw...)
		b = append(b, `","Score":`...)
		b = strconv.AppendInt(b, hp.Score, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendPreemptionResult appends an ExtenderPreemptionResult of the victims kept (keep[i]
// for victims[i]); victims are always written as MetaVictims.
func AppendPreemptionResult(b []byte, victims []Victims, keep func(i int) bool) []byte {
	b = append(b, `{"NodeNameToMetaVictims":{`...)
	n := 0
	for i := range victims {
		if !keep(i) {
			continue
		}
		v := &victims[i]
		b = appendString(b, v.Node.Raw, n == 0)
		b = append(b, ':')
		n++
		if v.Null {
			b = append(b, "null"...)
			continue
		}
		b = append(b, `{"Pods":[`...)
		for j, uid := range v.UIDs {
			if j > 0 {
				b = append(b, ',')
			}
			if uid == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"UID":`...)
			b = append(b, uid...)
			b = append(b, '}')
		}
		b = append(b, `],"NumPDBViolations":`...)
		b = strconv.AppendInt(b, v.NumPDBViolations, 10)
		b = append(b, '}')
	}
	return append(b, '}', '}')
}

// appendString appends `"raw"` with a separating comma unless first.
func appendString(b, raw []byte, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, raw...)
	return append(b, '"')
}

// appendMember appends `"raw":value` with a separating comma unless first.
func appendMember(b, raw, value []byte, first bool) []byte {
	b = appendString(b, raw, first)
	b = append(b, ':')
	return append(b, value...)
}
