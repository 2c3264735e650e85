package extender

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/rktsched/rktsched/extender/internal/jsonscan"
	"github.com/rktsched/rktsched/policy"
)

// buffer is a pooled byte slice. Bodies and answers of 5000 full Nodes are tens of
// megabytes; reusing them keeps that garbage out of the scheduling cycle.
type buffer struct{ b []byte }

var buffers = sync.Pool{New: func() any { return new(buffer) }}

func getBuffer() *buffer {
	b := buffers.Get().(*buffer)
	b.b = b.b[:0]
	return b
}

func (b *buffer) release() { buffers.Put(b) }

// httpError is a request the extender cannot answer, and the status that says why.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) *httpError {
	return &httpError{code: http.StatusBadRequest, err: fmt.Errorf(format, args...)}
}

// readBody reads the whole body, refusing one over the size limit with 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (*buffer, error) {
	if r.ContentLength > s.maxBodyBytes {
		return nil, &httpError{code: http.StatusRequestEntityTooLarge,
			err: fmt.Errorf("request body of %d bytes is over the limit of %d (--max-body-bytes)", r.ContentLength, s.maxBodyBytes)}
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBodyBytes)
	buf := getBuffer()
	if n := int(r.ContentLength); n > 0 && cap(buf.b) < n+1 {
		buf.b = make([]byte, 0, n+1) // +1: room to see the end without growing
	}
	for {
		if len(buf.b) == cap(buf.b) {
			buf.b = append(buf.b, 0)[:len(buf.b)]
		}
		n, err := body.Read(buf.b[len(buf.b):cap(buf.b)])
		buf.b = buf.b[:len(buf.b)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			buf.release()
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return nil, &httpError{code: http.StatusRequestEntityTooLarge,
					err: fmt.Errorf("request body is over the limit of %d bytes (--max-body-bytes)", mbe.Limit)}
			}
			return nil, badRequest("reading the request body: %w", err)
		}
	}
}

// readMembers reads the request's top-level object and sets out[i] to the raw value of
// member names[i]: nil when absent or null. Like encoding/json, names match regardless of
// case and the last of duplicate members wins.
func readMembers(body []byte, names []string, out [][]byte) error {
	var sc jsonscan.Scanner
	sc.Reset(body)
	if sc.Null() {
		return sc.End()
	}
	if err := sc.EnterObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, esc, ok, err := sc.NextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			return sc.End()
		}
		i := 0
		for i < len(names) && !jsonscan.FieldIs(key, esc, names[i]) {
			i++
		}
		if i == len(names) {
			if err := sc.Skip(); err != nil {
				return err
			}
			continue
		}
		out[i] = nil
		if sc.Null() {
			continue
		}
		if out[i], err = sc.Value(); err != nil {
			return err
		}
	}
}

// call is one verb's request: the body, the policy it is judged by and the pod's analysis.
type call struct {
	body   *buffer
	policy *policy.Policy
	pod    *podEntry
	meta   podMeta
	// members are the raw top-level members the verb asked for; members[0] is the Pod.
	members [3][]byte
}

func (c *call) release() { c.body.release() }

// readCall reads a request whose top-level members are "Pod" and the two alternatives a
// and b (one payload mode each, members[1] and members[2]), loads the policy once for the
// whole request, analyses the pod and names it in st. A request with both a and b is refused.
func (s *Server) readCall(w http.ResponseWriter, r *http.Request, c *call, st *stats, a, b string) error {
	body, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	c.body = body
	if err := readMembers(body.b, []string{"Pod", a, b}, c.members[:]); err != nil {
		body.release()
		return badRequest("malformed JSON: %v", err)
	}
	if c.members[0] == nil {
		body.release()
		return badRequest("the request has no Pod")
	}
	c.policy = s.store.Load()
	if c.pod, c.meta, err = s.analyze(c.members[0], c.policy); err != nil {
		body.release()
		return badRequest("%v", err)
	}
	st.pod = c.meta.ref()
	if c.members[1] != nil && c.members[2] != nil {
		body.release()
		return badRequest("the request has both %s and %s", a, b)
	}
	return nil
}

// writeJSON answers 200 with body.
func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // an error means the client is gone: nothing to tell it
}

// appendKey appends `"raw":` with a separating comma unless first.
func appendKey(b []byte, raw []byte, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, raw...)
	return append(b, '"', ':')
}

// appendString appends `"raw"` with a separating comma unless first.
func appendString(b []byte, raw []byte, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, raw...)
	return append(b, '"')
}
