package wire

// Shape is what Measure found in a request body, for the memory reading it will hold.
type Shape struct {
	// Items counts object members and array elements: an upper bound of the Nodes, names,
	// victims and UIDs a Reader can keep of the body.
	Items int
	// OpenMembers is the most object members open at once: jsontext's duplicate-name check
	// keeps every name of an open object of over 64 members in a map (about 100 bytes a
	// name), and a skipped value is checked like any other.
	OpenMembers int
}

// maxScanDepth is jsontext's own nesting limit: past it the body is refused anyway.
const maxScanDepth = 10000

// structural are the bytes Measure looks at outside strings; inString those it looks at
// inside one.
var structural, inString [256]bool

func init() {
	for _, c := range []byte(`"{}[]:,`) {
		structural[c] = true
	}
	inString['"'], inString['\\'] = true, true
}

// Measure walks body's bytes once (strings are skipped with bytes.IndexByte) and returns its
// Shape, without decoding anything or allocating per value. It trusts nothing: on malformed
// JSON its counts are those of the prefix up to where the decoder will refuse it.
func Measure(body []byte) Shape {
	var sh Shape
	var stackArr [64]int32 // per open container: members so far (object) or -1 (array)
	stack := stackArr[:0]
	open := 0
	for i := 0; i < len(body); i++ {
		for i < len(body) && !structural[body[i]] {
			i++
		}
		if i == len(body) {
			break
		}
		switch body[i] {
		case '"':
			// To the closing quote: one not escaped by an odd run of backslashes.
			j := i + 1
			for {
				for j < len(body) && !inString[body[j]] {
					j++
				}
				if j >= len(body) {
					return sh // unterminated: refused by the decoder
				}
				if body[j] == '"' {
					break
				}
				j += 2 // a backslash and the byte it escapes
			}
			i = j
		case '{':
			if len(stack) == maxScanDepth {
				return sh
			}
			stack = append(stack, 0)
		case '[':
			if len(stack) == maxScanDepth {
				return sh
			}
			stack = append(stack, -1)
			// An element follows unless the array is empty.
			k := i + 1
			for k < len(body) && (body[k] == ' ' || body[k] == '\t' || body[k] == '\n' || body[k] == '\r') {
				k++
			}
			if k < len(body) && body[k] != ']' {
				sh.Items++
			}
		case '}', ']':
			if len(stack) == 0 {
				return sh
			}
			if n := stack[len(stack)-1]; n > 0 {
				open -= int(n)
			}
			stack = stack[:len(stack)-1]
		case ':':
			if len(stack) > 0 && stack[len(stack)-1] >= 0 {
				stack[len(stack)-1]++
				sh.Items++
				if open++; open > sh.OpenMembers {
					sh.OpenMembers = open
				}
			}
		case ',':
			if len(stack) > 0 && stack[len(stack)-1] < 0 {
				sh.Items++
			}
		}
	}
	return sh
}
