package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// RequireRealNodeEnv names the environment variable that turns a real-node test the host
// cannot run from a skip into a failure: .ci/run sets it to 1, so that CI never silently
// skips the real node.
const RequireRealNodeEnv = "RKTSCHED_REQUIRE_REAL_NODE"

// realNodeTools are the commands a real node runs from PATH: what the Service routes and the
// host restore run, and the C compiler that builds runc (build.sh --runtime).
var realNodeTools = []string{"iptables", "iptables-save", "iptables-restore", "ip", "gcc"}

// realNodeFiles are the files the runtime's configuration names (containerdConfig): Debian's runc and
// the CNI plugins of the bridge network; and libseccomp's header, which runc's build needs.
var realNodeFiles = []string{OldRuncBinary, "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback"}

// realNodeHeaders are C headers runc's build needs (Debian's libseccomp-dev).
var realNodeHeaders = []string{"/usr/include/seccomp.h"}

// RealNodeHostLacks lists what this host lacks to run a real node (StartRealNode): root,
// the tools and files .ci/run installs (runc 1.1, libseccomp-dev, the CNI plugins, iptables), a
// writable cgroup hierarchy and /proc/sys (kubelet makes cgroups and sets sysctls), and
// /dev/kmsg (kubelet's OOM watcher). Nil means it can.
func RealNodeHostLacks() []string {
	return realNodeHostLacks(os.Geteuid(), "/", exec.LookPath)
}

// realNodeHostLacks is RealNodeHostLacks with the files under root.
func realNodeHostLacks(euid int, root string, lookPath func(string) (string, error)) []string {
	var lacks []string
	if euid != 0 {
		lacks = append(lacks, "root")
	}
	for _, tool := range realNodeTools {
		if _, err := lookPath(tool); err != nil {
			lacks = append(lacks, tool)
		}
	}
	for _, f := range realNodeFiles {
		if st, err := os.Stat(filepath.Join(root, f)); err != nil || st.Mode()&0o111 == 0 {
			lacks = append(lacks, f)
		}
	}
	for _, f := range realNodeHeaders {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			lacks = append(lacks, f)
		}
	}
	cgroups := filepath.Join(root, "sys/fs/cgroup")
	if _, err := os.Stat(filepath.Join(cgroups, "cgroup.controllers")); err != nil {
		cgroups = filepath.Join(cgroups, "memory") // cgroup v1: one hierarchy per controller
	}
	if syscall.Access(cgroups, 2 /* W_OK */) != nil {
		lacks = append(lacks, "a writable "+strings.TrimPrefix(cgroups, filepath.Clean(root)))
	}
	if syscall.Access(filepath.Join(root, "proc/sys/vm/overcommit_memory"), 2 /* W_OK */) != nil {
		lacks = append(lacks, "a writable /proc/sys")
	}
	if syscall.Access(filepath.Join(root, "dev/kmsg"), 4 /* R_OK */) != nil {
		lacks = append(lacks, "a readable /dev/kmsg")
	}
	return lacks
}

// RequireRealNodeHost ends t (NoRealNode) unless this host can run a real node.
func RequireRealNodeHost(t testing.TB) {
	t.Helper()
	if lacks := RealNodeHostLacks(); len(lacks) > 0 {
		NoRealNode(t, "this host lacks "+strings.Join(lacks, ", "))
	}
}

// NoRealNode ends a real-node test that cannot run here: skipped with reason on one line, or
// failed when RKTSCHED_REQUIRE_REAL_NODE=1.
func NoRealNode(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireRealNodeEnv) == "1" {
		t.Fatalf("the real node cannot run and %s=1 requires it: %s", RequireRealNodeEnv, reason)
	}
	t.Skipf("no real node: %s (%s=1 fails instead of skipping)", reason, RequireRealNodeEnv)
}
