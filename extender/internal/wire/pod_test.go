package wire

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestCheckQuantity: quantities Kubernetes keeps pass unchanged to ParseQuantity; those it
// cannot hold, or that would cost ParseQuantity more than microseconds, are refused.
func TestCheckQuantity(t *testing.T) {
	tests := []struct {
		raw string
		// refused is what the error says; "" for passed.
		refused string
	}{
		{`"1"`, ""},
		{`"500m"`, ""},
		{`"1.5Gi"`, ""},
		{`"128974848"`, ""},
		{`"129e6"`, ""},
		{`"123Mi"`, ""},
		{`"9223372036854775807"`, ""},
		{`"-9223372036854775807"`, ""},
		{`"7Ei"`, ""},
		{`"9E"`, ""},
		{`"0.000000001"`, ""},
		{`"0.0000000000000000001"`, ""}, // under 1n: rounded up to 1n, cheaply
		{`"1e-70"`, ""},
		{`"0"`, ""},
		{`"+.5"`, ""},
		{`" 1 "`, ""},
		{`1`, ""},
		{`null`, ""},
		{`"bogus"`, ""},   // ParseQuantity refuses it
		{`"1e"`, ""},      // likewise
		{`"1\u0065"`, ""}, // not unescaped, as Quantity.UnmarshalJSON does not
		{`"1e19"`, "over 2^63-1"},
		{`"10000000000000000000"`, "over 2^63-1"},
		{`"16Ei"`, "over 2^63-1"},
		{`"-1e20"`, "over 2^63-1"},
		{`"0.001e23"`, "over 2^63-1"},
		{`"1.00000000000000000001e100000000"`, "over 2^63-1"},
		{`"0e100000000"`, "over 2^63-1"},
		{`"1e99999999999"`, "over 2^63-1"},
		{`"1e-74"`, "under 1n"},
		{`"1e-99999999999"`, "under 1n"},
		{`"` + strings.Repeat("1", 65) + `"`, "65 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			err := checkQuantity([]byte(tt.raw))
			switch {
			case tt.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
				t.Errorf("error %v, want one saying %q", err, tt.refused)
			}
		})
	}
}

// FuzzCheckQuantity: whatever checkQuantity lets through, ParseQuantity reads (or refuses)
// as a quantity of at most 2^63 in magnitude. (Refused ones are not parsed: that is the
// point.)
func FuzzCheckQuantity(f *testing.F) {
	for _, s := range []string{"1", "500m", "1.5Gi", "7Ei", "16Ei", "1e18", "1e19", "0.001e21", "-9223372036854775807", "1e-70"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkQuantity([]byte(`"`+s+`"`)) != nil || strings.ContainsAny(s, `"\`) {
			return
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(s))
		if err != nil {
			return
		}
		if v := math.Abs(q.AsApproximateFloat64()); v > math.Ldexp(1, 63)*(1+1e-6) {
			t.Errorf("%q passed, but is %g, over 2^63", s, v)
		}
	})
}

func TestScanPod(t *testing.T) {
	many := func(n int, el string) string { return strings.TrimSuffix(strings.Repeat(el+",", n), ",") }
	tests := []struct {
		name, pod string
		want      PodShape
		// refused is what the error says; "" for none.
		refused string
	}{
		{"small", `{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}],"initContainers":[{}],"volumes":[{"name":"v"}]}}`,
			PodShape{Values: 20, Containers: 2, Volumes: 1}, ""},
		{"status and managedFields are skipped, not counted", `{"metadata":{"name":"p","managedFields":[{"fieldsV1":{"f:spec":{}}}]},"spec":{},"status":{"containerStatuses":[{},{}],"initContainerStatuses":[{}]}}`,
			PodShape{Values: 9}, ""},
		{"containers elsewhere are not containers", `{"metadata":{"annotations":{"containers":"[]"}},"spec":{"x":{"containers":[{}]}}}`,
			PodShape{Values: 14}, ""},
		{"a million empty containers", `{"spec":{"containers":[` + many(1_000_000, "{}") + `]}}`, PodShape{}, "containers, initContainers and ephemeralContainers in the Pod: over the limit of 1024"},
		{"containers of all kinds add up", `{"spec":{"containers":[` + many(600, "{}") + `],"ephemeralContainers":[` + many(600, "{}") + `]}}`, PodShape{}, "over the limit of 1024"},
		{"volumes", `{"spec":{"volumes":[` + many(1025, "{}") + `]}}`, PodShape{}, "volumes in the Pod: over the limit of 1024"},
		{"values", `{"spec":{"containers":[{"env":[` + many(MaxPodValues, "{}") + `]}]}}`, PodShape{}, "JSON values in the Pod: over the limit of 50000"},
		{"bytes", `{"metadata":{"name":"` + strings.Repeat("x", MaxPodBytes) + `"}}`, PodShape{}, "Pod size in bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ScanPod([]byte(tt.pod))
			if tt.refused != "" {
				if err == nil || !strings.Contains(err.Error(), tt.refused) {
					t.Errorf("error %v, want one saying %q", err, tt.refused)
				}
				if le := (*LimitError)(nil); !errors.As(err, &le) {
					t.Errorf("error %T, want a *LimitError", err)
				}
				return
			}
			tt.want.Bytes = len(tt.pod)
			if err != nil || got != tt.want {
				t.Errorf("ScanPod = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	members := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `"k%d":0,`, i)
		}
		return strings.TrimSuffix(b.String(), ",")
	}
	tests := []struct {
		name, body string
		want       Shape
	}{
		{"empty object", `{}`, Shape{}},
		{"names request", `{"Pod":{"metadata":{"name":"p"}},"NodeNames":["a","b","c"]}`, Shape{Items: 7, OpenMembers: 3}},
		{"empty arrays hold nothing", `{"a":[],"b":[ ]}`, Shape{Items: 2, OpenMembers: 2}},
		{"strings hide structure", `{"a":"{[:,]}\\\"{:","b":["\\\\",":"]}`, Shape{Items: 4, OpenMembers: 2}},
		{"closed objects are not open", `{"a":{` + members(100) + `},"b":{` + members(50) + `}}`, Shape{Items: 152, OpenMembers: 101}},
		{"nested objects are open at once", `{"a":{` + members(100) + `,"x":{` + members(50) + `}}}`, Shape{Items: 152, OpenMembers: 152}},
		{"3.5 million empty nodes", `{"Pod":{},"Nodes":{"items":[` + strings.TrimSuffix(strings.Repeat("{},", 3_500_000), ",") + `]}}`, Shape{Items: 3_500_003, OpenMembers: 3}},
		{"unterminated string", `{"a":"xx`, Shape{Items: 1, OpenMembers: 1}},
		{"unterminated escape", `{"a":"xx\`, Shape{Items: 1, OpenMembers: 1}},
		{"escaped quote at the end", `{"a":"\"`, Shape{Items: 1, OpenMembers: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Measure([]byte(tt.body)); got != tt.want {
				t.Errorf("Measure = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzMeasure: on valid JSON, Measure counts what a jsontext walk of the tokens counts.
func FuzzMeasure(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2,{"b":"\\\""}]}`, `[[],[{}],{"x":{"y":{}}}]`, `"s"`, `{"a":"]"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec := jsontext.NewDecoder(strings.NewReader(s))
		var want Shape
		var stack []int // members, or -1 for an array
		open := 0
		for {
			tok, err := dec.ReadToken()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					return // not valid JSON: the decoder refuses it
				}
				break
			}
			k := tok.Kind()
			if len(stack) > 0 && k != '}' && k != ']' {
				top := &stack[len(stack)-1]
				switch {
				case *top < 0:
					want.Items++
				case k == '"' && isName(dec):
					*top++
					want.Items++
					open++
					want.OpenMembers = max(want.OpenMembers, open)
				}
			}
			switch k {
			case '{':
				stack = append(stack, 0)
			case '[':
				stack = append(stack, -1)
			case '}', ']':
				if n := stack[len(stack)-1]; n > 0 {
					open -= n
				}
				stack = stack[:len(stack)-1]
			}
		}
		if got := Measure([]byte(s)); got != want {
			t.Errorf("Measure(%q) = %+v, want %+v", s, got, want)
		}
	})
}

