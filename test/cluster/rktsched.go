package cluster

import (
	"context"
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
	comp := &Component{Process: p, URL: "http://127.0.0.1:" + strconv.Itoa(spec.Port), Port: spec.Port}
	if err := waitHTTP(ctx, p, 30*time.Second, &http.Client{Timeout: time.Second}, comp.URL+"/readyz"); err != nil {
		p.Kill()
		return nil, err
	}
	return comp, nil
}
