// Package noopextender is a names-mode kube-scheduler extender that decides nothing: the
// ceiling any names-mode extender can reach, which the benchmarks hold rktsched's against.
//
// It serves kube-scheduler alone, on loopback, and trusts it: it reads the node names and the
// pod's name by where kube-scheduler's encoding/json puts them, without decoding the rest, so
// that what it costs is as little as an extender can cost.
package noopextender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a names-mode extender that decides nothing: filter passes every node,
// prioritize scores none. kube-scheduler's throughput with it is what calling any extender
// costs on this machine (two HTTP round trips per pod, kube-scheduler's encoding/json
// client), the ceiling for rktsched's names mode.
type Server struct {
	srv *http.Server
	URL string
	// filters and names count the filter requests and the node names they carried: what
	// kube-scheduler sends any names-mode extender per pod at this cluster's size.
	filters, names atomic.Int64
	// busy is the time spent in the handlers, in nanoseconds: what rktsched-extender's
	// rktsched_extender_request_duration_seconds_sum is to it.
	busy atomic.Int64
	// answers, if set, are sent in place of passing every node and scoring none.
	answers Answers
	bufs    sync.Pool // of *request
}

// Answers are what an answering extender sends (StartAnswering): decided before the run and
// looked up per request, by the pod's name and the node names sent.
type Answers interface {
	// AppendFilter appends the ExtenderFilterResult for the pod and the node names sent
	// (as they are between the quotes of the request).
	AppendFilter(b, pod []byte, names [][]byte) []byte
	// AppendPrioritize appends the HostPriorityList.
	AppendPrioritize(b, pod []byte, names [][]byte) []byte
}

// Start serves the extender on a loopback port.
func Start() (*Server, error) { return StartAnswering(nil) }

// StartAnswering serves, on a loopback port, an extender that sends a's answers. With the
// answers a real extender gives, kube-scheduler's throughput with it is what those answers
// cost kube-scheduler (decoding them, and what they change in its cycle), without the real
// extender's work: the ceiling for any extender that answers the same. With a nil, it is
// Start's extender, which decides nothing.
func StartAnswering(a Answers) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &Server{URL: "http://" + l.Addr().String(), answers: a}
	n.srv = &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := n.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return n, nil
}

// request is one request's body, what was read of it, and its answer.
type request struct {
	body, pod, out []byte
	names          [][]byte
	hasNames       bool
}

// Handler serves the verbs filter and prioritize.
func (n *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mux.ServeHTTP(w, r)
		n.busy.Add(int64(time.Since(start)))
	})
	mux.HandleFunc("POST /filter", func(w http.ResponseWriter, r *http.Request) {
		req, err := n.read(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer n.bufs.Put(req)
		if req.hasNames {
			n.filters.Add(1)
			n.names.Add(int64(len(req.names)))
		}
		if n.answers != nil {
			req.out = n.answers.AppendFilter(req.out[:0], req.pod, req.names)
		} else {
			req.out = appendPassAll(req.out[:0], req.names, req.hasNames)
		}
		writeAnswer(w, req.out)
	})
	mux.HandleFunc("POST /prioritize", func(w http.ResponseWriter, r *http.Request) {
		if n.answers == nil { // the body is not read: net/http drains it
			writeAnswer(w, []byte("[]"))
			return
		}
		req, err := n.read(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer n.bufs.Put(req)
		req.out = n.answers.AppendPrioritize(req.out[:0], req.pod, req.names)
		writeAnswer(w, req.out)
	})
	return timed
}

// Where kube-scheduler's encoding/json puts the pod's name (ExtenderArgs.Pod comes first, its
// metadata first in it) and the node names (after the Pod and Nodes: the last such key).
var (
	podNameKey   = []byte(`"metadata":{"name":"`)
	nodeNamesKey = []byte(`"NodeNames":`)
)

// read reads the body, the pod's name and the node names, which kube-scheduler never escapes
// (node names are DNS subdomains).
func (n *Server) read(r *http.Request) (*request, error) {
	req, _ := n.bufs.Get().(*request)
	if req == nil {
		req = &request{}
	}
	body := bytes.NewBuffer(req.body[:0])
	if _, err := io.Copy(body, r.Body); err != nil {
		return nil, err
	}
	req.body, req.pod, req.names, req.hasNames = body.Bytes(), nil, req.names[:0], false
	b := req.body
	if i := bytes.Index(b, podNameKey); i >= 0 {
		rest := b[i+len(podNameKey):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			req.pod = rest[:j]
		}
	}
	i := bytes.LastIndex(b, nodeNamesKey)
	if i < 0 || bytes.HasPrefix(b[i+len(nodeNamesKey):], []byte("null")) {
		return req, nil
	}
	rest := b[i+len(nodeNamesKey):]
	if len(rest) < 2 || rest[0] != '[' {
		return nil, fmt.Errorf("NodeNames: not an array")
	}
	rest = rest[1:]
	for len(rest) > 0 && rest[0] != ']' {
		if rest[0] == ',' {
			rest = rest[1:]
		}
		if len(rest) == 0 || rest[0] != '"' {
			return nil, fmt.Errorf("NodeNames: not an array of strings")
		}
		j := bytes.IndexByte(rest[1:], '"')
		if j < 0 {
			return nil, fmt.Errorf("NodeNames: an unterminated string")
		}
		req.names = append(req.names, rest[1:1+j])
		rest = rest[2+j:]
	}
	req.hasNames = true
	return req, nil
}

// appendPassAll appends an ExtenderFilterResult that passes every name.
func appendPassAll(b []byte, names [][]byte, hasNames bool) []byte {
	if !hasNames {
		return append(b, `{"Nodes":null,"NodeNames":null,"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""}`...)
	}
	b = append(b, `{"Nodes":null,"NodeNames":[`...)
	for i, name := range names {
		b = AppendName(b, name, i == 0)
	}
	return append(b, `],"FailedNodes":{},"FailedAndUnresolvableNodes":{},"Error":""}`...)
}

// AppendName appends a node name as read from the request, between quotes, after a comma
// unless first: for Answers writing lists and maps of names.
func AppendName(b, name []byte, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"')
}

// writeAnswer answers with a Content-Length: without it an answer over 2 KB goes chunked,
// kube-scheduler's json.Decoder stops before the last chunk, and its client closes the
// connection instead of reusing it, paying a new TCP connection per call.
func writeAnswer(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

// Counts returns the filter requests and node names received so far.
func (n *Server) Counts() (filters, names int64) { return n.filters.Load(), n.names.Load() }

// Busy returns the time spent in the handlers so far.
func (n *Server) Busy() time.Duration { return time.Duration(n.busy.Load()) }

// Stop shuts the server down.
func (n *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
}
