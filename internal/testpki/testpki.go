// Package testpki makes throwaway certificate authorities and certificates for tests of
// rktsched's HTTPS serving and client certificates.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ClientName is the CommonName of the client certificate: kube-scheduler's identity, as in
// the certificate of kubeadm's scheduler.conf.
const ClientName = "system:kube-scheduler"

// PKI is a throwaway CA with a loopback server certificate (for the extender) and a client
// certificate (for kube-scheduler), all written as PEM files.
type PKI struct {
	CAFile                        string
	ServerCertFile, ServerKeyFile string
	ClientCertFile, ClientKeyFile string
	Pool                          *x509.CertPool // holds the CA
	// Client is the client certificate, of CommonName ClientName.
	Client tls.Certificate

	issue func(cn string, dnsNames []string, usage x509.ExtKeyUsage) ([]byte, []byte, error)
}

// New makes a CA and certificates valid for a day in dir: ca.crt, server.crt/.key
// (127.0.0.1 and localhost) and client.crt/.key (ClientName).
func New(dir string) (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rktsched-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	serial := int64(1)
	issue := func(cn string, dnsNames []string, usage x509.ExtKeyUsage) ([]byte, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		serial++
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: dnsNames,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		return certPEM(der), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
	}
	p := &PKI{
		CAFile:         filepath.Join(dir, "ca.crt"),
		ServerCertFile: filepath.Join(dir, "server.crt"), ServerKeyFile: filepath.Join(dir, "server.key"),
		ClientCertFile: filepath.Join(dir, "client.crt"), ClientKeyFile: filepath.Join(dir, "client.key"),
		Pool: x509.NewCertPool(), issue: issue,
	}
	p.Pool.AddCert(ca)
	serverCert, serverKey, err := issue("rktsched-extender", []string{"localhost"}, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	clientCert, clientKey, err := issue(ClientName, []string{"localhost"}, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	for path, data := range map[string][]byte{
		p.CAFile: certPEM(caDER), p.ServerCertFile: serverCert, p.ServerKeyFile: serverKey,
		p.ClientCertFile: clientCert, p.ClientKeyFile: clientKey,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	p.Client, err = tls.X509KeyPair(clientCert, clientKey)
	return p, err
}

// IssueClient makes another client certificate of the CA, of CommonName cn and DNS names
// dnsNames (a kubelet's, an admin's, another component's).
func (p *PKI) IssueClient(cn string, dnsNames ...string) (tls.Certificate, error) {
	cert, key, err := p.issue(cn, dnsNames, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(cert, key)
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TLSConfig returns a client configuration that trusts the CA and, if withCert, presents
// the client certificate.
func (p *PKI) TLSConfig(withCert bool) *tls.Config {
	cfg := &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.Client}
	}
	return cfg
}

// HTTPClient returns an HTTP client with TLSConfig(withCert).
func (p *PKI) HTTPClient(withCert bool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: p.TLSConfig(withCert)}}
}
