package extender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sync/semaphore"

	"github.com/rktsched/rktsched/extender/internal/wire"
	"github.com/rktsched/rktsched/policy"
)

// The extender's memory is its caches (each bounded: podcache.go, remembered.go) and what
// the requests being served hold. What a request holds is counted against one budget for all
// of them (--max-bytes-in-flight) before it is taken, so that concurrency times request size
// can never exceed it.
//
// A request takes its share once, before its body is read, from its Content-Length: its
// body, its answer (filter copies the Nodes that pass twice: built, then written; preempt
// the victims' UIDs once), a slot and an answer line per node (one per 8 bytes, up to
// --max-nodes-per-request), and an allowance for the rest. It waits for that
// share in turn (first come, first served), up to maxBudgetWait, holding nothing meanwhile:
// under a flood of large requests kube-scheduler's are served late rather than refused.
// Once its body is read, the share is set to what the body holds (wire.Measure: items, and
// the duplicate-name check's entry per object member open at once), and then to what
// decoding and analysing its Pod holds (wire.ScanPod): what it needs beyond its share is
// taken without waiting, or the request is turned away with 429 (a request never waits
// while it holds memory, so requests cannot wait for each other); what it took beyond its
// needs is given back. A request that could never
// fit, even alone, gets 413. Per-request bounds (--max-nodes-per-request,
// --max-victims-per-request, the Pod's in internal/wire) refuse absurd requests with 413
// early, and keep any one request's share small.
//
// The costs below were measured (TotalAlloc, garbage of growing slices included) on hostile
// bodies: empty objects in every array of structs, for the most bytes per byte of body.
const (
	// itemCost: a wire.Node is 216 bytes, twice for its slice's growth; its refusal in the
	// answer is its name and a reason (a few hundred bytes), twice (built, then written).
	itemCost = 1280
	// victimCost: a UID slot (24 bytes, twice), `""` for a missing one, `{"UID":""},` written.
	victimCost = 64
	// memberCost: a name in jsontext's duplicate-name map (~110 bytes measured), and again
	// in a node's labels decoded for the policy (wire.Node.Slim).
	memberCost = 256
	// Decoding and analysing a Pod, per what wire.ScanPod counts (2.2 KiB measured per empty
	// container, 1.5 KiB per volume, up to 680 bytes per empty object elsewhere, 150 per
	// label), plus its strings, at most its size.
	podContainerCost = 2560
	podVolumeCost    = 1792
	podValueCost     = 768
	// allowance is what a request's share holds for open object members and its Pod: an
	// ordinary request (a realistic Pod, Nodes of a few hundred labels) needs less.
	allowance = 512 << 10
	// upfrontItemBytes: a share taken from Content-Length counts an item (a Node, a node
	// name) per 8 bytes of body; node names are longer, Nodes far longer. A body of more
	// items (`{}` after `{}`) needs more once measured, taken without waiting, or 429.
	upfrontItemBytes = 8
	// chunkGrowth is the step of a body buffer's growth when Content-Length is not given.
	chunkGrowth = 64 << 10
	// maxBudgetWait bounds the wait for a share. kube-scheduler gives up on an extender call
	// after its httpTimeout (1 s in the shipped configuration, 5 s by default), but a
	// waiting request cannot tell (net/http notices a closed connection only once the body
	// is read): past this it stops waiting and gives its place among the requests in
	// flight back.
	maxBudgetWait = 10 * time.Second
)

// DefaultMaxOpenMembers bounds the object members open at once in a request (wire.Shape):
// a names request has a dozen, a preemption request as many as nodes with victims, a Node
// a few hundred labels. Past it a request is refused with 413.
const DefaultMaxOpenMembers = 1 << 16

// budget is the memory the verbs being served, and the calls kept for the next ones, may
// hold at once.
type budget struct {
	limit int64
	sem   *semaphore.Weighted
	// used is what is held (by requests and idle calls), and waiting the requests waiting
	// for a share, for the metrics.
	used, waiting atomic.Int64
}

func newBudget(limit int64) budget { return budget{limit: limit, sem: semaphore.NewWeighted(limit)} }

