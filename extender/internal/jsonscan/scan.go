// Package jsonscan reads a JSON document held in memory without building it: the caller
// walks the few members it needs and skips the rest, and every byte it passes over is
// validated as encoding/json would (so raw bytes handed on are always well-formed JSON).
//
// It exists because decoding 5000 whole v1.Node objects to read four fields of each costs
// hundreds of milliseconds inside kube-scheduler's one-pod-at-a-time cycle.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// MaxDepth bounds nesting like encoding/json does, so that hostile input cannot exhaust the stack.
const MaxDepth = 10000

// SyntaxError is invalid JSON, or JSON of the wrong shape, at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// Scanner walks one JSON document. The zero value is not usable; use New or Reset.
type Scanner struct {
	data []byte
	pos  int
}

// New returns a scanner at the start of data.
func New(data []byte) *Scanner { return &Scanner{data: data} }

// Reset points the scanner at the start of data.
func (s *Scanner) Reset(data []byte) { s.data, s.pos = data, 0 }

// Pos is the offset of the next unread byte.
func (s *Scanner) Pos() int { return s.pos }

// Data is the document being scanned.
func (s *Scanner) Data() []byte { return s.data }

func (s *Scanner) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: s.pos, Msg: fmt.Sprintf(format, args...)}
}

// Peek skips whitespace and returns the next byte without consuming it; 0 at the end (and
// for a NUL byte, which is never valid there either).
func (s *Scanner) Peek() byte {
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

// End checks that nothing but whitespace follows.
func (s *Scanner) End() error {
	if s.Peek(); s.pos < len(s.data) {
		return s.errorf("unexpected data after the top-level value")
	}
	return nil
}

// Null consumes a null literal if one comes next.
func (s *Scanner) Null() bool {
	if s.Peek() == 'n' && bytes.HasPrefix(s.data[s.pos:], litNull) {
		s.pos += len(litNull)
		return true
	}
	return false
}

var (
	litNull  = []byte("null")
	litTrue  = []byte("true")
	litFalse = []byte("false")
)

// EnterObject consumes the '{' that opens an object.
func (s *Scanner) EnterObject() error {
	if s.Peek() != '{' {
		return s.errorf("expected an object")
	}
	s.pos++
	return nil
}

// NextKey reads the next member's key and the ':' after it; ok is false once the closing '}'
// is consumed. first is true on the first call after EnterObject. The key is returned as it
// appears between its quotes, escaped as String says.
func (s *Scanner) NextKey(first bool) (key []byte, escaped, ok bool, err error) {
	c := s.Peek()
	if c == '}' {
		s.pos++
		return nil, false, false, nil
	}
	if !first {
		if c != ',' {
			return nil, false, false, s.errorf("expected ',' or '}' after an object member")
		}
		s.pos++
		c = s.Peek()
	}
	if c != '"' {
		return nil, false, false, s.errorf("expected a string key")
	}
	key, escaped, err = s.String()
	if err != nil {
		return nil, false, false, err
	}
	if s.Peek() != ':' {
		return nil, false, false, s.errorf("expected ':' after an object key")
	}
	s.pos++
	return key, escaped, true, nil
}

// EnterArray consumes the '[' that opens an array.
func (s *Scanner) EnterArray() error {
	if s.Peek() != '[' {
		return s.errorf("expected an array")
	}
	s.pos++
	return nil
}

// NextElem readies the next array element; ok is false once the closing ']' is consumed.
// first is true on the first call after EnterArray.
func (s *Scanner) NextElem(first bool) (ok bool, err error) {
	c := s.Peek()
	if c == ']' {
		s.pos++
		return false, nil
	}
	if !first {
		if c != ',' {
			return false, s.errorf("expected ',' or ']' after an array element")
		}
		s.pos++
	}
	return true, nil
}

// String consumes a string and returns what is between its quotes. escaped says whether
// those bytes differ from the string they stand for (escape sequences, or invalid UTF-8
// that encoding/json turns into U+FFFD); Unquote resolves them.
func (s *Scanner) String() (raw []byte, escaped bool, err error) {
	if s.Peek() != '"' {
		return nil, false, s.errorf("expected a string")
	}
	data := s.data
	start := s.pos + 1
	i := start
	nonASCII := false
	for {
		// Eight bytes at a time while none of them needs a look: no quote, backslash,
		// control character or non-ASCII byte.
		for i+8 <= len(data) {
			w := binary.LittleEndian.Uint64(data[i:])
			if m := special(w) | w&highs; m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			s.pos = i + 1
			raw = data[start:i]
			if nonASCII && !escaped && !utf8.Valid(raw) {
				escaped = true
			}
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			n, ok := escapeLen(data[i:])
			if !ok {
				s.pos = i
				return nil, false, s.errorf("invalid escape in string")
			}
			i += n
		case c < 0x20:
			s.pos = i
			return nil, false, s.errorf("control character in string")
		default:
			nonASCII = nonASCII || c >= 0x80
			i++
		}
	}
	s.pos = len(data)
	return nil, false, s.errorf("unterminated string")
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special marks (with the byte's high bit) the bytes of w that are '"', '\\' or below 0x20.
// The first mark is exact; bytes after it may be marked spuriously, which only costs a
// slower look at them. Bytes of 0x80 and above are never marked.
func special(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q - ones) | (b - ones) | (w - ones*0x20)) &^ w & highs
}

// escapeLen returns the length of the escape sequence at the start of b.
func escapeLen(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if len(b) < 6 {
			return 0, false
		}
		for _, h := range b[2:6] {
			if !isHex(h) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// Object reads an object, or null, handing fn each key; fn must consume the key's value.
func (s *Scanner) Object(fn func(key []byte, escaped bool) error) error {
	if s.Null() {
		return nil
	}
	if err := s.EnterObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, esc, ok, err := s.NextKey(first)
		if err != nil || !ok {
			return err
		}
		if err := fn(key, esc); err != nil {
			return err
		}
	}
}

// Unquote returns the string a String result stands for.
func Unquote(raw []byte, escaped bool) string {
	if !escaped {
		return string(raw)
	}
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var out string
	if err := json.Unmarshal(quoted, &out); err != nil {
		return string(raw) // unreachable: String validated every escape
	}
	return out
}

// StringOrNull reads a string (or null, which reads as ""), as encoding/json fills a string field.
func (s *Scanner) StringOrNull() (raw []byte, escaped bool, err error) {
	if s.Null() {
		return nil, false, nil
	}
	return s.String()
}

// Equal reports whether a String result stands for exactly name.
func Equal(raw []byte, escaped bool, name string) bool {
	if !escaped {
		return string(raw) == name
	}
	return Unquote(raw, true) == name
}

// FieldIs reports whether an object key selects the struct field whose JSON name is name:
// encoding/json matches field names case-insensitively.
func FieldIs(key []byte, escaped bool, name string) bool {
	if !escaped {
		return len(key) == len(name) && (string(key) == name || bytes.EqualFold(key, []byte(name)))
	}
	k := Unquote(key, true)
	return k == name || bytes.EqualFold([]byte(k), []byte(name))
}

// Skip consumes one value of any kind, validating it.
func (s *Scanner) Skip() error { return s.skip(0) }

// Value consumes one value of any kind and returns its bytes.
func (s *Scanner) Value() ([]byte, error) {
	s.Peek()
	start := s.pos
	if err := s.skip(0); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

func (s *Scanner) skip(depth int) error {
	switch c := s.Peek(); c {
	case '"':
		_, _, err := s.String()
		return err
	case '{':
		if depth >= MaxDepth {
			return s.errorf("nested too deeply")
		}
		s.pos++
		for first := true; ; first = false {
			_, _, ok, err := s.NextKey(first)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case '[':
		if depth >= MaxDepth {
			return s.errorf("nested too deeply")
		}
		s.pos++
		for first := true; ; first = false {
			ok, err := s.NextElem(first)
			if err != nil || !ok {
				return err
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
		}
	case 't':
		return s.literal(litTrue)
	case 'f':
		return s.literal(litFalse)
	case 'n':
		return s.literal(litNull)
	case 0:
		return s.errorf("unexpected end of JSON")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			_, err := s.Number()
			return err
		}
		return s.errorf("invalid character %q looking for a value", c)
	}
}

func (s *Scanner) literal(lit []byte) error {
	if !bytes.HasPrefix(s.data[s.pos:], lit) {
		return s.errorf("invalid literal")
	}
	s.pos += len(lit)
	return nil
}

// Number consumes a number and returns its text.
func (s *Scanner) Number() ([]byte, error) {
	data := s.data
	start := s.pos
	i := start
	digits := func() bool {
		j := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case !digits():
		s.pos = i
		return nil, s.errorf("invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			s.pos = i
			return nil, s.errorf("invalid number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			s.pos = i
			return nil, s.errorf("invalid number")
		}
	}
	s.pos = i
	return data[start:i], nil
}

// Int64 reads a number (or null, which reads as 0) into an int64 as encoding/json would:
// no fraction, no exponent, no overflow.
func (s *Scanner) Int64() (int64, error) {
	if s.Null() {
		return 0, nil
	}
	if c := s.Peek(); c != '-' && (c < '0' || c > '9') {
		return 0, s.errorf("expected a number")
	}
	num, err := s.Number()
	if err != nil {
		return 0, err
	}
	neg := num[0] == '-'
	digits := num
	if neg {
		digits = num[1:]
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, s.errorf("number %s is not an integer", num)
		}
		if u > (1<<63)/10 {
			return 0, s.errorf("number %s overflows int64", num)
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case !neg && u > 1<<63-1, neg && u > 1<<63:
		return 0, s.errorf("number %s overflows int64", num)
	case neg:
		return -int64(u), nil
	}
	return int64(u), nil
}
