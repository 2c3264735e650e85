package testpki

import (
	"crypto/tls"
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
