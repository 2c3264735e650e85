package extender

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/rktsched/rktsched/internal/kubeclient"
	"github.com/rktsched/rktsched/internal/serving"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/version"
)

// Component names the extender in Events and its client's user agent.
const Component = "rktsched-extender"

// Defaults of the command line.
const (
	DefaultListen = ":8888"
	// DefaultMaxBodyBytes: the largest request is a full-Node filter (nodeCacheCapable:
	// false) of every node of the largest cluster kube-scheduler supports, 5000 nodes (it
	// sends only the nodes its own filters passed, at most all of them with
	// percentageOfNodesToScore: 100): with 20 images each (internal/realistic), 33 MiB.
	DefaultMaxBodyBytes = 48 << 20
	DefaultPodCacheTTL  = 30 * time.Second
	// DefaultMaxInFlight: kube-scheduler calls an extender one request at a time per
	// scheduling profile; 64 leaves room for several schedulers and retries.
	DefaultMaxInFlight = 64
	// DefaultMaxBytesInFlight holds one filter request of DefaultMaxBodyBytes (three times
	// its body and 1.25 KiB a node: budget.go), or hundreds of ordinary ones. With the caches
	// (at most ~130 MiB, filled only by callers sending thousands of distinct pods and
	// nodes) and the runtime, the extender stays under the shipped 512 MiB memory limit.
	DefaultMaxBytesInFlight = 160 << 20
	// DefaultMaxNodesPerRequest: kube-scheduler sends at most every node of the cluster, and
	// supports clusters of up to 5000 nodes; twice that leaves room.
	DefaultMaxNodesPerRequest = 10_000
	// DefaultMaxVictimsPerRequest: kube-scheduler's preemption sends at most
	// max(100, 10% of the nodes) candidates (DefaultPreemption's minCandidateNodesAbsolute
	// and minCandidateNodesPercentage), 500 of 5000 nodes, each with at most the 110 pods a
	// node runs by default (the kubelet's --max-pods): 55,000 victims; twice that leaves room.
	// Raise it with minCandidateNodesPercentage.
	DefaultMaxVictimsPerRequest = 110_000
	// DefaultClientAllowedNames is kube-scheduler's identity: the CommonName of the client
	// certificate kubeadm writes into /etc/kubernetes/scheduler.conf, and the user RBAC
	// knows kube-scheduler by.
	DefaultClientAllowedNames = "system:kube-scheduler"
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
	// ClientAllowedNames is a comma-separated list; empty allows any certificate of the CA.
	ClientAllowedNames string
	ProbeAddress       string
	PodCacheTTL        time.Duration
	MaxInFlight        int
	MaxBytesInFlight   int64
	MaxNodes           int
	MaxVictims         int
	Profiling          bool
}

