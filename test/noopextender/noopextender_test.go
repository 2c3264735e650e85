package noopextender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// kube-scheduler's client (HTTPExtender.send) decodes an answer with a json.Decoder and closes
// the body: the connection is reused only if the decoder saw the body's end. An extender that
// cost a TCP connection per call would not be the ceiling it stands for.
func TestConnectionReused(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer((&Server{}).Handler())
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	names := make([]string, 500) // an answer of about 20 KB, far over the 2 KB chunking threshold
	for i := range names {
		names[i] = fmt.Sprintf("ip-10-0-%d-%d.us-west-2.compute.internal", i/256, i%256)
	}
	args := extenderv1.ExtenderArgs{NodeNames: &names}
	for range 3 {
		var filtered extenderv1.ExtenderFilterResult
		send(t, srv.Client(), srv.URL+"/filter", &args, &filtered)
		if len(*filtered.NodeNames) != len(names) {
			t.Fatalf("filter passed %d of %d nodes", len(*filtered.NodeNames), len(names))
		}
		var scores extenderv1.HostPriorityList
		send(t, srv.Client(), srv.URL+"/prioritize", &args, &scores)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("6 calls opened %d connections, want 1", n)
	}
}

// send is kube-scheduler's HTTPExtender.send.
func send(t *testing.T, c *http.Client, url string, args, result any) {
	t.Helper()
	body, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(result); err != nil {
		t.Fatal(err)
	}
}

// evenNodes answers for pod "p": nodes whose name ends in an even digit pass, scored 3; the
// others fail.
type evenNodes struct{ pods []string }

func (e *evenNodes) Filter(pod string, names []string) ([]string, extenderv1.FailedNodesMap) {
	e.pods = append(e.pods, pod)
	failed := extenderv1.FailedNodesMap{}
	var passed []string
	for _, n := range names {
		if (n[len(n)-1]-'0')%2 == 0 {
			passed = append(passed, n)
		} else {
			failed[n] = "odd"
		}
	}
	return passed, failed
}

func (e *evenNodes) Prioritize(pod string, names []string) extenderv1.HostPriorityList {
	e.pods = append(e.pods, pod)
	var out extenderv1.HostPriorityList
	for _, n := range names {
		out = append(out, extenderv1.HostPriority{Host: n, Score: 3})
	}
	return out
}

func TestAnswering(t *testing.T) {
	answers := &evenNodes{}
	srv := httptest.NewServer((&Server{answers: answers}).Handler())
	defer srv.Close()
	names := []string{"n1", "n2", "n3", "n4"}
	pod := map[string]any{"metadata": map[string]any{"name": "p"}}
	var filtered extenderv1.ExtenderFilterResult
	send(t, srv.Client(), srv.URL+"/filter", map[string]any{"Pod": pod, "NodeNames": names}, &filtered)
	if got := fmt.Sprint(*filtered.NodeNames, filtered.FailedNodes); got != "[n2 n4] map[n1:odd n3:odd]" {
		t.Errorf("filter answered %s", got)
	}
	var scores extenderv1.HostPriorityList
	send(t, srv.Client(), srv.URL+"/prioritize", map[string]any{"Pod": pod, "NodeNames": *filtered.NodeNames}, &scores)
	if got := fmt.Sprint(scores); got != "[{n2 3} {n4 3}]" {
		t.Errorf("prioritize answered %s", got)
	}
	if got := fmt.Sprint(answers.pods); got != "[p p]" {
		t.Errorf("the answers were asked for pods %s, want [p p]", got)
	}
}