// isName reports whether the string token just read is an object member's name.
func isName(dec *jsontext.Decoder) bool {
	kind, n := dec.StackIndex(dec.StackDepth())
	return kind == '{' && n%2 == 1
}

// TestReaderLimits: the Reader refuses a request as soon as a count goes past its bound,
// before it holds more of it: its slices stay within the bound.
func TestReaderLimits(t *testing.T) {
	many := func(n int, el string) string { return strings.TrimSuffix(strings.Repeat(el+",", n), ",") }
	lim := Limits{Nodes: 100, Victims: 1000}
	tests := []struct {
		name, body string
		preempt    bool
		// refused is what the error says; "" for read.
		refused string
	}{
		{"Nodes", `{"Pod":{},"Nodes":{"items":[` + many(1_000_000, "{}") + `]}}`, false, "items of Nodes: over the limit of 100 (--max-nodes-per-request)"},
		{"Nodes at the bound", `{"Pod":{},"Nodes":{"items":[` + many(100, "{}") + `]}}`, false, ""},
		{"NodeNames", `{"Pod":{},"NodeNames":[` + many(1_000_000, `""`) + `]}`, false, "NodeNames: over the limit of 100"},
		{"nodes with victims", `{"Pod":{},"NodeNameToMetaVictims":{` + nodesWithVictims(101) + `}}`, true, "nodes with victims: over the limit of 100"},
		{"victims", `{"Pod":{},"NodeNameToMetaVictims":{"a":{"Pods":[` + many(1_000_000, "{}") + `]}}}`, true, "victim pods: over the limit of 1000 (--max-victims-per-request)"},
		{"full victims", `{"Pod":{},"NodeNameToVictims":{"a":{"Pods":[` + many(600, "{}") + `]},"b":{"Pods":[` + many(600, "{}") + `]}}}`, true, "victim pods: over the limit of 1000"},
		{"victims at the bound", `{"Pod":{},"NodeNameToMetaVictims":{"a":{"Pods":[` + many(1000, "{}") + `]}}}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reader{Limits: lim}
			var a Args
			var p PreemptArgs
			var err error
			if tt.preempt {
				err = r.ReadPreemptArgs([]byte(tt.body), &p)
			} else {
				err = r.ReadArgs([]byte(tt.body), &a)
			}
			switch {
			case tt.refused == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
				t.Errorf("error %v, want one saying %q", err, tt.refused)
			}
			if le := (*LimitError)(nil); tt.refused != "" && !errors.As(err, &le) {
				t.Errorf("error %T, want a *LimitError", err)
			}
			// Held no more than the bounds allow (append may double a slice once).
			if cap(a.Nodes) > 2*lim.Nodes || cap(a.Names) > 2*lim.Nodes || cap(p.Victims) > 2*lim.Nodes || cap(r.uids) > 2*lim.Victims {
				t.Errorf("held Nodes %d, Names %d, Victims %d, UIDs %d", cap(a.Nodes), cap(a.Names), cap(p.Victims), cap(r.uids))
			}
		})
	}
}

func nodesWithVictims(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"n%d":null`, i)
	}
	return b.String()
}
