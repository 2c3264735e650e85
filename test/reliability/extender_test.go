//go:build e2e

// Package reliability drives the real extender binary with bad input, slow and untrusted
// callers and a flood of concurrent requests on loopback, and checks that it fails safe:
// every request is answered or refused cleanly, memory stays bounded, nothing crashes.
package reliability

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/internal/testpki"
	"github.com/rktsched/rktsched/test/cluster"
)

// extenderBinary builds (or finds, with RKTSCHED_BIN) the extender once per run.
var extenderBinary = sync.OnceValues(func() (string, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return "", err
	}
	out, err := os.MkdirTemp("", "rktsched-reliability-")
	if err != nil {
		return "", err
	}
	dir, err := cluster.ProjectBinaries(context.Background(), root, os.Getenv("RKTSCHED_BIN"), out, os.Stderr)
	return filepath.Join(dir, cluster.ExtenderBinary), err
})

// extender is a running standalone extender.
type extender struct {
	cmd    *exec.Cmd
	url    string
	client *http.Client
	log    *bytes.Buffer
}

func startExtender(t *testing.T, scheme string, client *http.Client, args ...string) *extender {
	t.Helper()
	bin, err := extenderBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(cluster.FreePort())
	var log bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--standalone", "--listen", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &extender{cmd: cmd, url: scheme + "://" + addr, client: client, log: &log}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("extender log:\n%s", log.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(e.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("extender not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive checks that the process has not exited and still answers /healthz.
func (e *extender) alive(t *testing.T) {
	t.Helper()
	if e.cmd.ProcessState != nil {
		t.Fatalf("extender exited: %v", e.cmd.ProcessState)
	}
	resp, err := e.client.Get(e.url + "/healthz")
	if err != nil {
		t.Fatalf("extender does not answer /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}
}

// peakRSS is the process's high-water resident set, from /proc.
func (e *extender) peakRSS(t *testing.T) int64 {
	t.Helper()
	m, err := cluster.MemoryOf(e.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return m.PeakRSS
}

func nodes(n int) []v1.Node {
	out := make([]v1.Node, n)
	for i := range out {
		out[i].Name = fmt.Sprintf("node-%d", i)
		out[i].Status.NodeInfo.ContainerRuntimeVersion = "docker://1.12.6"
		if i%2 == 1 {
			out[i].Status.NodeInfo.ContainerRuntimeVersion = "rkt://1.29.0"
		}
	}
	return out
}

func filterBody(t testing.TB, nodeCount int) []byte {
	pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec: v1.PodSpec{InitContainers: []v1.Container{{Name: "i", Image: "busybox:1"}}, Containers: []v1.Container{{Name: "c", Image: "busybox:1"}}}}
	body, err := json.Marshal(extenderv1.ExtenderArgs{Pod: pod, Nodes: &v1.NodeList{Items: nodes(nodeCount)}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func (e *extender) post(verb string, body []byte) (int, []byte, error) {
	resp, err := e.client.Post(e.url+"/"+verb, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func TestBadInput(t *testing.T) {
	e := startExtender(t, "http", http.DefaultClient, "--max-body-bytes", strconv.Itoa(1<<20))
	tests := []struct {
		name   string
		method string
		verb   string
		body   []byte
		status int
	}{
		{"malformed JSON", http.MethodPost, "filter", []byte(`{"Pod":`), http.StatusBadRequest},
		{"not an object", http.MethodPost, "prioritize", []byte(`[1,2]`), http.StatusBadRequest},
		{"no pod", http.MethodPost, "filter", []byte(`{"Nodes":{"items":[]}}`), http.StatusBadRequest},
		{"empty body", http.MethodPost, "preempt", nil, http.StatusBadRequest},
		{"names mode in standalone", http.MethodPost, "filter", []byte(`{"Pod":{"metadata":{"name":"p"}},"NodeNames":["a"]}`), http.StatusBadRequest},
		{"too large", http.MethodPost, "filter", append(append([]byte(`{"Pod":{},"x":"`), bytes.Repeat([]byte("x"), 2<<20)...), '"', '}'), http.StatusRequestEntityTooLarge},
		{"wrong method", http.MethodGet, "filter", nil, http.StatusMethodNotAllowed},
		{"unknown verb", http.MethodPost, "bind", []byte(`{}`), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.url+"/"+tt.verb, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d (%s), want %d", resp.StatusCode, msg, tt.status)
			}
			if tt.status == http.StatusBadRequest && len(bytes.TrimSpace(msg)) == 0 {
				t.Error("400 without a message")
			}
		})
	}
	e.alive(t)
}

// A client that sends half its headers and stalls is cut off by the server's header timeout,
// and does not hold up anyone else meanwhile.
func TestSlowClient(t *testing.T) {
	e := startExtender(t, "http", http.DefaultClient)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /filter HTTP/1.1\r\nHost: x\r\nContent-Type: app"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if status, _, err := e.post("filter", filterBody(t, 10)); err != nil || status != http.StatusOK {
		t.Fatalf("request beside a stalled client: %d, %v", status, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a stalled connection open for %v", time.Since(start))
	}
	t.Logf("stalled connection closed by the server after %v", time.Since(start).Round(time.Millisecond))
	e.alive(t)
}

// Thousands of concurrent requests: every one is answered with a well-formed result or
// refused with a status, memory stays bounded, the process survives.
func TestConcurrentFlood(t *testing.T) {
	const requests = 2000
	transport := &http.Transport{MaxIdleConnsPerHost: requests, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}
	// Every request is let in: this test is about answering all of them right.
	e := startExtender(t, "http", client, "--max-requests-in-flight", strconv.Itoa(requests), "--max-bytes-in-flight", strconv.Itoa(8<<30))
	body := filterBody(t, 50)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var failures []string
	start := time.Now()
	for range requests {
		wg.Go(func() {
			status, data, err := e.post("filter", body)
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case status == http.StatusOK:
				var res extenderv1.ExtenderFilterResult
				if err := json.Unmarshal(data, &res); err != nil || res.Error != "" || res.Nodes == nil || len(res.Nodes.Items) != 25 || len(res.FailedAndUnresolvableNodes) != 25 {
					failures = append(failures, fmt.Sprintf("bad answer: %v %.200s", err, data))
				}
			default:
				failures = append(failures, fmt.Sprintf("status %d: %.200s", status, data))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed, first: %s", len(failures), requests, failures[0])
	}
	rss := e.peakRSS(t)
	t.Logf("%d concurrent filter requests (50 full Nodes each) in %v: statuses %v, extender peak RSS %d MiB",
		requests, elapsed.Round(time.Millisecond), statuses, rss>>20)
	if rss > 512<<20 {
		t.Errorf("peak RSS %d MiB, want at most 512 MiB", rss>>20)
	}
	e.alive(t)
}

// TestUniquePodFlood sends 100,000 filter requests, each for a pod no one sent before (the
// pod cache can reuse nothing), from 32 clients at once: the extender's memory must stay
// bounded and every answer must be 200 with the verdict the pod's kind calls for.
func TestUniquePodFlood(t *testing.T) {
	const requests, workers = 100_000, 32
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 60 * time.Second}
	e := startExtender(t, "http", client)
	cluster := []v1.Node{
		{ObjectMeta: metav1.ObjectMeta{Name: "docker"}, Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "docker://1.12.6"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "coreos"}, Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "rkt://1.29.0"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "fly", Annotations: map[string]string{"rktsched.io/stage1-image": "coreos.com/rkt/stage1-fly:1.29.0"}},
			Status: v1.NodeStatus{NodeInfo: v1.NodeSystemInfo{ContainerRuntimeVersion: "rkt://1.29.0"}}},
	}
	// Four kinds of pod and the nodes each must be refused, with the reason.
	kinds := []struct {
		edit    func(*v1.Pod)
		refused map[string]string
	}{
		{func(*v1.Pod) {}, map[string]string{"fly": "rkt stage1-fly lacks namespace-isolation"}},
		{func(p *v1.Pod) {
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
		}, map[string]string{"coreos": "rkt stage1-coreos lacks gpu", "fly": "rkt stage1-fly lacks gpu, namespace-isolation"}},
		{func(p *v1.Pod) { p.Spec.HostPID = true }, map[string]string{"coreos": "rkt stage1-coreos lacks host-pid"}},
		{func(p *v1.Pod) { p.Spec.InitContainers = []v1.Container{{Name: "i", Image: "busybox:1"}} },
			map[string]string{"coreos": "rkt stage1-coreos lacks init-containers", "fly": "rkt stage1-fly lacks init-containers, namespace-isolation"}},
	}
	body := func(i int) []byte {
		p := &v1.Pod{
			// The same identity for every pod of a kind would have bought the first one's
			// verdict before issue 12; here the identities are unique and the bodies too.
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("p-", i), Namespace: "default", UID: "U1", ResourceVersion: "5",
				Annotations: map[string]string{"flood": strconv.Itoa(i)}},
			Spec: v1.PodSpec{RestartPolicy: v1.RestartPolicyNever, Containers: []v1.Container{{Name: "c", Image: "busybox:1"}}},
		}
		kinds[i%len(kinds)].edit(p)
		b, err := json.Marshal(extenderv1.ExtenderArgs{Pod: p, Nodes: &v1.NodeList{Items: cluster}})
		if err != nil {
			panic(err)
		}
		return b
	}
	var next, bad atomic.Int64
	var first atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= requests {
					return
				}
				status, data, err := e.post("filter", body(i))
				var res extenderv1.ExtenderFilterResult
				if err == nil && status == http.StatusOK {
					err = json.Unmarshal(data, &res)
				}
				want := kinds[i%len(kinds)].refused
				if err != nil || status != http.StatusOK || res.Nodes == nil || len(res.Nodes.Items) != len(cluster)-len(want) ||
					!maps.Equal(map[string]string(res.FailedAndUnresolvableNodes), want) {
					if bad.Add(1) == 1 {
						first.Store(fmt.Sprintf("request %d: status %d, error %v, answer %.300s", i, status, err, data))
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d answers wrong, first: %s", n, requests, first.Load())
	}
	rss := e.peakRSS(t)
	t.Logf("%d unique pods (filter, 3 full Nodes) from %d clients in %v: all 200 and right, extender peak RSS %d MiB",
		requests, workers, elapsed.Round(time.Millisecond), rss>>20)
	if rss > 128<<20 {
		t.Errorf("peak RSS %d MiB, want at most 128 MiB: the caches are not bounded", rss>>20)
	}
	e.alive(t)
}

// With --client-ca-file, a client without a certificate signed by that CA is refused; one
// with such a certificate is served.
func TestClientCertificates(t *testing.T) {
	dir := t.TempDir()
	pki, err := testpki.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	trusting := pki.HTTPClient(true)
	e := startExtender(t, "https", trusting,
		"--tls-cert-file", pki.ServerCertFile, "--tls-key-file", pki.ServerKeyFile, "--client-ca-file", pki.CAFile)
	if status, _, err := e.post("filter", filterBody(t, 4)); err != nil || status != http.StatusOK {
		t.Fatalf("client with a certificate: %d, %v", status, err)
	}
	anonymous := pki.HTTPClient(false)
	if resp, err := anonymous.Post(e.url+"/filter", "application/json", bytes.NewReader(filterBody(t, 4))); err == nil {
		resp.Body.Close()
		t.Fatalf("client without a certificate was served: %d", resp.StatusCode)
	} else {
		t.Logf("client without a certificate refused: %v", err)
	}
	stranger, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	untrusted := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Pool, Certificates: []tls.Certificate{stranger.Client}}}}
	if resp, err := untrusted.Post(e.url+"/filter", "application/json", bytes.NewReader(filterBody(t, 4))); err == nil {
		resp.Body.Close()
		t.Fatalf("client with a certificate from another CA was served: %d", resp.StatusCode)
	}
	plain := &http.Client{}
	if resp, err := plain.Post(strings.Replace(e.url, "https", "http", 1)+"/filter", "application/json", bytes.NewReader(filterBody(t, 4))); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served by the HTTPS extender")
		}
		resp.Body.Close()
	}
	e.alive(t)
}

