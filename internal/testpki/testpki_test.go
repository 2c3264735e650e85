package testpki

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestPKI: an HTTPS server with the server certificate that requires client certificates
// from the CA serves a client with the client certificate and refuses one without.
func TestPKI(t *testing.T) {
	p, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.CAFile, p.ServerCertFile, p.ServerKeyFile, p.ClientCertFile, p.ClientKeyFile} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	cert, err := tls.LoadX509KeyPair(p.ServerCertFile, p.ServerKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: p.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	defer srv.Close()
	resp, err := p.HTTPClient(true).Get(srv.URL)
	if err != nil {
		t.Fatalf("client with the certificate: %v", err)
	}
	resp.Body.Close()
	if resp, err := p.HTTPClient(false).Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("client without a certificate was served")
	} else if !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("client without a certificate: %v, want a TLS certificate required alert", err)
	}
}

// TestClientNames: the client certificate is kube-scheduler's identity, and IssueClient
// makes others of the same CA with the names asked for.
func TestClientNames(t *testing.T) {
	p, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := p.IssueClient("system:node:worker-1", "worker-1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		cert     tls.Certificate
		cn       string
		dnsNames []string
	}{
		{"Client", p.Client, ClientName, []string{"localhost"}},
		{"IssueClient", other, "system:node:worker-1", []string{"worker-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, err := x509.ParseCertificate(tt.cert.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			if leaf.Subject.CommonName != tt.cn || strings.Join(leaf.DNSNames, ",") != strings.Join(tt.dnsNames, ",") {
				t.Errorf("CN %q, DNS names %q; want %q, %q", leaf.Subject.CommonName, leaf.DNSNames, tt.cn, tt.dnsNames)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.Pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Errorf("not a client certificate of the CA: %v", err)
			}
		})
	}
}
