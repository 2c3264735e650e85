package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RealNodeName is the real node's name. kubelet refuses a loopback node IP, so it registers
// as localhost and serves on 127.0.0.1, where the API server reaches it (logs, exec) by the
// node's Hostname address.
const RealNodeName = "localhost"

// HostDirs are the host directories a real node may create outside its own directory
// (kubelet makes /var/lib/kubelet/device-plugins whatever --root-dir says; the CNI plugins
// keep a cache in /var/lib/cni; containerd binds network namespaces under /run/netns, and
// containerd 1.x made /opt/containerd, which containerdConfig moves into the node's directory):
// SnapshotHost records whether they existed, and Restore removes those that did not.
var HostDirs = []string{"/var/lib/kubelet", "/var/lib/cni", "/run/containerd", "/run/netns", "/var/log/containers", "/var/log/pods", "/opt/containerd"}

// RealNodeConfig says what the real node runs.
type RealNodeConfig struct {
	// SandboxArchive is an image archive holding SandboxImage, the pod sandbox ("pause")
	// image: containerd never pulls, so it must be local.
	SandboxArchive, SandboxImage string
	// Images are further image archives (bin/image.tar) imported before kubelet starts.
	Images []string
	// RuntimeDir holds the node's containerd, shim, ctr and runc (RuntimeBinaries).
	RuntimeDir string
}

// RealNode is one real node beside the fake ones: containerd 2 with the runc and runc-1-1
// handlers (Containerd), the CNI bridge plugin, kubelet registered as RealNodeName, and the kube-controller-manager
// controllers that Deployments, ServiceAccounts and EndpointSlices need. With no kube-proxy,
// Services are routed by the node's ServiceRoutes. Stop puts the host back as Start found it.
type RealNode struct {
	Dir string
	// StaticPodDir is kubelet's staticPodPath: a manifest written there runs as a static pod.
	StaticPodDir string
	// Containerd is the node's runtime.
	Containerd *Containerd
	// Kubelet and ControllerManager are the node's processes.
	Kubelet, ControllerManager *Process
	// Routes route the Services the tests name (and the kubernetes Service) to endpoints.
	Routes *ServiceRoutes
	// HostBefore is the host as Start found it.
	HostBefore *HostState

	cluster *Cluster
	stop    context.CancelFunc
}

