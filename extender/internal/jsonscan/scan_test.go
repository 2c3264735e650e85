package jsonscan

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValueAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ``},
		{"object", `{"a": [1, -2.5e+3, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"], "b": {}}`},
		{"nested arrays", `[[[]],[{}]]`},
		{"long string", `"` + strings.Repeat("abcdefgh", 40) + `"`},
		{"string ending in a quote at every offset", `["a","ab","abc","abcd","abcde","abcdef","abcdefg","abcdefgh","abcdefghi"]`},
		{"utf-8", `"héllo wörld ✓ 🙂"`},
		{"whitespace", " \t\n\r{ \"a\" : 1 } \n"},
		{"trailing comma in object", `{"a":1,}`},
		{"trailing comma in array", `[1,]`},
		{"leading comma", `[,1]`},
		{"missing colon", `{"a" 1}`},
		{"non-string key", `{1:2}`},
		{"leading zero", `01`},
		{"bare minus", `-`},
		{"fraction without digits", `1.`},
		{"exponent without digits", `1e`},
		{"control character", "\"a\x01b\""},
		{"control character after 8 bytes", "\"abcdefghij\x1fk\""},
		{"bad escape", `"\x"`},
		{"short unicode escape", `"\u12"`},
		{"bad unicode escape", `"\u12g4"`},
		{"unterminated string", `"abc`},
		{"unterminated long string", `"abcdefghijklmnopqrstuvwxyz`},
		{"unterminated object", `{"a":1`},
		{"unterminated array", `[1,2`},
		{"bad literal", `nul`},
		{"two values", `1 2`},
		{"high bytes", "\"\xff\xfe\x80abcdefgh\""},
		{"deep", strings.Repeat("[", 100) + strings.Repeat("]", 100)},
		{"too deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := json.Valid([]byte(tt.in))
			if got := valid([]byte(tt.in)); got != want {
				t.Errorf("valid(%.40q) = %v, encoding/json says %v", tt.in, got, want)
			}
		})
	}
}

// valid is json.Valid built on Scanner.Value.
func valid(data []byte) bool {
	s := New(data)
	_, err := s.Value()
	return err == nil && s.End() == nil
}

func TestWalkObject(t *testing.T) {
	in := []byte(`{"Name":"a\"b", "skip": {"x":[1,2]}, "N": -42, "nil": null, "s": "plain"}`)
	s := New(in)
	if err := s.EnterObject(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for first := true; ; first = false {
		key, esc, ok, err := s.NextKey(first)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		k := Unquote(key, esc)
		switch {
		case FieldIs(key, esc, "name"), k == "s":
			raw, esc, err := s.String()
			if err != nil {
				t.Fatal(err)
			}
			got[k] = Unquote(raw, esc)
		case k == "N":
			n, err := s.Int64()
			if err != nil {
				t.Fatal(err)
			}
			got[k] = strconv.FormatInt(n, 10)
		case k == "nil":
			if !s.Null() {
				t.Fatal("null not seen")
			}
			got[k] = "null"
		default:
			v, err := s.Value()
			if err != nil {
				t.Fatal(err)
			}
			got[k] = string(v)
		}
	}
	if err := s.End(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Name": `a"b`, "skip": `{"x":[1,2]}`, "N": "-42", "nil": "null", "s": "plain"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("walk (-want +got):\n%s", diff)
	}
}

func TestInt64(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"0", 0, false},
		{"-0", 0, false},
		{"null", 0, false},
		{"12345", 12345, false},
		{"9223372036854775807", 9223372036854775807, false},
		{"-9223372036854775808", -9223372036854775808, false},
		{"9223372036854775808", 0, true},
		{"-9223372036854775809", 0, true},
		{"99999999999999999999", 0, true},
		{"1.5", 0, true},
		{"1e3", 0, true},
		{`"1"`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := New([]byte(tt.in)).Int64()
			var ref int64
			refErr := json.Unmarshal([]byte(tt.in), &ref)
			if (err != nil) != tt.wantErr || (refErr != nil) != tt.wantErr {
				t.Fatalf("Int64(%s) error = %v, encoding/json error = %v; want error: %v", tt.in, err, refErr, tt.wantErr)
			}
			if got != tt.want || ref != tt.want {
				t.Errorf("Int64(%s) = %d, encoding/json %d, want %d", tt.in, got, ref, tt.want)
			}
		})
	}
}

func TestFieldIsFoldsCaseLikeEncodingJSON(t *testing.T) {
	for _, key := range []string{"metadata", "Metadata", "METADATA", `metad\u0061ta`, "metadat", "metadatas"} {
		var v struct {
			Metadata string `json:"metadata"`
		}
		_ = json.Unmarshal([]byte(`{"`+key+`":"x"}`), &v)
		want := v.Metadata == "x"
		raw := []byte(key)
		esc := strings.Contains(key, `\`)
		if got := FieldIs(raw, esc, "metadata"); got != want {
			t.Errorf("FieldIs(%q) = %v, encoding/json matches: %v", key, got, want)
		}
	}
}

func TestUnquote(t *testing.T) {
	s := New([]byte(`"a\u00e9\n\"b"`))
	raw, esc, err := s.String()
	if err != nil || !esc {
		t.Fatalf("String() = %q, %v, %v", raw, esc, err)
	}
	if got, want := Unquote(raw, esc), "aé\n\"b"; got != want {
		t.Errorf("Unquote = %q, want %q", got, want)
	}
}

func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",null,true,false,{"c":-1.5e3}]}`, `"\u00e9\n"`, `[`, `"abcdefghijk\"`, "\"\x00\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := valid(data), json.Valid(data); got != want {
			t.Fatalf("valid(%q) = %v, encoding/json says %v", data, got, want)
		}
		s := New(data)
		if raw, esc, err := s.String(); err == nil && s.End() == nil {
			var want string
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatalf("String accepted %q, encoding/json: %v", data, err)
			}
			if got := Unquote(raw, esc); got != want {
				t.Fatalf("Unquote(%q) = %q, encoding/json %q", data, got, want)
			}
		}
	})
}
