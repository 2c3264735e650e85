package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ContainerdSocket is where the real node's containerd listens: kubelet's stats collector
// looks nowhere else (root and state live in the node's temporary directory).
const ContainerdSocket = "/run/containerd/containerd.sock"

// ContainerdNamespace is the containerd namespace of the CRI plugin, which kubelet's pods and
// imported images live in.
const ContainerdNamespace = "k8s.io"

// Runtime handlers of the real node's containerd. They differ in what containerd reports of
// them (it asks each runtime binary's `features`): runc 1.5 reports user namespaces with
// idmapped mounts, so containerd reports userNamespaces true; Debian's runc 1.1.5 has user
// namespaces but no idmapped mounts (runc 1.2 added them), so containerd reports false.
// (Debian's crun 1.8.1 cannot be the second one: it refuses containerd 2.4's OCI spec 1.3.0,
// "unknown version specified".)
const (
	HandlerRunc    = "runc" // the default handler
	HandlerOldRunc = "runc-1-1"
	// OldRuncBinary is Debian's runc (.ci/run installs it).
	OldRuncBinary = "/usr/sbin/runc"
)

// Containerd is the real node's container runtime: containerd 2 and runc built from their
// pinned modules (build.sh --runtime), Debian's runc 1.1 as a second handler, and the CNI
// plugins, configured in a directory of its own.
type Containerd struct {
	Dir string
	// BinDir holds containerd, containerd-shim-runc-v2, ctr and runc (RuntimeBinaries).
	BinDir string
	proc   *Process
}

// containerdConfig is containerd's configuration (version 3) for the real node; see
// test/README.md for why each setting is there.
func containerdConfig(dir, binDir, sandboxImage string) string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q

[plugins]
  # Its default is /opt/containerd, outside the node's directory.
  [plugins.'io.containerd.internal.v1.opt']
    path = %[7]q
  # NRI would listen on /var/run/nri/nri.sock, outside the node's directory; nothing uses it.
  [plugins.'io.containerd.nri.v1.nri']
    disable = true
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      # A local image: nothing is pulled.
      sandbox = %[4]q
  [plugins.'io.containerd.cri.v1.runtime']
    # Root here lacks CAP_SYS_RESOURCE: runc cannot set the negative oom_score_adj kubelet asks for.
    restrict_oom_score_adj = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = %[6]q
%[8]s
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["/usr/lib/cni"]
      conf_dir = %[5]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), ContainerdSocket, sandboxImage, filepath.Join(dir, "cni"),
		HandlerRunc, filepath.Join(dir, "opt"),
		runtimeEntry(HandlerRunc, binDir, filepath.Join(binDir, "runc"))+runtimeEntry(HandlerOldRunc, binDir, OldRuncBinary))
}

// runtimeEntry is the CRI runtime (handler) name running binary through the runc shim built
// with containerd in binDir: runtime_path names it, as on PATH may be another (Debian's 1.6).
func runtimeEntry(name, binDir, binary string) string {
	return fmt.Sprintf(`      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.%[1]s]
        runtime_type = "io.containerd.runc.v2"
        runtime_path = %[2]q
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.%[1]s.options]
          BinaryName = %[3]q
          SystemdCgroup = false
`, name, filepath.Join(binDir, "containerd-shim-runc-v2"), binary)
}

// StartContainerd starts containerd from binDir with its root, state, CNI configuration and
// log under dir, listening on ContainerdSocket, and waits until it answers. It fails if
// something listens there already: the real node never shares a containerd.
func StartContainerd(ctx context.Context, dir, binDir, sandboxImage string) (*Containerd, error) {
	if c, err := net.DialTimeout("unix", ContainerdSocket, time.Second); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("a containerd listens on %s already", ContainerdSocket)
	}
	for _, d := range []string{"root", "state", "cni"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	config := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(config, []byte(containerdConfig(dir, binDir, sandboxImage)), 0o644); err != nil {
		return nil, err
	}
	proc, err := startProcess("containerd", filepath.Join(dir, "containerd.log"), false, filepath.Join(binDir, "containerd"), "--config", config)
	if err != nil {
		return nil, err
	}
	c := &Containerd{Dir: dir, BinDir: binDir, proc: proc}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Ctr(ctx, "version")
		if err == nil {
			return c, nil
		}
		if !proc.Running() {
			return nil, proc.exitError()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			c.Stop()
			return nil, fmt.Errorf("containerd did not answer on %s: %w", ContainerdSocket, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Process is the containerd process.
func (c *Containerd) Process() *Process { return c.proc }

// Ctr runs ctr against the node's containerd in the CRI namespace and returns its stdout.
func (c *Containerd) Ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "ctr"), append([]string{"--address", ContainerdSocket, "--namespace", ContainerdNamespace}, args...)...)
	// Only stdout is the answer: ctr logs warnings (cgroup v1 is deprecated) on stderr.
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// ImportImage imports an image archive (an OCI layout as a tar, or a docker-archive) into the
// CRI namespace, so that pods run it without pulling.
func (c *Containerd) ImportImage(ctx context.Context, archive string) error {
	_, err := c.Ctr(ctx, "images", "import", "--all-platforms", archive)
	return err
}

// Stop kills every task containerd runs, stops containerd and its shims, and removes its
// socket. The node's directory stays (its logs); HostState.Restore unmounts what is left.
func (c *Containerd) Stop() {
	if c.proc.Running() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := c.Ctr(ctx, "tasks", "list", "--quiet"); err == nil {
			for _, id := range strings.Fields(out) {
				_, _ = c.Ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
			}
		}
	}
	c.proc.Stop(10 * time.Second)
	// Shims outlive containerd by design (they are in their own process groups): end those
	// whose command line names this node's state directory.
	killShims(filepath.Join(c.Dir, "state"))
	for _, f := range []string{ContainerdSocket, ContainerdSocket + ".ttrpc"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "removing %s: %v\n", f, err)
		}
	}
}

// killShims kills the containerd-shim processes working under dir (Shims).
func killShims(dir string) {
	for _, pid := range Shims(dir) {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// Shims lists the containerd-shim processes working under dir: containerd 2's shims run in
// their bundle directory under the state directory, which their command line no longer names
// (1.6's did).
func Shims(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid := 0
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid <= 1 {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim") {
			continue
		}
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")) // "... (deleted)" once removed
		if strings.Contains(string(cmdline), dir) || strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