// StartRealNode starts containerd (with the images), kubelet and kube-controller-manager,
// and waits until the node is Ready. A host that lacks what it needs (RealNodeHostLacks) is
// an error before anything starts; tests call RequireRealNodeHost first. On error it stops whatever it started and restores the
// host.
func (c *Cluster) StartRealNode(ctx context.Context, cfg RealNodeConfig) (n *RealNode, err error) {
	if lacks := RealNodeHostLacks(); len(lacks) > 0 {
		return nil, fmt.Errorf("this host cannot run a real node, it lacks %s", strings.Join(lacks, ", "))
	}
	for _, b := range []string{"kubelet", "kube-controller-manager"} {
		if _, err := os.Stat(c.Bin(b)); err != nil {
			return nil, fmt.Errorf("the real node needs %s from test/cluster/build.sh: %w", b, err)
		}
	}
	host, err := SnapshotHost(HostDirs...)
	if err != nil {
		return nil, err
	}
	n = &RealNode{Dir: filepath.Join(c.Dir, "realnode"), HostBefore: host, cluster: c}
	n.StaticPodDir = filepath.Join(n.Dir, "manifests")
	defer func() {
		if err != nil {
			if stopErr := n.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
			n = nil
		}
	}()
	// A container in a user namespace (hostUsers: false) resolves its rootfs under the
	// containerd state directory as a host user other than root: every directory above it
	// must be searchable (os.MkdirTemp made the cluster's 0700), as /run/containerd is.
	for _, d := range []string{c.Dir, n.Dir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return n, err
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return n, err
		}
	}
	containerdDir := filepath.Join(n.Dir, "containerd")
	cniDir := filepath.Join(containerdDir, "cni") // containerd's CNI conf_dir
	for _, d := range []string{n.StaticPodDir, cniDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return n, err
		}
	}
	if err := os.WriteFile(filepath.Join(cniDir, "10-rktsched-e2e.conflist"), []byte(cniConfig(n.Dir)), 0o644); err != nil {
		return n, err
	}
	c.Logf("real node: starting containerd")
	if n.Containerd, err = StartContainerd(ctx, containerdDir, cfg.RuntimeDir, cfg.SandboxImage); err != nil {
		return n, err
	}
	for _, archive := range append([]string{cfg.SandboxArchive}, cfg.Images...) {
		if err := n.Containerd.ImportImage(ctx, archive); err != nil {
			return n, err
		}
	}
	routeCtx, stop := context.WithCancel(context.Background())
	n.stop = stop
	if n.Routes, err = StartServiceRoutes(routeCtx, c); err != nil {
		return n, err
	}
	c.Logf("real node: starting kube-controller-manager and kubelet")
	if n.ControllerManager, err = c.StartProcess("kube-controller-manager", c.Bin("kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig,
		// Never node-lifecycle: it would find the fake nodes unreachable and evict their pods.
		"--controllers=deployment,replicaset,serviceaccount,serviceaccount-token,root-ca-cert-publisher,garbagecollector,namespace,endpointslice,disruption",
		"--service-account-private-key-file="+filepath.Join(c.Dir, "pki", "service-account.key"),
		"--root-ca-file="+c.caFile,
		"--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(FreePort()),
		"--cert-dir="+filepath.Join(n.Dir, "kcm-pki"),
		"--concurrent-deployment-syncs=2",
	); err != nil {
		return n, err
	}
	kubeletConfig := filepath.Join(n.Dir, "kubelet.yaml")
	if err := os.WriteFile(kubeletConfig, []byte(kubeletConfiguration(n.Dir, n.StaticPodDir)), 0o644); err != nil {
		return n, err
	}
	if n.Kubelet, err = c.StartProcess("kubelet", c.Bin("kubelet"),
		"--config="+kubeletConfig,
		"--kubeconfig="+c.Kubeconfig,
		"--root-dir="+filepath.Join(n.Dir, "kubelet"),
		"--cert-dir="+filepath.Join(n.Dir, "kubelet-pki"),
		"--hostname-override="+RealNodeName,
		"--v=2",
	); err != nil {
		return n, err
	}
	start := time.Now()
	if err := waitFor(ctx, n.Kubelet, 60*time.Second, func() error {
		node, err := c.Client.CoreV1().Nodes().Get(ctx, RealNodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == v1.NodeReady && cond.Status == v1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", RealNodeName)
	}); err != nil {
		return n, fmt.Errorf("real node: %w", err)
	}
	c.Logf("real node %s Ready in %v", RealNodeName, time.Since(start).Round(time.Millisecond))
	return n, nil
}

// cniConfig is one bridge network with host-local addresses on 10.244.0.0/24, its state in
// the node's directory.
func cniConfig(dir string) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "rktsched-e2e",
  "plugins": [{
    "type": "bridge",
    "bridge": "rktsched0",
    "isGateway": true,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": %q,
      "ranges": [[{"subnet": "10.244.0.0/24"}]],
      "routes": [{"dst": "0.0.0.0/0"}]
    }
  }]
}
`, filepath.Join(dir, "cni-ipam"))
}

// kubeletConfiguration is the real node's KubeletConfiguration; see test/README.md for why
// each setting is there.
func kubeletConfiguration(dir, staticPods string) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: 127.0.0.1
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%%
  imagefs.available: 1%%
  nodefs.inodesFree: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podLogsDir: %q
staticPodPath: %q
fileCheckFrequency: 1s
serializeImagePulls: false
`, ContainerdSocket, FreePort(), FreePort(), filepath.Join(dir, "pod-logs"), staticPods)
}

// Stop stops kubelet, every container and containerd, the controller manager and the
// Service routes, then restores the host (HostState.Restore), removes the cgroups kubelet
// made and deletes the Node. It returns what could not be undone. It is idempotent.
func (n *RealNode) Stop() error {
	var errs []error
	if n.Kubelet != nil {
		n.Kubelet.Stop(10 * time.Second)
	}
	if n.ControllerManager != nil {
		n.ControllerManager.Stop(5 * time.Second)
	}
	if n.Containerd != nil {
		n.Containerd.Stop()
	}
	if n.stop != nil {
		n.stop()
		n.Routes.Wait()
	}
	if err := n.HostBefore.Restore(); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups("kubepods"); err != nil {
		errs = append(errs, err)
	}
	if n.cluster.Client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// With its CSINode, or a kubelet registering again later exits.
		_ = n.cluster.Client.StorageV1().CSINodes().Delete(ctx, RealNodeName, metav1.DeleteOptions{})
		_ = n.cluster.Client.CoreV1().Nodes().Delete(ctx, RealNodeName, metav1.DeleteOptions{})
	}
	return errors.Join(errs...)
}

// removeCgroups removes the cgroup directory name (and everything below it, deepest first)
// from every cgroup hierarchy mounted under /sys/fs/cgroup.
func removeCgroups(name string) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + name)
	if top := "/sys/fs/cgroup/" + name; isDir(top) {
		roots = append(roots, top)
	}
	var errs []error
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// StartClaimController runs kube-controller-manager with only the resourceclaim controller,
// which makes a pod's ResourceClaims from its ResourceClaimTemplates, as on any cluster; no
// other controller touches the fake nodes or their pods.
func (c *Cluster) StartClaimController(dir string) (*Process, error) {
	return c.StartProcess("kube-controller-manager", c.Bin("kube-controller-manager"),
		"--kubeconfig="+c.Kubeconfig,
		"--controllers=resourceclaim-controller",
		"--leader-elect=false",
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(FreePort()),
		"--cert-dir="+filepath.Join(dir, "kcm-pki"),
	)
}
