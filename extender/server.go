package extender

import (
	"context"
	"crypto/tls"
	"net"

	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/serving"
)

// Endpoint says where and how the extender serves.
type Endpoint struct {
	// Address is host:port.
	Address string
	// CertFile and KeyFile, when set, serve HTTPS. They are re-read when they change.
	CertFile, KeyFile string
	// ClientCAFile, when set, requires client certificates signed by one of its CAs. It is
	// re-read when it changes.
	ClientCAFile string
}

// ListenAndServe serves s at e until ctx ends, then shuts down gracefully (serving.Serve).
// ready, if set, receives the bound address once listening.
func (s *Server) ListenAndServe(ctx context.Context, e Endpoint, ready func(net.Addr)) error {
	logger := klog.FromContext(ctx)
	var files *tlsFiles
	if e.CertFile != "" {
		var err error
		if files, err = newTLSFiles(e, logger, func(result string) { s.metrics.tlsReloads.WithLabelValues(result).Inc() }); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", e.Address)
	if err != nil {
		return err
	}
	if files != nil {
		ln = tls.NewListener(ln, files.config())
	}
	logger.Info("Serving", "address", ln.Addr().String(), "tls", files != nil, "clientCertificates", e.ClientCAFile != "")
	if ready != nil {
		ready(ln.Addr())
	}
	return serving.Serve(ctx, ln, s)
}