// TestHostileFlood is issue 26's reliability test: 32 clients for a minute (RKTSCHED_FLOOD,
// a duration, sets it), each sending the hostile bodies of the issue — a NodeList of 3.5
// million empty items, a Pod of a million empty containers, a quantity of 10^100000000,
// a Node whose status.runtimeHandlers holds a million entries — between real filter requests.
// The extender runs with the shipped memory limit as GOMEMLIMIT (512 MiB) and its default
// bounds: its peak RSS stays under half the limit, every real request gets the right answer,
// every hostile one a 4xx (or 429 when the budget is full), and it never restarts.
func TestHostileFlood(t *testing.T) {
	const limit = 512 << 20 // manifests/extender-deployment.yaml's memory limit
	duration := time.Minute
	if d, err := time.ParseDuration(os.Getenv("RKTSCHED_FLOOD")); err == nil {
		duration = d
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 60 * time.Second}
	t.Setenv("GOMEMLIMIT", strconv.Itoa(limit))
	e := startExtender(t, "http", client)

	hostile := map[string][]byte{}
	var b bytes.Buffer
	b.WriteString(`{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[`)
	for i := range 3_500_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]}}`)
	hostile["3.5M empty Nodes"] = bytes.Clone(b.Bytes())
	b.Reset()
	b.WriteString(`{"NodeNames":["n"],"Pod":{"metadata":{"name":"p"},"spec":{"containers":[`)
	for i := range 1_000_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]}}}`)
	hostile["1M empty containers"] = bytes.Clone(b.Bytes())
	hostile["a quantity of 10^100000000"] = []byte(`{"NodeNames":["n"],"Pod":{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"1.00000000000000000001e100000000"}}}]}}}`)
	b.Reset()
	b.WriteString(`{"Pod":{"metadata":{"name":"p"}},"Nodes":{"items":[{"metadata":{"name":"n"},"status":{"runtimeHandlers":[`)
	for i := range 1_000_000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]}}]}}`)
	hostile["1M runtime handlers"] = bytes.Clone(b.Bytes())
	var names []string
	for name := range hostile {
		names = append(names, name)
	}
	real := filterBody(t, 50)

	var mu sync.Mutex
	var failures []string
	counts := map[string]int{}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				name, body := "real", real
				if i%4 != 0 {
					name = names[(c+i)%len(names)]
					body = hostile[name]
				}
				status, data, err := e.post("filter", body)
				var problem string
				switch {
				case err != nil:
					problem = err.Error()
				case name == "real" && status == http.StatusTooManyRequests:
				case name == "real" && status != http.StatusOK:
					problem = fmt.Sprintf("real request: status %d: %.200s", status, data)
				case name == "real":
					var res extenderv1.ExtenderFilterResult
					if err := json.Unmarshal(data, &res); err != nil || res.Nodes == nil || len(res.Nodes.Items) != 25 || len(res.FailedAndUnresolvableNodes) != 25 {
						problem = fmt.Sprintf("real request: wrong answer: %v %.200s", err, data)
					}
				case status < 400 || status >= 500:
					problem = fmt.Sprintf("%s: status %d, want 4xx: %.200s", name, status, data)
				}
				mu.Lock()
				counts[fmt.Sprintf("%s %d", name, status)]++
				if problem != "" {
					failures = append(failures, problem)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d failures, first: %s", len(failures), failures[0])
	}
	rss := e.peakRSS(t)
	t.Logf("32 clients for %v: %v; extender peak RSS %d MiB", duration, counts, rss>>20)
	if rss > limit/2 {
		t.Errorf("peak RSS %d MiB, want under half the %d MiB limit", rss>>20, limit>>20)
	}
	if counts["real 200"] == 0 {
		t.Error("no real request was answered")
	}
	e.alive(t)
}
