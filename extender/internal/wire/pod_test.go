package wire

import (
	"math"
	"strings"
	"testing"

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
