package extender

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/kubeclient"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/version"
)

// Component names the extender in Events and its client's user agent.
const Component = "rktsched-extender"

// Defaults of the command line.
const (
	DefaultListen       = ":8888"
	DefaultMaxBodyBytes = 128 << 20 // 5000 full Nodes with 20 images each are about 25 MiB
	DefaultPodCacheTTL  = 30 * time.Second
)

// Options are the extender's command-line settings.
type Options struct {
	Listen       string
	Kubeconfig   string
	Standalone   bool
	Policy       policysource.Options
	MaxBodyBytes int64
	TLSCertFile  string
	TLSKeyFile   string
	ClientCAFile string
	PodCacheTTL  time.Duration
	Profiling    bool
}

// AddFlags registers the extender's flags (and the policy source's) on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", DefaultListen, "host:port to serve the extender verbs, /healthz, /readyz, /metrics and /version on")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means in-cluster configuration")
	fs.BoolVar(&o.Standalone, "standalone", false, "use no API server: the built-in policy or --policy-file, and full-Node requests only (nodeCacheCapable: false)")
	o.Policy.AddFlags(fs)
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", DefaultMaxBodyBytes, "largest request body accepted; larger ones get 413")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS with this certificate (PEM); needs --tls-key-file")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", "", "private key (PEM) of --tls-cert-file")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", "", "require client certificates signed by a CA in this PEM file; needs --tls-cert-file")
	fs.DurationVar(&o.PodCacheTTL, "pod-cache-ttl", DefaultPodCacheTTL, "how long a pod's analysis is kept for the later verbs of its scheduling cycle")
	fs.BoolVar(&o.Profiling, "profiling", false, "serve Go's CPU, heap and goroutine profiles under /debug/pprof/ on --listen")
}

// Validate reports every invalid setting at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Listen == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if o.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("--max-body-bytes must be positive, not %d", o.MaxBodyBytes))
	}
	if o.PodCacheTTL <= 0 {
		errs = append(errs, fmt.Errorf("--pod-cache-ttl must be positive, not %v", o.PodCacheTTL))
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-key-file go together"))
	}
	if o.ClientCAFile != "" && o.TLSCertFile == "" {
		errs = append(errs, errors.New("--client-ca-file needs --tls-cert-file and --tls-key-file"))
	}
	if o.Standalone && o.Kubeconfig != "" {
		errs = append(errs, errors.New("--standalone uses no API server: drop --kubeconfig"))
	}
	if !o.Standalone && o.Policy.File == "" && (o.Policy.Namespace == "" || o.Policy.Name == "") {
		errs = append(errs, errors.New("--policy-configmap-namespace and --policy-configmap-name are required without --policy-file"))
	}
	return errors.Join(errs...)
}

func (o *Options) listen() Listen {
	return Listen{Address: o.Listen, CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile, ClientCAFile: o.ClientCAFile}
}

// Run serves the extender as opts say until ctx ends.
func Run(ctx context.Context, opts *Options) error {
	if opts.Standalone {
		return run(ctx, nil, opts, nil)
	}
	client, err := kubeclient.New(kubeclient.Options{Kubeconfig: opts.Kubeconfig, Component: Component})
	if err != nil {
		return err
	}
	return run(ctx, client, opts, nil)
}

// run is Run with the client it is given (nil: standalone); listening reports the bound
// address, for tests.
func run(ctx context.Context, client kubernetes.Interface, opts *Options, listening func(net.Addr)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := klog.FromContext(ctx)
	logger.Info("Starting", "component", Component, "version", version.Version, "standalone", client == nil)

	p := policy.Default()
	if opts.Policy.File != "" {
		var err error
		if p, err = policysource.LoadFile(opts.Policy.File); err != nil {
			return err
		}
	}
	store := policysource.NewStore(p)
	cfg := Config{
		Policy:       store,
		PodCacheTTL:  opts.PodCacheTTL,
		MaxBodyBytes: opts.MaxBodyBytes,
		Version:      version.Version,
		Logger:       logger,
		Profiling:    opts.Profiling,
	}
	var watcher *policysource.Watcher
	if client != nil {
		nodes, err := NewNodeCache(client)
		if err != nil {
			return err
		}
		cfg.Nodes = nodes
		if opts.Policy.File == "" {
			broadcaster := record.NewBroadcaster(record.WithContext(ctx))
			defer broadcaster.Shutdown()
			broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
			recorder := broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: Component})
			watcher = policysource.NewWatcher(client, opts.Policy, store, recorder)
		}
		cfg.Ready = func() error {
			var errs []error
			if !nodes.HasSynced() {
				errs = append(errs, errors.New("the node cache has not synced yet"))
			}
			if watcher != nil && !watcher.HasSynced() {
				errs = append(errs, errors.New("the policy ConfigMap has not been read yet"))
			}
			return errors.Join(errs...)
		}
	}
	srv, err := New(cfg)
	if err != nil {
		return err
	}
	if cfg.Nodes != nil {
		cfg.Nodes.Start(ctx)
	}
	if watcher != nil {
		watcher.OnChange = srv.PolicyChanged
		watcher.Start(ctx)
	}
	return srv.ListenAndServe(ctx, opts.listen(), listening)
}
