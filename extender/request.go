package extender

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// call is one verb's request and answer: the body, what was read of it, the policy it is
// judged by, the pod's analysis and the answer's buffers. Calls are pooled (budget.go).
type call struct {
	body    []byte
	reader  wire.Reader
	args    wire.Args
	preempt wire.PreemptArgs
	policy  *policy.Policy
	pod     *podEntry
	stats   *stats

	// classes are the named nodes' classes, by index of args.Names (nil: not cached).
	classes []*policy.Class
	filter  wire.FilterResult
	scores  []wire.HostPriority
	scratch []byte
	out     []byte

	// verb is the verb served; held is what the call holds of the memory budget, and want
	// what it needs, by part (budget.go).
	verb string
	held int64
	want share
}

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

// readBody reads the whole body into c.body, refusing one over the size limit with 413. The
// call's share (budget.go) holds a body of the Content-Length; a body of no stated length
// grows its buffer by doubling, each step taken from the budget first.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.checkLength(r); err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, s.maxBodyBytes)
	b := c.body[:0]
	if n := int(r.ContentLength); n > 0 && cap(b) < n+1 {
		b = make([]byte, 0, n+1) // +1: room to see the end without growing
	}
	for {
		if len(b) == cap(b) {
			grow := max(cap(b), chunkGrowth)
			c.want.body = int64(cap(b) + grow)
			if err := s.top(c); err != nil {
				c.body = b[:0]
				return err
			}
			nb := make([]byte, len(b), cap(b)+grow)
			copy(nb, b)
			b = nb
		}
		n, err := body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			c.body = b
			return nil
		}
		if err != nil {
			c.body = b[:0]
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return &httpError{code: http.StatusRequestEntityTooLarge,
					err: fmt.Errorf("request body is over the limit of %d bytes (--max-body-bytes)", mbe.Limit)}
			}
			return badRequest("reading the request body: %w", err)
		}
	}
}

// checkLength refuses with 413 a request whose Content-Length is over the limit.
func (s *Server) checkLength(r *http.Request) error {
	if r.ContentLength > s.maxBodyBytes {
		return &httpError{code: http.StatusRequestEntityTooLarge,
			err: fmt.Errorf("request body of %d bytes is over the limit of %d (--max-body-bytes)", r.ContentLength, s.maxBodyBytes)}
	}
	return nil
}

// readArgs reads an ExtenderArgs request (filter, prioritize) into c.args, loads the policy
// once for the whole request and analyses the pod.
func (s *Server) readArgs(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readBody(w, r, c); err != nil {
		return err
	}
	if err := s.measured(c); err != nil {
		return err
	}
	c.reader.Limits = s.limits
	if err := c.reader.ReadArgs(c.body, &c.args); err != nil {
		return readError(err)
	}
	switch {
	case !c.args.HasNames && !c.args.HasNodes:
		return badRequest("the request has neither Nodes nor NodeNames")
	case c.args.HasNames && s.nodes == nil:
		return errNoNodeCache
	}
	return s.analyze(c, c.args.Pod)
}

// readPreemptArgs is readArgs for ExtenderPreemptionArgs, into c.preempt.
func (s *Server) readPreemptArgs(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := s.readBody(w, r, c); err != nil {
		return err
	}
	if err := s.measured(c); err != nil {
		return err
	}
	c.reader.Limits = s.limits
	if err := c.reader.ReadPreemptArgs(c.body, &c.preempt); err != nil {
		return readError(err)
	}
	return s.analyze(c, c.preempt.Pod)
}

func (s *Server) analyze(c *call, pod []byte) error {
	c.policy = s.store.Load()
	var objs policy.Objects
	var generation int64
	if s.nodes != nil {
		objs, generation = s.nodes.objects, s.nodes.objects.Generation()
	}
	e, err := s.pods.analyze(pod, c.policy, objs, generation, func(sh wire.PodShape) error {
		c.want.other = max(c.want.other, podCost(sh))
		return s.top(c)
	})
	if err != nil {
		if he := (*httpError)(nil); errors.As(err, &he) {
			return err
		}
		return readError(err)
	}
	c.pod = e
	c.stats.pod = e.ref
	return nil
}

var errNoNodeCache = badRequest("this extender runs --standalone, without a node cache: " +
	"it needs full Nodes (nodeCacheCapable: false), not NodeNames")

// writeJSON answers 200 with body.
func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // an error means the client is gone: nothing to tell it
}
