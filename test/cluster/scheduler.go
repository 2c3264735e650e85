package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Shipped KubeSchedulerConfigurations, relative to the repository: plain HTTP, and HTTPS
// with a client certificate.
const (
	SchedulerConfigPath      = "manifests/scheduler/kube-scheduler-config.yaml"
	SchedulerHTTPSConfigPath = "manifests/scheduler/kube-scheduler-config-https.yaml"
)

// Shipped configurations of rktsched-scheduler (no extender, the Rktsched plugin enabled): in
// place of kube-scheduler (the default profile), and as a second scheduler (the profile
// rktsched-scheduler, its own Lease).
const (
	PluginSchedulerConfigPath = "manifests/scheduler/rktsched-scheduler-config.yaml"
	SecondSchedulerConfigPath = "manifests/second-scheduler/rktsched-scheduler-config.yaml"
)

// LocalPluginSchedulerConfig rewrites a shipped rktsched-scheduler configuration for a local
// run and changes nothing else: clientConnection.kubeconfig, and leader election turned off
// unless leaderElect (then the shipped Lease is used).
func LocalPluginSchedulerConfig(shipped []byte, kubeconfig string, leaderElect bool) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.UnmarshalStrict(shipped, &cfg); err != nil {
		return nil, err
	}
	if _, ok := cfg["extenders"]; ok {
		return nil, fmt.Errorf("a rktsched-scheduler configuration has extenders")
	}
	cfg["clientConnection"] = setKey(cfg["clientConnection"], "kubeconfig", kubeconfig)
	cfg["leaderElection"] = setKey(cfg["leaderElection"], "leaderElect", leaderElect)
	return yaml.Marshal(cfg)
}

// SchedulerOptions say which shipped configuration kube-scheduler runs with and what a
// local run changes in it.
type SchedulerOptions struct {
	// Config is the shipped file, relative to the repository; empty: SchedulerConfigPath.
	Config string
	// ExtenderURL replaces the extender's urlPrefix; its scheme must agree with enableHTTPS.
	ExtenderURL      string
	NodeCacheCapable bool
	// TLS replaces the file paths of the extender's tlsConfig. It is required exactly when
	// the shipped file has a tlsConfig (whose paths exist only on a real control plane).
	TLS *SchedulerTLS
}

// SchedulerTLS are the files kube-scheduler uses to call the extender over HTTPS.
type SchedulerTLS struct {
	// CAFile verifies the extender's certificate.
	CAFile string
	// CertFile and KeyFile are kube-scheduler's client certificate.
	CertFile, KeyFile string
}

func (o SchedulerOptions) config() string {
	if o.Config == "" {
		return SchedulerConfigPath
	}
	return o.Config
}

// LocalSchedulerConfigWith rewrites a shipped KubeSchedulerConfiguration for a local run and
// changes nothing else: the extender's urlPrefix, nodeCacheCapable, the tlsConfig file paths
// (only those), clientConnection.kubeconfig (absolute), and leader election off (one
// scheduler, and no wait for a lease).
func LocalSchedulerConfigWith(shipped []byte, kubeconfig string, opts SchedulerOptions) ([]byte, error) {
	name := opts.config()
	var cfg map[string]any
	if err := yaml.UnmarshalStrict(shipped, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	extenders, _ := cfg["extenders"].([]any)
	if len(extenders) != 1 {
		return nil, fmt.Errorf("%s: want exactly one extender, found %d", name, len(extenders))
	}
	ext, ok := extenders[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: extenders[0] is not a mapping", name)
	}
	if https, _ := ext["enableHTTPS"].(bool); https != strings.HasPrefix(opts.ExtenderURL, "https://") {
		return nil, fmt.Errorf("%s: enableHTTPS is %v, but the extender URL is %s", name, https, opts.ExtenderURL)
	}
	ext["urlPrefix"] = opts.ExtenderURL
	ext["nodeCacheCapable"] = opts.NodeCacheCapable
	tlsCfg, hasTLS := ext["tlsConfig"].(map[string]any)
	switch {
	case hasTLS && opts.TLS == nil:
		return nil, fmt.Errorf("%s: the extender has a tlsConfig; give its local files", name)
	case !hasTLS && opts.TLS != nil:
		return nil, fmt.Errorf("%s: the extender has no tlsConfig to point at local files", name)
	case hasTLS:
		for key, path := range map[string]string{"caFile": opts.TLS.CAFile, "certFile": opts.TLS.CertFile, "keyFile": opts.TLS.KeyFile} {
			if _, ok := tlsCfg[key]; !ok {
				return nil, fmt.Errorf("%s: the extender's tlsConfig has no %s", name, key)
			}
			tlsCfg[key] = path
		}
	}
	cfg["clientConnection"] = setKey(cfg["clientConnection"], "kubeconfig", kubeconfig)
	cfg["leaderElection"] = setKey(cfg["leaderElection"], "leaderElect", false)
	return yaml.Marshal(cfg)
}

func setKey(m any, key string, value any) map[string]any {
	mm, _ := m.(map[string]any)
	if mm == nil {
		mm = map[string]any{}
	}
	mm[key] = value
	return mm
}

// StartScheduler runs kube-scheduler with the shipped plain-HTTP configuration against the
// extender at extenderURL (StartSchedulerWith).
func (c *Cluster) StartScheduler(ctx context.Context, repoRoot, extenderURL string, nodeCacheCapable bool) (*Component, error) {
	return c.StartSchedulerWith(ctx, repoRoot, SchedulerOptions{ExtenderURL: extenderURL, NodeCacheCapable: nodeCacheCapable})
}

// StartSchedulerWith runs kube-scheduler with a shipped configuration rewritten for this
// cluster (LocalSchedulerConfigWith), as the user system:kube-scheduler, and waits until it is
// healthy. Its /metrics is open to the tests.
func (c *Cluster) StartSchedulerWith(ctx context.Context, repoRoot string, opts SchedulerOptions) (*Component, error) {
	shipped, err := os.ReadFile(filepath.Join(repoRoot, opts.config()))
	if err != nil {
		return nil, err
	}
	cfg, err := LocalSchedulerConfigWith(shipped, c.schedulerKubeconfig, opts)
	if err != nil {
		return nil, err
	}
	name := "kube-scheduler"
	if opts.TLS != nil {
		name += "-https"
	}
	name += "-nodecache-" + strconv.FormatBool(opts.NodeCacheCapable)
	return c.StartSchedulerConfig(ctx, name, cfg, "--v=2", "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics")
}
