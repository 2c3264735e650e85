package extender

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/klog/v2"
)

// Timeouts of the HTTP server. kube-scheduler's extender calls time out after 5 s by
// default (httpTimeout); a body of 5000 full Nodes takes a few hundred ms on loopback.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
)

// Listen says where and how the extender serves.
type Listen struct {
	// Address is host:port.
	Address string
	// CertFile and KeyFile, when set, serve HTTPS.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires client certificates signed by one of its CAs.
	ClientCAFile string
}

// tlsConfig returns the TLS configuration l asks for, nil for plain HTTP.
func (l Listen) tlsConfig() (*tls.Config, error) {
	if l.CertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if l.ClientCAFile != "" {
		pem, err := os.ReadFile(l.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", l.ClientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ListenAndServe serves s until ctx ends, then shuts down gracefully: requests in flight
// get shutdownTimeout to finish. ready, if set, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, l Listen, ready func(net.Addr)) error {
	tlsCfg, err := l.tlsConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	logger := klog.FromContext(ctx)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          klog.NewStandardLogger("WARNING"),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("Serving", "address", ln.Addr().String(), "tls", tlsCfg != nil, "clientCertificates", l.ClientCAFile != "")
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("Shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
