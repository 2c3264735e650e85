package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the project's module path; RepoRoot looks for the go.mod that declares it.
const Module = "github.com/rktsched/rktsched"

// Binaries of this project that the cluster runs as processes.
const (
	ExtenderBinary = "rktsched-extender"
	LabelerBinary  = "rktsched-labeler"
	// CLIBinary is kubectl rktsched, which the e2e suite and the demo run as users would.
	CLIBinary = "kubectl-rktsched"
	// SchedulerBinary is kube-scheduler with the Rktsched plugin, from the scheduler/ module.
	SchedulerBinary = "rktsched-scheduler"
)

// RepoRoot returns the repository root: the nearest parent of the working directory whose
// go.mod declares Module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module "+Module+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod for %s above the working directory", Module)
		}
		dir = parent
	}
}

// ControlPlaneBinaries runs test/cluster/build.sh, which builds the pinned etcd,
// kube-apiserver, kube-scheduler and kubectl into a cache outside the repository (minutes on
// the first run, a few milliseconds after), and returns the directory holding them. The
// script's progress goes to progress.
func ControlPlaneBinaries(ctx context.Context, repoRoot string, progress io.Writer) (string, error) {
	return runBuild(ctx, repoRoot, progress, nil, "etcd", "kube-apiserver", "kube-scheduler", "kubectl")
}

// RuntimeBinaries runs test/cluster/build.sh --runtime, which builds the real node's pinned
// containerd, containerd-shim-runc-v2, ctr and runc into the same cache (a minute or two the
// first time), and returns the directory holding them.
func RuntimeBinaries(ctx context.Context, repoRoot string, progress io.Writer) (string, error) {
	return runBuild(ctx, repoRoot, progress, []string{"--runtime"}, "containerd", "containerd-shim-runc-v2", "ctr", "runc")
}

// runBuild runs build.sh with args and checks that the directory it prints holds want.
func runBuild(ctx context.Context, repoRoot string, progress io.Writer, args []string, want ...string) (string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot, "test", "cluster", "build.sh"), args...)
	cmd.Stdout, cmd.Stderr = &out, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("test/cluster/build.sh %s: %w", strings.Join(args, " "), err)
	}
	dir := strings.TrimSpace(out.String())
	for _, b := range want {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("test/cluster/build.sh printed %q, which lacks %s: %w", dir, b, err)
		}
	}
	return dir, nil
}

// PinnedVersion returns the value of key in test/cluster/versions.env (KUBE_VERSION,
// CONTAINERD_VERSION, ...).
func PinnedVersion(repoRoot, key string) (string, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "test", "cluster", "versions.env"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("test/cluster/versions.env does not set %s", key)
}

// ProjectBinaries returns a directory holding rktsched-extender, rktsched-labeler and
// kubectl-rktsched. If dir is set (make passes its bin/), the binaries must already be there;
// otherwise they are built from repoRoot into outDir with go build.
func ProjectBinaries(ctx context.Context, repoRoot, dir, outDir string, progress io.Writer) (string, error) {
	if dir == "" {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", outDir+string(filepath.Separator),
			"./cmd/"+ExtenderBinary, "./cmd/"+LabelerBinary, "./cmd/"+CLIBinary)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = progress, progress
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("go build ./cmd/...: %w", err)
		}
		dir = outDir
	}
	var errs []error
	for _, b := range []string{ExtenderBinary, LabelerBinary, CLIBinary} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			errs = append(errs, err)
		}
	}
	return dir, errors.Join(errs...)
}

// SchedulerPluginBinary returns the path of rktsched-scheduler. If dir is set (make passes its
// bin/), it must already be there; otherwise make builds it into outDir (minutes the first
// time: it compiles most of Kubernetes; go's build cache makes later builds quick).
func SchedulerPluginBinary(ctx context.Context, repoRoot, dir, outDir string, progress io.Writer) (string, error) {
	if dir == "" {
		target := filepath.Join(outDir, SchedulerBinary)
		cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", repoRoot, "BIN="+outDir, target)
		cmd.Stdout, cmd.Stderr = progress, progress
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("make %s: %w", target, err)
		}
		dir = outDir
	}
	path := filepath.Join(dir, SchedulerBinary)
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return path, nil
}
