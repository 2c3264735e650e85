//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/policydiff"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
	"github.com/rktsched/rktsched/test/cluster"
)

// kubectlRktsched runs the built kubectl-rktsched against the cluster as its admin.
func kubectlRktsched(ctx context.Context, t *testing.T, e *env, args ...string) (stdout string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(e.ourBins, cluster.CLIBinary), append([]string{"--kubeconfig=" + e.c.Kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("kubectl rktsched %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("$ kubectl rktsched %s  (exit %d)\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return out.String(), code
}

// testCLI: `kubectl rktsched explain pod/NAME` of Pending pods names the reasons their
// FailedScheduling events count, node for node; `diff` of a known edit lists exactly the
// nodes whose labels change and the pods it strands or lets schedule.
func testCLI(ctx context.Context, t *testing.T, e *env) {
	const ns = "cli"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e, ns)
	typo := podNamed(t, e, "typo-capability", "cli-typo")
	initCoreos := podNamed(t, e, "init-containers", "cli-init-coreos")
	initCoreos.Spec.NodeSelector = map[string]string{policy.LabelStage1: "coreos"}
	// Bound at creation, as a pod already running there would be.
	tunnel := podNamed(t, e, "port-forward", "cli-tunnel")
	tunnel.Spec.NodeName = "rkt-coreos-1"
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{typo, initCoreos, tunnel}); err != nil {
		t.Fatal(err)
	}
	nodeList, err := e.c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pod      *v1.Pod
		reason   string // waited for in the event
		wantCode int
	}{
		{typo, "names unknown capabilities: typo-capability", 1},
		// Docker nodes would fit it, but its nodeSelector leaves only coreos nodes, and
		// explain counts only those: exit 1 (fits nowhere), as kube-scheduler finds.
		{initCoreos, "rkt stage1-coreos lacks init-containers", 1},
	} {
		o, err := waitForReason(ctx, e, ns, tc.pod.Name, tc.reason)
		if err != nil {
			t.Fatal(err)
		}
		stdout, code := kubectlRktsched(ctx, t, e, "explain", "pod/"+tc.pod.Name, "-n", ns, "-o", "json")
		if code != tc.wantCode {
			t.Errorf("explain pod/%s: exit %d, want %d", tc.pod.Name, code, tc.wantCode)
		}
		var ex explain.Explanation
		if err := json.Unmarshal([]byte(stdout), &ex); err != nil {
			t.Fatalf("explain pod/%s -o json: %v", tc.pod.Name, err)
		}
		// kube-scheduler asks the extender about the nodes its own filters passed (here:
		// those the nodeSelector matches) and counts the nodes per reason.
		selector := labels.SelectorFromSet(tc.pod.Spec.NodeSelector)
		selected := map[string]bool{}
		for _, n := range nodeList.Items {
			selected[n.Name] = selector.Matches(labels.Set(n.Labels))
		}
		perReason := map[string]int{}
		for _, c := range ex.Classes {
			for _, n := range c.Nodes {
				if !selected[n] {
					t.Errorf("explain pod/%s counts node %s, which its nodeSelector leaves out", tc.pod.Name, n)
				}
				if selected[n] && !c.Fits {
					perReason[c.Reason]++
				}
			}
			for _, n := range c.NotSelected {
				if selected[n] {
					t.Errorf("explain pod/%s says its nodeSelector leaves out node %s, which it selects", tc.pod.Name, n)
				}
			}
		}
		if len(perReason) == 0 {
			t.Errorf("explain pod/%s refuses no node the pod may go to", tc.pod.Name)
		}
		for reason, n := range perReason {
			if want := fmt.Sprintf("%d %s", n, reason); !strings.Contains(o.FailedScheduling, want) {
				t.Errorf("explain pod/%s says %q; its FailedScheduling event says %q", tc.pod.Name, want, o.FailedScheduling)
			}
		}
		table, _ := kubectlRktsched(ctx, t, e, "explain", "pod/"+tc.pod.Name, "-n", ns)
		if !strings.Contains(table, tc.reason) {
			t.Errorf("explain pod/%s's table lacks %q", tc.pod.Name, tc.reason)
		}
	}

	// The known edit: rkt stage1-coreos runs init containers and no longer port-forward.
	edit := policytest.EditDefault(t, coreosLacks, "lacks: [attach, port-forward, gpu, host-ipc, host-pid, hostpath-create, subpath-create,\n")
	editFile := filepath.Join(t.TempDir(), "edited.yaml")
	if err := os.WriteFile(editFile, []byte(edit), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, code := kubectlRktsched(ctx, t, e, "diff", "--policy", editFile, "-n", ns, "-o", "json")
	if code != 1 {
		t.Errorf("diff: exit %d, want 1 (a running pod stranded)", code)
	}
	var got policydiff.Result
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("diff -o json: %v", err)
	}
	want := policydiff.Result{
		Nodes: len(nodeList.Items), Pods: 3,
		Labels: []policydiff.LabelChange{{
			Class: "rkt stage1-coreos", NewClass: "rkt stage1-coreos", Count: 2, Nodes: []string{"rkt-coreos-1", "rkt-coreos-2"},
			Changes: []policydiff.Change{
				{Key: policy.CapabilityLabel(policy.InitContainers), Old: "false", New: "true", OldPresent: true, NewPresent: true},
				{Key: policy.CapabilityLabel(policy.PortForward), Old: "true", New: "false", OldPresent: true, NewPresent: true},
			},
		}},
		Stranded:      []policydiff.PodChange{{Pod: ns + "/cli-tunnel", Node: "rkt-coreos-1", Reason: "rkt stage1-coreos lacks port-forward"}},
		Schedulable:   []policydiff.PodChange{{Pod: ns + "/cli-init-coreos", Reason: "rkt stage1-coreos lacks init-containers", Classes: []string{"rkt stage1-coreos"}}},
		Unschedulable: []policydiff.PodChange{},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(policydiff.Result{}, "OldDigest", "NewDigest")); diff != "" {
		t.Errorf("diff of the known edit (-want +got):\n%s", diff)
	}
	if got.OldDigest != policy.Default().Digest() {
		t.Errorf("diff: policy in force %s, want the built-in %s (the ConfigMap holds it)", got.OldDigest, policy.Default().Digest())
	}
}
