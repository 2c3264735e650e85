package extender

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"k8s.io/klog/v2"
)

// tlsFiles serves the TLS configuration that an Endpoint's files say, re-read whenever they
// change on disk (cert-manager and kubeadm rotate them in place, and Kubernetes' secret
// volumes swap a symlink): each handshake stats the files, and a change loads them again.
// Connections already open keep their configuration; new handshakes get the new one. Files
// that do not load (a rotation half done, a bad PEM) leave the last good configuration in
// force, and are tried again once they change again.
type tlsFiles struct {
	e       Endpoint
	logger  klog.Logger
	reloads func(result string)
	// refused is called for each client certificate refused for its names.
	refused func()

	mu    sync.Mutex
	stamp []byte // what stat said of the files when last loaded or tried
	cfg   *tls.Config
}

// newTLSFiles loads e's files; an error here stops the extender from starting.
func newTLSFiles(e Endpoint, logger klog.Logger, reloads func(result string), refused func()) (*tlsFiles, error) {
	f := &tlsFiles{e: e, logger: logger, reloads: reloads, refused: refused}
	f.stamp = f.statStamp()
	cfg, err := f.load()
	if err != nil {
		return nil, err
	}
	f.cfg = cfg
	return f, nil
}

func (f *tlsFiles) paths() []string {
	p := []string{f.e.CertFile, f.e.KeyFile}
	if f.e.ClientCAFile != "" {
		p = append(p, f.e.ClientCAFile)
	}
	return p
}

// statStamp is the files' sizes and modification times (following symlinks), or the stat
// errors: a change in any of them is a change on disk.
func (f *tlsFiles) statStamp() []byte {
	var b []byte
	for _, p := range f.paths() {
		fi, err := os.Stat(p)
		if err != nil {
			b = fmt.Appendf(b, "%s:%v;", p, err)
			continue
		}
		b = fmt.Appendf(b, "%s:%d:%d;", p, fi.Size(), fi.ModTime().UnixNano())
	}
	return b
}

func (f *tlsFiles) load() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.e.CertFile, f.e.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if f.e.ClientCAFile != "" {
		pem, err := os.ReadFile(f.e.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", f.e.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		if len(f.e.ClientAllowedNames) > 0 {
			cfg.VerifyConnection = f.allowedName
		}
	}
	return cfg, nil
}

// allowedName refuses a client certificate (already verified against the client CAs) whose
// Subject CommonName and DNS names are none of ClientAllowedNames: a CA such as kubeadm's
// signs every kubelet's and every admin's certificate too, and only kube-scheduler calls.
func (f *tlsFiles) allowedName(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate") // RequireAndVerifyClientCert refused it already
	}
	leaf := cs.PeerCertificates[0]
	if slices.Contains(f.e.ClientAllowedNames, leaf.Subject.CommonName) {
		return nil
	}
	for _, name := range leaf.DNSNames {
		if slices.Contains(f.e.ClientAllowedNames, name) {
			return nil
		}
	}
	f.refused()
	return fmt.Errorf("client certificate of CN %q and DNS names %q is none of --client-allowed-names %q",
		leaf.Subject.CommonName, leaf.DNSNames, f.e.ClientAllowedNames)
}

// current is the configuration for a new handshake, reloaded first if the files changed.
func (f *tlsFiles) current() *tls.Config {
	stamp := f.statStamp()
	f.mu.Lock()
	defer f.mu.Unlock()
	if bytes.Equal(stamp, f.stamp) {
		return f.cfg
	}
	f.stamp = stamp
	cfg, err := f.load()
	if err != nil {
		f.logger.Error(err, "Keeping the last good TLS configuration: the changed files do not load", "files", f.paths())
		f.reloads("error")
		return f.cfg
	}
	f.logger.Info("Reloaded the TLS files", "files", f.paths())
	f.reloads("success")
	f.cfg = cfg
	return cfg
}

// config is the listener's configuration: every handshake asks current.
func (f *tlsFiles) config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return f.current(), nil
		},
	}
}
