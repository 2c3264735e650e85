package extender

import (
	"bytes"
	"context"
	"net/http"
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
