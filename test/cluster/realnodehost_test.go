package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRealNodeHostLacks(t *testing.T) {
	root := t.TempDir()
	for _, f := range append(realNodeFiles, realNodeHeaders...) {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"sys/fs/cgroup", "proc/sys/vm", "dev"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"sys/fs/cgroup/cgroup.controllers", "proc/sys/vm/overcommit_memory", "dev/kmsg"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := func(string) (string, error) { return "/usr/bin/x", nil }
	if got := realNodeHostLacks(0, root, all); got != nil {
		t.Errorf("a host with everything lacks %q", got)
	}

	// Not root, no iptables, runc not executable, no libseccomp header.
	noIPTables := func(name string) (string, error) {
		if name == "iptables" {
			return "", errors.New("not found")
		}
		return "/usr/bin/" + name, nil
	}
	if err := os.Chmod(filepath.Join(root, "usr/sbin/runc"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "usr/include/seccomp.h")); err != nil {
		t.Fatal(err)
	}
	want := []string{"root", "iptables", "/usr/sbin/runc", "/usr/include/seccomp.h"}
	if diff := cmp.Diff(want, realNodeHostLacks(1000, root, noIPTables)); diff != "" {
		t.Errorf("lacks (-want +got):\n%s", diff)
	}

	// cgroup v1 without the memory hierarchy; no /dev/kmsg.
	for _, f := range []string{"sys/fs/cgroup/cgroup.controllers", "dev/kmsg"} {
		if err := os.Remove(filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "usr/sbin/runc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/include/seccomp.h"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want = []string{"a writable /sys/fs/cgroup/memory", "a readable /dev/kmsg"}
	if diff := cmp.Diff(want, realNodeHostLacks(0, root, all)); diff != "" {
		t.Errorf("lacks (-want +got):\n%s", diff)
	}
}

// endingTB records how NoRealNode ends a test; like testing.T's, Skipf and Fatalf end the
// goroutine.
type endingTB struct {
	testing.TB
	skipped, failed string
}

func (e *endingTB) Helper() {}
func (e *endingTB) Skipf(format string, a ...any) {
	e.skipped = fmt.Sprintf(format, a...)
	runtime.Goexit()
}
func (e *endingTB) Fatalf(format string, a ...any) {
	e.failed = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

func TestNoRealNode(t *testing.T) {
	tests := []struct {
		env             string
		skipped, failed string
	}{
		{"", "no real node: this host lacks root (RKTSCHED_REQUIRE_REAL_NODE=1 fails instead of skipping)", ""},
		{"0", "no real node: this host lacks root (RKTSCHED_REQUIRE_REAL_NODE=1 fails instead of skipping)", ""},
		{"1", "", "the real node cannot run and RKTSCHED_REQUIRE_REAL_NODE=1 requires it: this host lacks root"},
	}
	for _, tt := range tests {
		t.Run("RKTSCHED_REQUIRE_REAL_NODE="+tt.env, func(t *testing.T) {
			t.Setenv(RequireRealNodeEnv, tt.env)
			e := &endingTB{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				NoRealNode(e, "this host lacks root")
			}()
			<-done
			if e.skipped != tt.skipped || e.failed != tt.failed {
				t.Errorf("skipped %q, failed %q; want %q, %q", e.skipped, e.failed, tt.skipped, tt.failed)
			}
		})
	}
}
