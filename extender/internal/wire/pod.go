package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds of a Pod, checked before it is decoded. Kubernetes bounds a Pod by size only, so
// these are far above any real pod, and low enough that decoding one holds a few MiB at most.
// metadata.managedFields and status are not decoded (see UnmarshalPod), so only their bytes
// count.
const (
	// MaxPodBytes: kube-apiserver refuses request bodies over 3 MiB
	// (k8s.io/apiserver/pkg/server/config.go, MaxRequestBodyBytes), and etcd objects over
	// 1.5 MiB (its --max-request-bytes): no Pod it stores is larger.
	MaxPodBytes = 3 << 20
	// MaxPodContainers bounds containers, initContainers and ephemeralContainers together
	// (each decodes into ~400 bytes and is analysed).
	MaxPodContainers = 1024
	// MaxPodVolumes bounds spec.volumes (each ~260 bytes decoded).
	MaxPodVolumes = 1024
	// MaxPodValues bounds the JSON values decoded from the Pod (every name, element and
	// scalar): a large real Pod has a few thousand. An empty object in an array of structs
	// decodes into up to ~700 bytes.
	MaxPodValues = 50_000
)

// LimitError is a request refused for going past one of the extender's bounds.
type LimitError struct {
	// What was counted, and Limit its bound; Flag is the flag that sets it, if any.
	What  string
	Count int
	Limit int
	Flag  string
}

func (e *LimitError) Error() string {
	if e.Count > 0 {
		return fmt.Sprintf("%s: %d, over the limit of %d%s", e.What, e.Count, e.Limit, flagNote(e.Flag))
	}
	return fmt.Sprintf("%s: over the limit of %d%s", e.What, e.Limit, flagNote(e.Flag))
}

func flagNote(flag string) string {
	if flag == "" {
		return ""
	}
	return " (" + flag + ")"
}

// PodShape is what ScanPod counted in a Pod: what decoding it will hold.
type PodShape struct {
	Bytes, Values, Containers, Volumes int
}

// ScanPod counts the values, containers and volumes UnmarshalPod would decode from a Pod in
// one walk of its tokens, and refuses it past the bounds above, before anything is decoded.
// raw is a JSON object, as ReadArgs returns it.
func ScanPod(raw []byte) (PodShape, error) {
	sh := PodShape{Bytes: len(raw)}
	if len(raw) > MaxPodBytes {
		return sh, &LimitError{What: "Pod size in bytes", Count: len(raw), Limit: MaxPodBytes}
	}
	s := podScan{sh: &sh}
	s.dec.Reset(bytes.NewBuffer(raw), Options...) // a *bytes.Buffer is read in place
	err := s.object(func(name string) error {
		switch name {
		case "metadata":
			return s.object(func(name string) error {
				if name == "managedFields" {
					return s.dec.SkipValue()
				}
				return s.value()
			})
		case "status":
			return s.dec.SkipValue()
		case "spec":
			return s.object(func(name string) error {
				switch name {
				case "containers", "initContainers", "ephemeralContainers":
					return s.array(&sh.Containers, &LimitError{What: "containers, initContainers and ephemeralContainers in the Pod", Limit: MaxPodContainers})
				case "volumes":
					return s.array(&sh.Volumes, &LimitError{What: "volumes in the Pod", Limit: MaxPodVolumes})
				}
				return s.value()
			})
		}
		return s.value()
	})
	return sh, err
}

type podScan struct {
	dec jsontext.Decoder
	sh  *PodShape
}

var errPodValues = &LimitError{What: "JSON values in the Pod", Limit: MaxPodValues}

// token reads a token, counting the values it starts.
func (s *podScan) token() (jsontext.Token, error) {
	tok, err := s.dec.ReadToken()
	if err != nil {
		return tok, err
	}
	if k := tok.Kind(); k != '}' && k != ']' {
		if s.sh.Values++; s.sh.Values > MaxPodValues {
			return tok, errPodValues
		}
	}
	return tok, nil
}

// value reads one value, counting what it holds.
func (s *podScan) value() error {
	depth := 0
	for {
		tok, err := s.token()
		if err != nil {
			return err
		}
		switch tok.Kind() {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// object reads an object (or anything else, counted as value does), calling fn with the
// decoder before each member's value.
func (s *podScan) object(fn func(name string) error) error {
	if s.dec.PeekKind() != '{' {
		return s.value()
	}
	if _, err := s.token(); err != nil {
		return err
	}
	for s.dec.PeekKind() != '}' {
		name, err := s.token()
		if err != nil {
			return err
		}
		if err := fn(name.String()); err != nil {
			return err
		}
	}
	_, err := s.token()
	return err
}

// array reads an array (or anything else), adding its elements to *n, refused past lim.
func (s *podScan) array(n *int, lim *LimitError) error {
	if s.dec.PeekKind() != '[' {
		return s.value()
	}
	if _, err := s.token(); err != nil {
		return err
	}
	for s.dec.PeekKind() != ']' {
		if *n++; *n > lim.Limit {
			return lim
		}
		if err := s.value(); err != nil {
			return err
		}
	}
	_, err := s.token()
	return err
}

// UnmarshalPod decodes a Pod, as Unmarshal does, except that:
//   - metadata.managedFields and status are skipped, left empty: the policy reads neither
//     (a pod's QoS class is worked out from its spec), and kube-apiserver's managedFields are
//     nearly half the bytes of a typical Pod (3.2 of 7.1 KB in testdata/pod-from-apiserver.json);
//   - a resource quantity (resource.Quantity, wherever it is: requests, limits, overhead,
//     sizeLimit, divisor…) out of the range checkQuantity allows is refused before
//     resource.ParseQuantity sees it.
func UnmarshalPod(raw []byte, pod *v1.Pod) error { return json.Unmarshal(raw, pod, podOptions) }

var podOptions = json.JoinOptions(append(Options, json.WithUnmarshalers(json.JoinUnmarshalers(
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ *[]metav1.ManagedFieldsEntry) error { return dec.SkipValue() }),
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, _ *v1.PodStatus) error { return dec.SkipValue() }),
	json.UnmarshalFromFunc(func(dec *jsontext.Decoder, q *resource.Quantity) error {
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if err := checkQuantity(v); err != nil {
			return err
		}
		return q.UnmarshalJSON(v)
	}))))...)

