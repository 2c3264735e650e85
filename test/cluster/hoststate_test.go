package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Restore puts back every kind of change a real node makes to the host: sysctls, a bridge,
// an iptables chain with a rule, a mount, a directory. The test makes each change itself.
func TestHostStateRestore(t *testing.T) {
	RequireRealNodeHost(t)
	dir := t.TempDir()
	kubeletDir := filepath.Join(dir, "var-lib-kubelet")
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	before, err := SnapshotHost(kubeletDir)
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = before.Restore()
		}
	})

	flip := map[string]string{"kernel.panic": "10", "kernel.panic_on_oops": "1", "vm.overcommit_memory": "1", "net.ipv4.ip_forward": "1"}
	for k, v := range flip {
		if before.Sysctls[k] == v {
			v = "0"
		}
		if err := os.WriteFile(sysctlPath(k), []byte(v), 0o644); err != nil {
			t.Fatalf("sysctl %s=%s: %v", k, v, err)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	run("ip", "link", "add", "rkts-test0", "type", "bridge")
	run("iptables", "-t", "nat", "-N", "RKTSCHED-TEST")
	run("iptables", "-t", "nat", "-A", "RKTSCHED-TEST", "-d", "10.96.0.1/32", "-p", "tcp", "--dport", "443", "-j", "RETURN")
	run("iptables", "-t", "filter", "-N", "RKTSCHED-TEST")
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(kubeletDir, "device-plugins"), 0o755); err != nil {
		t.Fatal(err)
	}

	changed, err := SnapshotHost(kubeletDir)
	if err != nil {
		t.Fatal(err)
	}
	diff := before.Diff(changed)
	for _, want := range []string{"sysctl kernel.panic:", "sysctl vm.overcommit_memory:", "sysctl net.ipv4.ip_forward:",
		"link rkts-test0: added", "mount " + mnt + ": added", "iptables table nat:", "iptables table filter:", "directory " + kubeletDir} {
		if !strings.Contains(diff, want) {
			t.Errorf("the snapshot missed a change: no %q in\n%s", want, diff)
		}
	}

	if err := before.Restore(); err != nil {
		t.Errorf("Restore: %v", err)
	}
	restored = true
	after, err := SnapshotHost(kubeletDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(after); diff != "" {
		t.Errorf("the host differs after Restore:\n%s", diff)
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b\011c`); got != "/mnt/a b\tc" {
		t.Errorf("unescapeMount = %q", got)
	}
}

// containerd of the real node starts on its socket, answers, and leaves the host as it was.
func TestContainerdStartStop(t *testing.T) {
	RequireRealNodeHost(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := RuntimeBinaries(t.Context(), root, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	before, err := SnapshotHost(HostDirs...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := StartContainerd(t.Context(), dir, bin, "rktsched.local/pause:test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := StartContainerd(t.Context(), t.TempDir(), bin, "x"); err == nil {
		t.Error("a second containerd started on the same socket")
	}
	out, err := c.Ctr(t.Context(), "plugins", "list")
	if err != nil {
		t.Fatal(err)
	}
	// The CRI plugin (kubelet's) and the overlayfs snapshotter loaded: "TYPE ID PLATFORMS ok".
	for _, want := range [][2]string{{"io.containerd.grpc.v1", "cri"}, {"io.containerd.cri.v1", "runtime"}, {"io.containerd.snapshotter.v1", "overlayfs"}} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			found = found || len(f) >= 3 && f[0] == want[0] && f[1] == want[1] && f[len(f)-1] == "ok"
		}
		if !found {
			t.Errorf("containerd plugin %s %s not loaded ok:\n%s", want[0], want[1], out)
		}
	}
	c.Stop()
	if c.Process().Running() {
		t.Error("containerd still runs after Stop")
	}
	if err := before.Restore(); err != nil {
		t.Errorf("Restore: %v", err)
	}
	after, err := SnapshotHost(HostDirs...)
	if err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(after); diff != "" {
		t.Errorf("the host differs after containerd:\n%s", diff)
	}
}
