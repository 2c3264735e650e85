package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("%s--- stderr\n%s--- exit %d\n", r.stdout, r.stderr, r.code)
}

// runOffline runs kubectl rktsched with args; any attempt to reach a cluster fails the test.
func runOffline(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return runWith(t, func() (kubernetes.Interface, error) {
		t.Errorf("kubectl rktsched %s asked for a cluster", strings.Join(args, " "))
		return nil, errors.New("no cluster in this test")
	}, stdin, args...)
}

func runWith(t *testing.T, newClient func() (kubernetes.Interface, error), stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	o := &Options{
		Streams:   genericiooptions.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		NewClient: newClient,
	}
	// No kubeconfig of the machine running the tests may leak in (its namespace).
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	code := Run(context.Background(), o, args)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./internal/cli -update rewrites it):\n%s", path, diff)
	}
}

// TestGolden runs the commands offline on the files in testdata and compares what they print
// and their exit code with testdata/golden.
func TestGolden(t *testing.T) {
	const pods = "../../test/testdata/pods/"
	const handlerPods = "../../test/testdata/handler-pods/"
	tests := []struct {
		golden string
		args   []string
		stdin  string
		code   int
	}{
		// The seed's two pods, per class and on a node dump.
		{"mount-dne-classes.txt", []string{"explain", "-f", "testdata/mount-dne.yaml", "--builtin-policy"}, "", ExitOK},
		{"mount-dne-nodes.json", []string{"explain", "-f", "testdata/mount-dne.yaml", "--builtin-policy", "--nodes", "testdata/nodes.yaml", "-o", "json"}, "", ExitOK},
		{"host-ipc-pid-nodes.txt", []string{"explain", "-f", "testdata/host-ipc-pid.yaml", "--builtin-policy", "--nodes", "testdata/nodes.yaml"}, "", ExitOK},
		{"host-ipc-pid-wide.txt", []string{"explain", "-f", "testdata/host-ipc-pid.yaml", "--builtin-policy", "--nodes", "testdata/nodes.yaml", "-o", "wide"}, "", ExitOK},
		{"host-ipc-pid-nodes.json", []string{"explain", "-f", "testdata/host-ipc-pid.yaml", "--builtin-policy", "--nodes", "testdata/nodes.yaml", "-o", "json"}, "", ExitOK},
		// A Deployment's pod template, read from stdin, on rkt nodes only: it fits nowhere.
		{"deployment-rkt.txt", []string{"explain", "-f", "-", "--builtin-policy", "--nodes", "testdata/nodes-rkt.json"}, readFile(t, "testdata/deployment.yaml"), ExitNo},
		{"deployment-rkt.yaml", []string{"explain", "-f", "-", "--builtin-policy", "--nodes", "testdata/nodes-rkt.json", "-o", "yaml"}, readFile(t, "testdata/deployment.yaml"), ExitNo},
		// Several documents are several answers; all fit somewhere.
		{"multi.txt", []string{"explain", "-f", "testdata/multi.yaml", "--builtin-policy", "--nodes", "testdata/nodes.yaml"}, "", ExitOK},
		{"multi.json", []string{"explain", "-f", "testdata/multi.yaml", "--policy", "testdata/edited-policy.yaml", "-o", "json"}, "", ExitOK},
		{"typo-capability.txt", []string{"explain", "-f", pods + "typo-capability.yaml", "--builtin-policy", "-n", "team-a"}, "", ExitNo},
		// A nodeSelector or required node affinity leaves nodes out before rktsched is asked:
		// gpu-on-rkt's picks the rkt nodes, none of which runs GPUs, and not the docker ones
		// that would; per class it is not applied.
		{"gpu-on-rkt-nodes.txt", []string{"explain", "-f", pods + "gpu-on-rkt.yaml", "--builtin-policy", "--nodes", "testdata/nodes-labelled.yaml"}, "", ExitNo},
		{"gpu-on-rkt-nodes.json", []string{"explain", "-f", pods + "gpu-on-rkt.yaml", "--builtin-policy", "--nodes", "testdata/nodes-labelled.yaml", "-o", "json"}, "", ExitNo},
		{"gpu-on-rkt-classes.txt", []string{"explain", "-f", pods + "gpu-on-rkt.yaml", "--builtin-policy"}, "", ExitOK},
		{"affinity-wide.txt", []string{"explain", "-f", "testdata/affinity.yaml", "--builtin-policy", "--nodes", "testdata/nodes-labelled.yaml", "-o", "wide"}, "", ExitNo},
		{"stage1-override-nodes.txt", []string{"explain", "-f", pods + "stage1-override.yaml", "--builtin-policy", "--nodes", "testdata/nodes-labelled.yaml"}, "", ExitOK},
		{"no-matching-node.txt", []string{"explain", "-f", "testdata/no-matching-node.yaml", "--builtin-policy", "--nodes", "testdata/nodes-labelled.yaml"}, "", ExitNo},
		// Today's runtimes: the pod's handler (its RuntimeClass's), and per class the handlers
		// the nodes report and what lacks each missing capability.
		{"kata-hostnetwork-nodes.txt", []string{"explain", "-f", handlerPods + "kata-hostnetwork.yaml", "--builtin-policy", "--nodes", "testdata/handlers.yaml"}, "", ExitNo},
		{"gvisor-userns-nodes.json", []string{"explain", "-f", handlerPods + "gvisor-userns.yaml", "--builtin-policy", "--nodes", "testdata/handlers.yaml", "-o", "json"}, "", ExitNo},
		{"kata-nginx-nodes.txt", []string{"explain", "-f", handlerPods + "kata-nginx.yaml", "--builtin-policy", "--nodes", "testdata/handlers.yaml"}, "", ExitOK},
		{"image-volume-nodes.txt", []string{"explain", "-f", handlerPods + "image-volume.yaml", "--builtin-policy", "--nodes", "testdata/handlers.yaml"}, "", ExitOK},
		// A bad policy: validate says why with the field and line (exit 1), explain refuses it (exit 3).
		{"validate-bad.txt", []string{"validate", "-f", "testdata/bad-policy.yaml"}, "", ExitNo},
		{"validate-bad.json", []string{"validate", "-f", "testdata/bad-policy.yaml", "-o", "json"}, "", ExitNo},
		{"explain-bad-policy.txt", []string{"explain", "-f", "testdata/mount-dne.yaml", "--policy", "testdata/bad-policy.yaml"}, "", ExitError},
		{"validate-configmap.txt", []string{"validate", "-f", "-"}, readFile(t, "testdata/configmap.yaml"), ExitOK},
		// A policy edit previewed on dumps: one running pod stranded.
		{"diff.txt", []string{"diff", "--policy", "testdata/edited-policy.yaml", "--old-builtin-policy", "--nodes", "testdata/nodes-rkt.json", "--pods", "testdata/pods-dump.yaml"}, "", ExitNo},
		{"diff-wide.txt", []string{"diff", "--policy", "testdata/edited-policy.yaml", "--old-builtin-policy", "--nodes", "testdata/nodes.yaml", "--pods", "testdata/pods-dump.yaml", "-o", "wide"}, "", ExitNo},
		{"diff.json", []string{"diff", "--policy", "testdata/edited-policy.yaml", "--old-builtin-policy", "--nodes", "testdata/nodes-rkt.json", "--pods", "testdata/pods-dump.yaml", "-o", "json"}, "", ExitNo},
		{"diff-none.txt", []string{"diff", "--builtin-policy", "--old-policy", "testdata/configmap.yaml", "--nodes", "testdata/nodes.yaml", "--pods", "testdata/pods-dump.yaml"}, "", ExitOK},
		// Bad input and usage.
		{"not-a-pod.txt", []string{"explain", "-f", "testdata/nodes.yaml", "--builtin-policy"}, "", ExitError},
		{"unknown-field.txt", []string{"explain", "-f", "-", "--builtin-policy"}, "apiVersion: v1\nkind: Pod\nmetadata: {name: typo}\nspec:\n  initContainer: [{name: x, image: busybox}]\n  containers: [{name: main, image: busybox:1.36}]\n", ExitOK},
		{"usage-no-input.txt", []string{"explain", "--builtin-policy"}, "", ExitUsage},
		{"usage-bad-output.txt", []string{"explain", "-f", "testdata/mount-dne.yaml", "--builtin-policy", "-o", "xml"}, "", ExitUsage},
		{"usage-bad-flag.txt", []string{"validate", "--frobnicate"}, "", ExitUsage},
		{"usage-diff-no-policy.txt", []string{"diff", "--nodes", "testdata/nodes.yaml"}, "", ExitUsage},
		{"missing-file.txt", []string{"explain", "-f", "testdata/does-not-exist.yaml", "--builtin-policy"}, "", ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := runOffline(t, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\n%s", r.code, tt.code, r)
			}
			golden(t, tt.golden, r.String())
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