// Bounds of a quantity, from what k8s.io/apimachinery/pkg/api/resource says a Quantity is
// (quantity.go, the Quantity type's comment): "no quantity may represent a number greater
// than 2^63-1 in magnitude", and none is kept finer than 1n (10^-9, its smallest Scale, Nano;
// finer ones are rounded up to it). Kubernetes writes every quantity in canonical form, at
// most 20 digits and a suffix, but ParseQuantity reads any number of digits and any int32
// exponent, rounding with math/big: "1e100000000" costs tens of seconds and hundreds of MB.
const (
	maxQuantityBytes = 64
	// maxQuantityLog10 is log10(2^63), and a little more for float64's rounding (2^63-1 is
	// 2^63 as a float64): quantities larger are refused; ParseQuantity caps the few between.
	maxQuantityLog10 = 63*math.Ln2/math.Ln10 + 1e-9
	// minQuantityExponent: with at most maxQuantityBytes digits, a number of a smaller
	// decimal exponent is under 1n whatever its digits; maxQuantityExponent: over 2^63
	// whatever its digits (zero included: ParseQuantity keeps its exponent).
	minQuantityExponent = -(maxQuantityBytes + 9)
	maxQuantityExponent = maxQuantityBytes + 19
)

// checkQuantity refuses a quantity (its JSON value, as Quantity.UnmarshalJSON reads it) that
// no Kubernetes object can hold and that would cost ParseQuantity more than microseconds: one
// longer than maxQuantityBytes, one over 2^63-1, one whose exponent puts it
// under 1n whatever its digits. What is left is for ParseQuantity to accept or refuse.
// (Quantity.UnmarshalJSON reads a JSON string or number, without unescaping: so does this.)
func checkQuantity(raw []byte) error {
	s := raw
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	s = bytes.TrimSpace(s)
	show := s[:min(len(s), maxQuantityBytes)]
	if len(s) > maxQuantityBytes {
		return fmt.Errorf("quantity %q… is %d bytes long: no Kubernetes quantity is over %d", show, len(s), maxQuantityBytes)
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	// The significant digits: their count before the point, the zeros after the point before
	// the first of them, and the first few for the magnitude.
	intDigits, fracZeros, sig := 0, 0, 0
	lead := 0.0
	digit := func(c byte) {
		if sig < 17 {
			lead = lead*10 + float64(c-'0')
			sig++
		}
	}
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if intDigits > 0 || s[i] != '0' {
			intDigits++
			digit(s[i])
		}
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			switch {
			case sig > 0:
				digit(s[i])
			case s[i] == '0':
				fracZeros++
			default:
				digit(s[i])
			}
		}
	}
	exp10, ok := quantitySuffix(s[i:])
	if !ok {
		return nil // not a quantity: ParseQuantity says so at once
	}
	switch {
	case exp10 < minQuantityExponent:
		return fmt.Errorf("quantity %q: its exponent puts it under 1n, the finest quantity Kubernetes keeps", show)
	case exp10 > maxQuantityExponent:
		return fmt.Errorf("quantity %q: its exponent puts it over 2^63-1, the largest quantity Kubernetes keeps", show)
	}
	if sig == 0 {
		return nil // zero
	}
	// value = lead × 10^(place of its last digit taken)
	place := float64(intDigits-sig) + exp10
	if intDigits == 0 {
		place = float64(-fracZeros-sig) + exp10
	}
	if math.Log10(lead)+place > maxQuantityLog10 {
		return fmt.Errorf("quantity %q is over 2^63-1, the largest quantity Kubernetes keeps", show)
	}
	return nil
}

// quantitySuffix is the power of ten a quantity's suffix multiplies by (binary suffixes as
// their decimal logarithm); false for a suffix ParseQuantity does not know.
func quantitySuffix(suffix []byte) (float64, bool) {
	switch string(suffix) {
	case "":
		return 0, true
	case "m":
		return -3, true
	case "k":
		return 3, true
	case "M":
		return 6, true
	case "G":
		return 9, true
	case "T":
		return 12, true
	case "P":
		return 15, true
	case "E":
		return 18, true
	case "Ki", "Mi", "Gi", "Ti", "Pi", "Ei":
		bits := 10 * float64(bytes.IndexByte([]byte("KMGTPE"), suffix[0])+1)
		return bits * math.Ln2 / math.Ln10, true
	}
	if suffix[0] != 'e' && suffix[0] != 'E' {
		return 0, false
	}
	e, err := strconv.ParseInt(string(suffix[1:]), 10, 32)
	switch {
	case errors.Is(err, strconv.ErrRange) && suffix[1] == '-':
		return math.Inf(-1), true
	case errors.Is(err, strconv.ErrRange):
		return math.Inf(1), true
	case err != nil:
		return 0, false
	}
	return float64(e), true
}
