package extender

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/internal/prodlike"
	"github.com/rktsched/rktsched/internal/testpki"
)

func TestTLSWithClientCertificates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pki, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Standalone = true
	opts.TLSCertFile, opts.TLSKeyFile, opts.ClientCAFile = pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile
	url, done := started(t, ctx, nil, opts, "https")

	body := nodesArgs(pod("p", nil), matrixNodes())
	if code := post(t, pki.HTTPClient(true), url+"/filter", body, &extenderv1.ExtenderFilterResult{}); code != http.StatusOK {
		t.Errorf("with a client certificate: status %d, want 200", code)
	}
	if resp, err := pki.HTTPClient(false).Post(url+"/filter", "application/json", bytes.NewReader(body)); err == nil {
		resp.Body.Close()
		t.Errorf("without a client certificate: status %d, want a TLS error", resp.StatusCode)
	}
	if resp, err := http.Post(strings.Replace(url, "https", "http", 1)+"/filter", "application/json", bytes.NewReader(body)); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Error("plain HTTP was answered 200 on the TLS port")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v", err)
	}
}

// TestTLSFilesRotate: new certificate, key and client CA files written over the old ones are
// used by the next handshake, without a restart, while a connection opened before keeps
// working; files that do not load leave the last good ones in force.
func TestTLSFilesRotate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	old, err := testpki.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	next, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Standalone = true
	opts.TLSCertFile, opts.TLSKeyFile, opts.ClientCAFile = old.ServerCertFile, old.ServerKeyFile, old.CAFile
	url, done := started(t, ctx, nil, opts, "https")
	body := nodesArgs(pod("p", nil), matrixNodes())

	// A kept-alive connection from before the rotation.
	before := old.HTTPClient(true)
	if code := post(t, before, url+"/filter", body, &extenderv1.ExtenderFilterResult{}); code != http.StatusOK {
		t.Fatalf("before the rotation: status %d", code)
	}

	// Rotate as kubelet's atomic writer and cert-manager do: write aside, rename over.
	rotate := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		tmp := to + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, to); err != nil {
			t.Fatal(err)
		}
	}
	rotate(next.ServerCertFile, old.ServerCertFile)
	rotate(next.ServerKeyFile, old.ServerKeyFile)
	rotate(next.CAFile, old.CAFile)

	// The connection opened before is still served, and is not a new one.
	reused := false
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, url+"/filter", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := before.Do(req)
	if err != nil {
		t.Fatalf("the connection opened before the rotation: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !reused {
		t.Errorf("the connection opened before the rotation: status %d, reused %v; want 200 on the same connection", resp.StatusCode, reused)
	}
	// New handshakes see the new server certificate and accept client certificates of the new CA only.
	if code := post(t, next.HTTPClient(true), url+"/filter", body, &extenderv1.ExtenderFilterResult{}); code != http.StatusOK {
		t.Errorf("a client of the new CA: status %d, want 200", code)
	}
	if resp, err := old.HTTPClient(true).Post(url+"/filter", "application/json", bytes.NewReader(body)); err == nil {
		resp.Body.Close()
		t.Errorf("a new connection trusting only the old CA: status %d, want a TLS error (the server shows the new certificate)", resp.StatusCode)
	}

	// A broken rotation: the last good files stay in force, and the failure is counted.
	if err := os.WriteFile(old.ServerKeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := post(t, next.HTTPClient(true), url+"/filter", body, &extenderv1.ExtenderFilterResult{}); code != http.StatusOK {
		t.Errorf("after a bad key file: status %d, want 200 with the last good files", code)
	}
	_, metrics := get(t, next.HTTPClient(true), url+"/metrics")
	for _, want := range []string{`rktsched_extender_tls_reloads_total{result="success"} 1`, `rktsched_extender_tls_reloads_total{result="error"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v", err)
	}
}

// TestProbeListener: with mTLS on, --probe-address serves /healthz, /readyz, /metrics and
// /version over plain HTTP to a client without any certificate, as kubelet probes and
// Prometheus are (issue 26, item 5), and nothing else: no verb, no profile. The verbs'
// listener still asks every client for a certificate.
func TestProbeListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pki, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Standalone, opts.Profiling = true, true
	opts.TLSCertFile, opts.TLSKeyFile, opts.ClientCAFile = pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile
	opts.ProbeAddress = "127.0.0.1:0"
	addrs, done := startedAddrs(t, ctx, nil, opts)
	if addrs.Probe == nil {
		t.Fatal("no probe listener")
	}
	probes := "http://" + addrs.Probe.String()
	body := nodesArgs(pod("p", nil), matrixNodes())
	tests := []struct {
		name, method, path string
		code               int
		contains           string
	}{
		{"liveness", http.MethodGet, "/healthz", 200, "ok"},
		{"readiness", http.MethodGet, "/readyz", 200, "ok"},
		{"metrics", http.MethodGet, "/metrics", 200, "rktsched_build_info"},
		{"version", http.MethodGet, "/version", 200, `"version"`},
		{"no filter", http.MethodPost, "/filter", 404, ""},
		{"no preempt", http.MethodPost, "/preempt", 404, ""},
		{"no profiles even with --profiling", http.MethodGet, "/debug/pprof/", 404, ""},
		{"wrong method", http.MethodPost, "/healthz", 405, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, probes+tt.path, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code || !strings.Contains(string(data), tt.contains) {
				t.Errorf("%s %s = %d %.100q, want %d containing %q", tt.method, tt.path, resp.StatusCode, data, tt.code, tt.contains)
			}
		})
	}
	if resp, err := pki.HTTPClient(false).Get("https://" + addrs.Verbs.String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("the verbs' listener answered a client without a certificate: %d", resp.StatusCode)
	}
	if code := post(t, pki.HTTPClient(true), "https://"+addrs.Verbs.String()+"/filter", body, &extenderv1.ExtenderFilterResult{}); code != http.StatusOK {
		t.Errorf("filter with a client certificate: %d, want 200", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run after cancel = %v", err)
	}
}

// TestClientAllowedNames: a certificate the client CA signed is served only if its
// CommonName or one of its DNS names is among --client-allowed-names, by default
// kube-scheduler's identity (issue 26, item 5): with kubeadm's CA, every kubelet and admin
// has such a certificate too.
func TestClientAllowedNames(t *testing.T) {
	pki, err := testpki.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	issue := func(cn string, dns ...string) tls.Certificate {
		t.Helper()
		c, err := pki.IssueClient(cn, dns...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	scheduler, kubelet, admin := pki.Client, issue("system:node:worker-1", "worker-1"), issue("kubernetes-admin")
	bySAN := issue("someone", "scheduler.example.com")
	tests := []struct {
		name    string
		allowed *string // nil: the default
		cert    tls.Certificate
		served  bool
	}{
		{"kube-scheduler by default", nil, scheduler, true},
		{"a kubelet's certificate is refused by default", nil, kubelet, false},
		{"an admin's certificate is refused by default", nil, admin, false},
		{"a DNS name that is allowed", ptr.To("rktsched-client,scheduler.example.com"), bySAN, true},
		{"a CommonName not on the list", ptr.To("rktsched-client,scheduler.example.com"), scheduler, false},
		{"an empty list allows any certificate of the CA", ptr.To(""), kubelet, true},
	}
	body := nodesArgs(pod("p", nil), matrixNodes())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			opts := testOptions()
			opts.Standalone = true
			opts.TLSCertFile, opts.TLSKeyFile, opts.ClientCAFile = pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile
			opts.ProbeAddress = "127.0.0.1:0"
			if tt.allowed != nil {
				opts.ClientAllowedNames = *tt.allowed
			}
			if err := opts.Validate(); err != nil {
				t.Fatal(err)
			}
			addrs, done := startedAddrs(t, ctx, nil, opts)
			url := "https://" + addrs.Verbs.String()
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Pool, Certificates: []tls.Certificate{tt.cert}}}}
			resp, err := client.Post(url+"/filter", "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
			if served := err == nil && resp.StatusCode == http.StatusOK; served != tt.served {
				t.Errorf("served %v (error %v), want %v", served, err, tt.served)
			}
			_, metrics := get(t, http.DefaultClient, "http://"+addrs.Probe.String()+"/metrics")
			refused := 1
			if tt.served {
				refused = 0
			}
			if tt.allowed == nil || *tt.allowed != "" {
				if want := fmt.Sprintf("rktsched_extender_client_certificates_refused_total %d", refused); !strings.Contains(metrics, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after cancel = %v", err)
			}
		})
	}
}

// kube-scheduler's client (HTTPExtender.send, schedulerSend here) decodes an answer with a
// json.Decoder and closes the body: the connection is reused only if the decoder saw the
// body's end, which a Content-Length gives it (writeJSON). Chunked answers would cost
// kube-scheduler a new TCP connection per call.
func TestConnectionReused(t *testing.T) {
	nodes := benchNodes(500) // answers of tens of KB, far over the 2 KB chunking threshold
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(newTestServer(t, false, nodes...))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	nodeNames := names(nodes)
	args := &extenderv1.ExtenderArgs{Pod: prodlike.Pod("incoming", 0), NodeNames: &nodeNames}
	for range 3 {
		var filtered extenderv1.ExtenderFilterResult
		schedulerSend(t, ts.Client(), ts.URL+"/filter", args, &filtered)
		var scores extenderv1.HostPriorityList
		schedulerSend(t, ts.Client(), ts.URL+"/prioritize", args, &scores)
		if len(scores) == 0 {
			t.Fatal("prioritize scored no node: the answer is too small to test chunking")
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("6 calls opened %d connections, want 1", n)
	}
}