// share is what a call may hold, by what holds it: the body; the answer; the reader's slots
// and the answer's lines per item; the rest (open members, the Pod, scratch).
type share struct{ body, answer, items, other int64 }

func (s share) total() int64 { return s.body + s.answer + s.items + s.other }

// covering is s with each part at least k's.
func (s share) covering(k share) share {
	return share{max(s.body, k.body), max(s.answer, k.answer), max(s.items, k.items), max(s.other, k.other)}
}

// kept is the memory c kept from earlier requests (a pooled call): reused first, so a part
// of the share it covers is not taken twice.
func (c *call) kept() share {
	return share{
		body:   int64(cap(c.body)),
		answer: int64(cap(c.out) + c.filter.Retained() + cap(c.scores)*int(unsafe.Sizeof(wire.HostPriority{}))),
		items: int64(cap(c.args.Nodes)*int(unsafe.Sizeof(wire.Node{})) + cap(c.args.Names)*int(unsafe.Sizeof(wire.Name{})) +
			cap(c.classes)*int(unsafe.Sizeof((*policy.Class)(nil))) +
			cap(c.preempt.Victims)*int(unsafe.Sizeof(wire.Victims{})) + c.reader.Retained()),
		other: int64(cap(c.scratch)),
	}
}

var errOverBudget = &httpError{code: http.StatusTooManyRequests,
	err: errors.New("the requests in flight hold the memory they may (--max-bytes-in-flight); retry")}

func (s *Server) tooLargeForBudget(n int64) error {
	return &httpError{code: http.StatusRequestEntityTooLarge, err: fmt.Errorf(
		"the request would hold about %d MiB, more than all requests together may (%d MiB, --max-bytes-in-flight)",
		n>>20, s.budget.limit>>20)}
}

// begin takes c's share for a request whose body is n bytes (-1: not said), waiting for it
// in turn if need be. c comes from getCall, its kept buffers held already; if they do not
// fit beside the share, or the request must wait, c drops them: a waiting request holds
// nothing, and idle calls give their buffers back before anyone waits for room.
func (s *Server) begin(ctx context.Context, c *call, n int64) error {
	c.want = share{other: allowance}
	if n >= 0 {
		items := min(n/upfrontItemBytes, int64(s.maxNodes)) * itemCost
		c.want = share{body: n + 1, answer: answerCost(c.verb, n), items: items, other: allowance}
		if c.verb == "preempt" {
			c.want.items += min(n/3, int64(s.maxVictims)) * victimCost
		}
	}
	if c.want.covering(c.kept()).total() > s.budget.limit {
		s.dropBuffers(c)
	}
	if need := c.want.total(); need > s.budget.limit {
		return s.tooLargeForBudget(need)
	}
	if s.take(c) {
		return nil
	}
	// It must wait: from now on, calls that end give their memory back rather than keep it
	// idle (putCall), and the idle ones give theirs now.
	s.budget.waiting.Add(1)
	defer s.budget.waiting.Add(-1)
	s.dropBuffers(c)
	s.flushIdle()
	if s.take(c) {
		return nil
	}
	need := c.want.total()
	wctx, cancel := context.WithTimeout(ctx, maxBudgetWait)
	err := s.budget.sem.Acquire(wctx, need)
	cancel()
	if err != nil {
		return &httpError{code: http.StatusTooManyRequests, err: fmt.Errorf(
			"the requests in flight hold the memory they may (--max-bytes-in-flight), and left no room in time: %w; retry", err)}
	}
	s.budget.used.Add(need)
	c.held = need
	return nil
}

// take makes c hold what it wants (its share, covering its kept buffers) without waiting,
// giving back what it holds beyond; false if the budget has no room now.
func (s *Server) take(c *call) bool {
	need := c.want.covering(c.kept()).total()
	d := need - c.held
	if d > 0 && !s.budget.sem.TryAcquire(d) {
		return false
	}
	if d < 0 {
		s.budget.sem.Release(-d)
	}
	s.budget.used.Add(d)
	c.held = need
	return true
}

