package cluster

import (
	"context"
	"crypto/tls"
	"net/http"
	"strconv"
	"time"
)

// Component is one of rktsched's binaries running as a local process with a
// ServiceAccount's kubeconfig.
type Component struct {
	*Process
	// URL is where it serves /healthz, /readyz and /metrics (and, for the extender, the
	// scheduler extender verbs).
	URL string
	// Port is the loopback port it serves on.
	Port int
	// Client is an HTTP client for URL (with ComponentSpec.TLS, if any).
	Client *http.Client
}

// ComponentSpec says how to run one of rktsched's binaries.
type ComponentSpec struct {
	// Name names the log file (logs/<Name>.log, appended to across restarts).
	Name string
	// Binary is the executable's path.
	Binary string
	// Kubeconfig is passed as --kubeconfig.
	Kubeconfig string
	// Port is the loopback port to serve on; 0 picks a free one. Keep it to restart a
	// component where kube-scheduler expects it.
	Port int
	// Args are further flags.
	Args []string
	// TLS, if set, is the client side of a component that serves HTTPS (Args carry its
	// certificate flags): URL is https:// and Client uses it.
	TLS *tls.Config
}

// StartComponent runs a binary with --kubeconfig and --listen=127.0.0.1:<port> and waits
// until its /readyz answers 200.
func (c *Cluster) StartComponent(ctx context.Context, spec ComponentSpec) (*Component, error) {
	if spec.Port == 0 {
		spec.Port = FreePort()
	}
	args := append([]string{
		"--kubeconfig=" + spec.Kubeconfig,
		"--listen=127.0.0.1:" + strconv.Itoa(spec.Port),
	}, spec.Args...)
	p, err := c.StartProcess(spec.Name, spec.Binary, args...)
	if err != nil {
		return nil, err
	}
	scheme, client := "http", &http.Client{Timeout: 10 * time.Second}
	if spec.TLS != nil {
		scheme, client = "https", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: spec.TLS}}
	}
	comp := &Component{Process: p, URL: scheme + "://127.0.0.1:" + strconv.Itoa(spec.Port), Port: spec.Port, Client: client}
	probe := &http.Client{Timeout: time.Second, Transport: client.Transport}
	if err := waitHTTP(ctx, p, 30*time.Second, probe, comp.URL+"/readyz"); err != nil {
		p.Kill()
		return nil, err
	}
	return comp, nil
}

// Ready reports whether the component's /readyz answers 200 (nil) or why not.
func (comp *Component) Ready(ctx context.Context) error {
	return getOK(ctx, comp.Client, comp.URL+"/readyz")
}

// Metric returns the sum of the component's samples of the named metric (MetricSum).
func (comp *Component) Metric(ctx context.Context, name string) (float64, bool, error) {
	return metricSum(ctx, comp.Client, comp.URL, name)
}
