package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
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
}

func startNoopExtender() (*noopExtender, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /filter", func(w http.ResponseWriter, r *http.Request) {
		var args struct{ NodeNames *[]string }
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeAnswer(w, extenderv1.ExtenderFilterResult{NodeNames: args.NodeNames,
			FailedNodes: extenderv1.FailedNodesMap{}, FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{}})
	})
	mux.HandleFunc("POST /prioritize", func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, extenderv1.HostPriorityList{})
	})
	n := &noopExtender{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, URL: "http://" + l.Addr().String()}
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

func (n *noopExtender) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
}
