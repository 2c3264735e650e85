package extender

import (
	"context"
	"crypto/tls"
	"errors"
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
	// ClientAllowedNames, when set with ClientCAFile, also requires the client certificate's
	// Subject CommonName or one of its DNS names to be one of them.
	ClientAllowedNames []string
	// ProbeAddress, when set, is host:port of a second, plain-HTTP listener serving only
	// /healthz, /readyz, /metrics and /version: kubelet probes and Prometheus carry no client
	// certificate.
	ProbeAddress string
}

// Addrs are the addresses ListenAndServe bound.
type Addrs struct {
	// Verbs serves everything; Probe (nil without Endpoint.ProbeAddress) the probes and
	// /metrics.
	Verbs, Probe net.Addr
}

// ListenAndServe serves s at e until ctx ends, then shuts down gracefully (serving.Serve).
// ready, if set, receives the bound addresses once listening.
func (s *Server) ListenAndServe(ctx context.Context, e Endpoint, ready func(Addrs)) error {
	logger := klog.FromContext(ctx)
	var files *tlsFiles
	if e.CertFile != "" {
		var err error
		if files, err = newTLSFiles(e, logger, func(result string) { s.metrics.tlsReloads.WithLabelValues(result).Inc() },
			func() { s.metrics.clientsRefused.Inc() }); err != nil {
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
	addrs := Addrs{Verbs: ln.Addr()}
	var probes net.Listener
	if e.ProbeAddress != "" {
		if probes, err = net.Listen("tcp", e.ProbeAddress); err != nil {
			ln.Close()
			return err
		}
		addrs.Probe = probes.Addr()
	}
	logger.Info("Serving", "address", ln.Addr().String(), "tls", files != nil, "clientCertificates", e.ClientCAFile != "",
		"clientAllowedNames", e.ClientAllowedNames, "probeAddress", addrs.Probe)
	if e.ClientCAFile != "" && probes == nil {
		logger.Info("Warning: /healthz, /readyz and /metrics ask for a client certificate too, which kubelet probes and Prometheus do not have: set --probe-address")
	}
	if ready != nil {
		ready(addrs)
	}
	if probes == nil {
		return serving.Serve(ctx, ln, s)
	}
	// Either listener failing stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		err := serving.Serve(ctx, probes, s.probeRoutes())
		cancel()
		errc <- err
	}()
	err = serving.Serve(ctx, ln, s)
	cancel()
	return errors.Join(err, <-errc)
}
