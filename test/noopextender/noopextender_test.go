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

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// evenNodes answers: nodes whose name ends in an even digit pass, scored 3; the others fail.
type evenNodes struct{ pods []string }

func (e *evenNodes) AppendFilter(b, pod []byte, names [][]byte) []byte {
	e.pods = append(e.pods, string(pod))
	var passed []string
	failed := extenderv1.FailedNodesMap{}
	for _, n := range names {
		if (n[len(n)-1]-'0')%2 == 0 {
			passed = append(passed, string(n))
		} else {
			failed[string(n)] = "odd"
		}
	}
	out, _ := json.Marshal(extenderv1.ExtenderFilterResult{NodeNames: &passed, FailedAndUnresolvableNodes: failed})
	return append(b, out...)
}

func (e *evenNodes) AppendPrioritize(b, pod []byte, names [][]byte) []byte {
	e.pods = append(e.pods, string(pod))
	var list extenderv1.HostPriorityList
	for _, n := range names {
		list = append(list, extenderv1.HostPriority{Host: string(n), Score: 3})
	}
	out, _ := json.Marshal(list)
	return append(b, out...)
}

// The answering extender reads the pod's name and the node names where kube-scheduler's
// encoding/json writes them, and sends what its Answers write.
func TestAnswering(t *testing.T) {
	answers := &evenNodes{}
	srv := httptest.NewServer((&Server{answers: answers}).Handler())
	defer srv.Close()
	names := []string{"n1", "n2", "n3", "n4"}
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns",
		Annotations: map[string]string{"x": `"metadata":{"name":"q"} "NodeNames":["n9"]`}}}
	var filtered extenderv1.ExtenderFilterResult
	send(t, srv.Client(), srv.URL+"/filter", &extenderv1.ExtenderArgs{Pod: pod, NodeNames: &names}, &filtered)
	if got := fmt.Sprint(*filtered.NodeNames, filtered.FailedAndUnresolvableNodes); got != "[n2 n4] map[n1:odd n3:odd]" {
		t.Errorf("filter answered %s", got)
	}
	var scores extenderv1.HostPriorityList
	send(t, srv.Client(), srv.URL+"/prioritize", &extenderv1.ExtenderArgs{Pod: pod, NodeNames: filtered.NodeNames}, &scores)
	if got := fmt.Sprint(scores); got != "[{n2 3} {n4 3}]" {
		t.Errorf("prioritize answered %s", got)
	}
	if got := fmt.Sprint(answers.pods); got != "[p p]" {
		t.Errorf("the answers were asked for pods %s, want [p p]", got)
	}
}

// Without answers, filter passes the names sent, whatever they are, and Nodes (full-Node
// mode) gets NodeNames null.
func TestPassAll(t *testing.T) {
	srv := httptest.NewServer((&Server{}).Handler())
	defer srv.Close()
	names := []string{"a", "b.example.com"}
	var filtered extenderv1.ExtenderFilterResult
	send(t, srv.Client(), srv.URL+"/filter", &extenderv1.ExtenderArgs{Pod: &v1.Pod{}, NodeNames: &names}, &filtered)
	if filtered.NodeNames == nil || fmt.Sprint(*filtered.NodeNames) != "[a b.example.com]" || len(filtered.FailedNodes) > 0 {
		t.Errorf("filter answered %+v", filtered)
	}
	filtered = extenderv1.ExtenderFilterResult{}
	send(t, srv.Client(), srv.URL+"/filter", &extenderv1.ExtenderArgs{Pod: &v1.Pod{}, Nodes: &v1.NodeList{}}, &filtered)
	if filtered.NodeNames != nil {
		t.Errorf("filter of Nodes answered NodeNames %v", *filtered.NodeNames)
	}
}
