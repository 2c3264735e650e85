package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// noopExtender is a names-mode extender that decides nothing: filter passes every node,
// prioritize scores none. kube-scheduler's throughput with it is what calling any extender
// costs on this machine (two HTTP round trips per pod, kube-scheduler's encoding/json
// client), the ceiling for rktsched's names mode.
type noopExtender struct {
	srv *http.Server
	URL string
	// filters and names count the filter requests and the node names they carried: what
	// kube-scheduler sends any names-mode extender per pod at this cluster's size.
	filters, names atomic.Int64
}

func startNoopExtender() (*noopExtender, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &noopExtender{URL: "http://" + l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /filter", func(w http.ResponseWriter, r *http.Request) {
		var args struct{ NodeNames *[]string }
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if args.NodeNames != nil {
			n.filters.Add(1)
			n.names.Add(int64(len(*args.NodeNames)))
		}
		writeAnswer(w, extenderv1.ExtenderFilterResult{NodeNames: args.NodeNames,
			FailedNodes: extenderv1.FailedNodesMap{}, FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{}})
	})
	mux.HandleFunc("POST /prioritize", func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, extenderv1.HostPriorityList{})
	})
	n.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := n.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return n, nil
}

func writeAnswer(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// counts returns the filter requests and node names received so far.
func (n *noopExtender) counts() (filters, names int64) { return n.filters.Load(), n.names.Load() }

func (n *noopExtender) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
}
