package extender

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	// CertFile and KeyFile, when set, serve HTTPS. They are re-read when they change.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires client certificates signed by one of its CAs. It is
	// re-read when it changes.
	ClientCAFile string
}

// ListenAndServe serves s until ctx ends, then shuts down gracefully: requests in flight
// get shutdownTimeout to finish. ready, if set, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, l Listen, ready func(net.Addr)) error {
	logger := klog.FromContext(ctx)
	var files *tlsFiles
	if l.CertFile != "" {
		var err error
		if files, err = newTLSFiles(l, logger, func(result string) { s.metrics.tlsReloads.WithLabelValues(result).Inc() }); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return err
	}
	if files != nil {
		ln = tls.NewListener(ln, files.config())
	}
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
	logger.Info("Serving", "address", ln.Addr().String(), "tls", files != nil, "clientCertificates", l.ClientCAFile != "")
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
