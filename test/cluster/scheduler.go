package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"
)

// SchedulerConfigPath is the shipped KubeSchedulerConfiguration, relative to the repository.
const SchedulerConfigPath = "manifests/scheduler/kube-scheduler-config.yaml"

// LocalSchedulerConfig rewrites the shipped KubeSchedulerConfiguration for a local run and
// changes nothing else: the extender's urlPrefix, clientConnection.kubeconfig (absolute),
// leader election off (one scheduler, and no wait for a lease), and nodeCacheCapable.
func LocalSchedulerConfig(shipped []byte, extenderURL, kubeconfig string, nodeCacheCapable bool) ([]byte, error) {
	var cfg map[string]any
	if err := yaml.UnmarshalStrict(shipped, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", SchedulerConfigPath, err)
	}
	extenders, _ := cfg["extenders"].([]any)
	if len(extenders) != 1 {
		return nil, fmt.Errorf("%s: want exactly one extender, found %d", SchedulerConfigPath, len(extenders))
	}
	ext, ok := extenders[0].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: extenders[0] is not a mapping", SchedulerConfigPath)
	}
	ext["urlPrefix"] = extenderURL
	ext["nodeCacheCapable"] = nodeCacheCapable
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

// StartScheduler runs kube-scheduler with the shipped configuration rewritten for this cluster
// (LocalSchedulerConfig), as the user system:kube-scheduler, and waits until it is healthy.
func (c *Cluster) StartScheduler(ctx context.Context, repoRoot, extenderURL string, nodeCacheCapable bool) (*Process, error) {
	shipped, err := os.ReadFile(filepath.Join(repoRoot, SchedulerConfigPath))
	if err != nil {
		return nil, err
	}
	cfg, err := LocalSchedulerConfig(shipped, extenderURL, c.schedulerKubeconfig, nodeCacheCapable)
	if err != nil {
		return nil, err
	}
	name := "kube-scheduler-nodecache-" + strconv.FormatBool(nodeCacheCapable)
	cfgPath := filepath.Join(c.Dir, name+".yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, err
	}
	port := FreePort()
	p, err := c.StartProcess(name, c.Bin("kube-scheduler"),
		"--config="+cfgPath,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(c.Dir, "pki", name),
		"--v=2")
	if err != nil {
		return nil, err
	}
	// /healthz is always allowed without credentials; the serving certificate is
	// self-signed.
	insecure := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := waitHTTP(ctx, p, 30*time.Second, insecure, "https://127.0.0.1:"+strconv.Itoa(port)+"/healthz"); err != nil {
		return nil, err
	}
	return p, nil
}
