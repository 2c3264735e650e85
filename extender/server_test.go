package extender

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"

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