// top makes c hold what it now wants, without waiting (idle calls give their buffers back
// first if need be): 429 if the budget has no room now, 413 if it never could.
func (s *Server) top(c *call) error {
	if need := c.want.covering(c.kept()).total(); need > s.budget.limit {
		return s.tooLargeForBudget(need)
	}
	if s.take(c) || (s.flushIdle() && s.take(c)) {
		return nil
	}
	return errOverBudget
}

// dropBuffers gives back what c holds and lets its buffers go to the garbage collector.
func (s *Server) dropBuffers(c *call) {
	s.end(c)
	*c = call{stats: c.stats, verb: c.verb, want: c.want}
}

// end gives back what c holds.
func (s *Server) end(c *call) {
	if c.held > 0 {
		s.budget.sem.Release(c.held)
		s.budget.used.Add(-c.held)
	}
	c.held = 0
}

// Calls are pooled: bodies and answers of 5000 full Nodes are tens of megabytes, and reusing
// them keeps that garbage out of the scheduling cycle. The pool is the extender's own, not a
// sync.Pool, so that the buffers an idle call keeps stay counted in the budget (an idle
// call's are memory too); at most maxIdleCalls are kept (kube-scheduler sends one request at
// a time per scheduling profile), and they give their share back as soon as a request needs
// the room; while one waits for room, calls that end are not kept.
const maxIdleCalls = 4

type callPool struct {
	mu   sync.Mutex
	idle []*call
}

// getCall returns an idle call, its kept buffers still held (c.held), or a new call.
func (s *Server) getCall() *call {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return new(call)
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return c
}

// putCall keeps c for a next request, holding only what its buffers take, or drops it:
// past maxIdleCalls, and whenever a request waits for room.
func (s *Server) putCall(c *call) {
	c.policy, c.pod, c.stats, c.verb, c.want = nil, nil, nil, "", share{}
	p := &s.pool
	p.mu.Lock()
	if len(p.idle) < maxIdleCalls && s.budget.waiting.Load() == 0 {
		s.take(c) // gives back the share beyond the kept buffers
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	s.end(c)
}

// flushIdle drops the idle calls, giving back what they held; false if there were none.
func (s *Server) flushIdle() bool {
	p := &s.pool
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		s.end(c)
	}
	return len(idle) > 0
}

// answerCost is the answer's part of a share for a body of n bytes.
func answerCost(verb string, n int64) int64 {
	switch verb {
	case "filter":
		return 2 * n
	case "preempt":
		return n
	}
	return 0
}

// measured sets c's share from what c.body holds (wire.Measure, ~1.5 ns a byte), refusing
// with 413 a body whose objects hold more members open at once than s.maxOpenMembers; it
// takes more if it needs more, and gives back what its Content-Length made it take beyond.
func (s *Server) measured(c *call) error {
	n := len(c.body)
	sh := wire.Measure(c.body)
	if sh.OpenMembers > s.maxOpenMembers {
		return tooLarge(&wire.LimitError{What: "object members open at once", Count: sh.OpenMembers, Limit: s.maxOpenMembers})
	}
	items := int64(min(sh.Items, s.maxNodes)) * itemCost
	if c.verb == "preempt" {
		items += int64(min(sh.Items, s.maxVictims)) * victimCost
	}
	c.want = share{body: int64(cap(c.body)), answer: answerCost(c.verb, int64(n)), items: items,
		other: max(allowance, int64(sh.OpenMembers)*memberCost)}
	return s.top(c)
}

// podCost is what decoding and analysing a Pod of that shape holds.
func podCost(sh wire.PodShape) int64 {
	return int64(sh.Containers)*podContainerCost + int64(sh.Volumes)*podVolumeCost +
		int64(sh.Values)*podValueCost + int64(sh.Bytes)
}

// tooLarge is a request refused for one of its bounds (*wire.LimitError): 413, naming it.
func tooLarge(err error) error {
	return &httpError{code: http.StatusRequestEntityTooLarge, err: err}
}

// readError is the answer to an error reading a request: 413 for a bound, else 400.
func readError(err error) error {
	if le := (*wire.LimitError)(nil); errors.As(err, &le) {
		return tooLarge(err)
	}
	return badRequest("%v", err)
}