// AddFlags registers the extender's flags (and the policy source's) on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", DefaultListen, "host:port to serve the extender verbs, /healthz, /readyz, /metrics and /version on (see --probe-address)")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means in-cluster configuration")
	fs.BoolVar(&o.Standalone, "standalone", false, "use no API server: the built-in policy or --policy-file, and full-Node requests only (nodeCacheCapable: false)")
	o.Policy.AddFlags(fs)
	fs.Int64Var(&o.MaxBodyBytes, "max-body-bytes", DefaultMaxBodyBytes, "largest request body accepted; larger ones get 413")
	fs.StringVar(&o.TLSCertFile, "tls-cert-file", "", "serve HTTPS with this certificate (PEM); needs --tls-key-file")
	fs.StringVar(&o.TLSKeyFile, "tls-key-file", "", "private key (PEM) of --tls-cert-file")
	fs.StringVar(&o.ClientCAFile, "client-ca-file", "", "require client certificates signed by a CA in this PEM file; needs --tls-cert-file")
	fs.StringVar(&o.ClientAllowedNames, "client-allowed-names", DefaultClientAllowedNames, "with --client-ca-file, the client certificate's Subject CommonName or one of its DNS names must be one of these (comma-separated); empty allows any certificate the CA signed")
	fs.StringVar(&o.ProbeAddress, "probe-address", "", "host:port of a plain-HTTP listener that serves only /healthz, /readyz, /metrics and /version, without TLS or client certificates (for kubelet probes and Prometheus when --client-ca-file is set); empty: none, they are served on --listen only")
	fs.DurationVar(&o.PodCacheTTL, "pod-cache-ttl", DefaultPodCacheTTL, "how long a pod's analysis is kept for the later verbs of its scheduling cycle")
	fs.IntVar(&o.MaxInFlight, "max-requests-in-flight", DefaultMaxInFlight, "verb requests served at once; past it they get 429 at once")
	fs.Int64Var(&o.MaxBytesInFlight, "max-bytes-in-flight", DefaultMaxBytesInFlight, "memory the verb requests being served may hold together, in bytes (their bodies, answers and what reading them holds, counted before it is taken); past it they wait their turn, and get 429 after 10 s. Keep it well under the container's memory limit, with the caches (~130 MiB at most) beside it")
	fs.IntVar(&o.MaxNodes, "max-nodes-per-request", DefaultMaxNodesPerRequest, "most Nodes, NodeNames or nodes with victims one request may carry; past it 413 (kube-scheduler sends at most every node: 5000 in the largest clusters it supports)")
	fs.IntVar(&o.MaxVictims, "max-victims-per-request", DefaultMaxVictimsPerRequest, "most victim pods one preemption request may carry, all nodes together; past it 413 (kube-scheduler's defaults send at most 500 candidate nodes of 110 pods at 5000 nodes)")
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
	if o.MaxInFlight <= 0 {
		errs = append(errs, fmt.Errorf("--max-requests-in-flight must be positive, not %d", o.MaxInFlight))
	}
	if o.MaxNodes <= 0 {
		errs = append(errs, fmt.Errorf("--max-nodes-per-request must be positive, not %d", o.MaxNodes))
	}
	if o.MaxVictims <= 0 {
		errs = append(errs, fmt.Errorf("--max-victims-per-request must be positive, not %d", o.MaxVictims))
	}
	// The largest request must fit in the budget alone: about three times its body and a
	// node's worth per node (budget.go).
	if need := 3*o.MaxBodyBytes + int64(max(o.MaxNodes, 0))*itemCost; o.MaxBodyBytes > 0 && o.MaxBytesInFlight < need {
		errs = append(errs, fmt.Errorf("--max-bytes-in-flight %d cannot hold one request of --max-body-bytes %d with --max-nodes-per-request %d: it needs %d",
			o.MaxBytesInFlight, o.MaxBodyBytes, o.MaxNodes, need))
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
	for _, n := range strings.Split(o.ClientAllowedNames, ",") {
		if strings.TrimSpace(n) == "" && o.ClientAllowedNames != "" {
			errs = append(errs, fmt.Errorf("--client-allowed-names %q has an empty name", o.ClientAllowedNames))
			break
		}
	}
	if o.ProbeAddress != "" && o.ProbeAddress == o.Listen && !strings.HasSuffix(o.Listen, ":0") {
		errs = append(errs, errors.New("--probe-address must differ from --listen"))
	}
	if o.Standalone && o.Kubeconfig != "" {
		errs = append(errs, errors.New("--standalone uses no API server: drop --kubeconfig"))
	}
	if !o.Standalone && o.Policy.File == "" && (o.Policy.Namespace == "" || o.Policy.Name == "") {
		errs = append(errs, errors.New("--policy-configmap-namespace and --policy-configmap-name are required without --policy-file"))
	}
	return errors.Join(errs...)
}

func (o *Options) endpoint() Endpoint {
	e := Endpoint{Address: o.Listen, CertFile: o.TLSCertFile, KeyFile: o.TLSKeyFile, ClientCAFile: o.ClientCAFile, ProbeAddress: o.ProbeAddress}
	if o.ClientAllowedNames != "" {
		for _, n := range strings.Split(o.ClientAllowedNames, ",") {
			e.ClientAllowedNames = append(e.ClientAllowedNames, strings.TrimSpace(n))
		}
	}
	return e
}

// readiness is Config.Ready: the policy loaded from its source (policysource.Source's
// HasSynced) and the node cache synced; the message is one line.
func readiness(nodesSynced, policyRead func() bool) func() error {
	return func() error {
		return serving.NotReady(
			serving.Awaited{What: "a policy loaded from its source", Done: policyRead},
			serving.Awaited{What: "the node cache to sync", Done: nodesSynced})
	}
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
// addresses, for tests.
func run(ctx context.Context, client kubernetes.Interface, opts *Options, listening func(Addrs)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := klog.FromContext(ctx)
	logger.Info("Starting", "component", Component, "version", version.Version, "standalone", client == nil)

	// --policy-file or the policy ConfigMap, watched either way (standalone without a file:
	// the built-in policy).
	source, err := policysource.Open(ctx, opts.Policy, policysource.Config{Client: client, Component: Component, EventRef: policysource.PodFromEnv()})
	if err != nil {
		return err
	}
	cfg := Config{
		Policy:               source.Store(),
		PodCacheTTL:          opts.PodCacheTTL,
		MaxBodyBytes:         opts.MaxBodyBytes,
		MaxInFlight:          opts.MaxInFlight,
		MaxBytesInFlight:     opts.MaxBytesInFlight,
		MaxNodesPerRequest:   opts.MaxNodes,
		MaxVictimsPerRequest: opts.MaxVictims,
		Version:              version.Version,
		Logger:               logger,
		Profiling:            opts.Profiling,
	}
	nodesSynced := func() bool { return true } // standalone: no node cache to wait for
	if client != nil {
		if cfg.Nodes, err = NewNodeCache(client); err != nil {
			return err
		}
		nodesSynced = cfg.Nodes.HasSynced
	}
	cfg.Ready = readiness(nodesSynced, source.HasSynced)
	srv, err := New(cfg)
	if err != nil {
		return err
	}
	source.OnChange(func(_, cur *policy.Policy) { srv.PolicyChanged(cur) })
	if err := source.Start(ctx); err != nil {
		return err
	}
	if cfg.Nodes != nil {
		cfg.Nodes.Start(ctx)
	}
	return srv.ListenAndServe(ctx, opts.endpoint(), listening)
}
