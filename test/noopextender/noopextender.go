// Package noopextender is a names-mode kube-scheduler extender that decides nothing: the
// ceiling any names-mode extender can reach, which the benchmarks hold rktsched's against.
package noopextender

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
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
}

// Start serves the extender on a loopback port.
func Start() (*Server, error) { return StartAnswering(nil) }

// Answers are what an answering extender sends (StartAnswering): decided before the run and
// looked up per request, by the pod's name and the node names sent.
type Answers interface {
	// Filter splits names into those the pod may go to and those it may not, with a reason.
	Filter(pod string, names []string) (passed []string, failed extenderv1.FailedNodesMap)
	// Prioritize scores names for the pod; nodes not listed score 0.
	Prioritize(pod string, names []string) extenderv1.HostPriorityList
}

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

// Handler serves the verbs filter and prioritize.
func (n *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	timed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mux.ServeHTTP(w, r)
		n.busy.Add(int64(time.Since(start)))
	})
	mux.HandleFunc("POST /filter", func(w http.ResponseWriter, r *http.Request) {
		args, ok := n.read(w, r)
		if !ok {
			return
		}
		if args.NodeNames != nil {
			n.filters.Add(1)
			n.names.Add(int64(len(*args.NodeNames)))
		}
		result := extenderv1.ExtenderFilterResult{NodeNames: args.NodeNames,
			FailedNodes: extenderv1.FailedNodesMap{}, FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{}}
		if n.answers != nil && args.NodeNames != nil {
			var passed []string
			passed, result.FailedNodes = n.answers.Filter(args.Pod.Metadata.Name, *args.NodeNames)
			result.NodeNames = &passed
		}
		writeAnswer(w, result)
	})
	mux.HandleFunc("POST /prioritize", func(w http.ResponseWriter, r *http.Request) {
		if n.answers == nil { // the body is not read: net/http drains it
			writeAnswer(w, extenderv1.HostPriorityList{})
			return
		}
		args, ok := n.read(w, r)
		if !ok {
			return
		}
		var names []string
		if args.NodeNames != nil {
			names = *args.NodeNames
		}
		writeAnswer(w, n.answers.Prioritize(args.Pod.Metadata.Name, names))
	})
	return timed
}

// args is what the extender reads of ExtenderArgs: the node names, and the pod's name if it
// answers.
type args struct {
	Pod struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	NodeNames *[]string
}

// read decodes the request into args, or answers 400.
func (n *Server) read(w http.ResponseWriter, r *http.Request) (args, bool) {
	var a args
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return a, false
	}
	return a, true
}

// writeAnswer answers with a Content-Length: without it an answer over 2 KB goes chunked,
// kube-scheduler's json.Decoder stops before the last chunk, and its client closes the
// connection instead of reusing it, paying a new TCP connection per call.
func writeAnswer(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
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
