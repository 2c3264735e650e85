package manifests

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
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "charts", "rktsched")
)

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helm returns the helm CLI pinned in tools/helm/go.mod: $RKTSCHED_HELM (make passes bin/helm),
// else one built into a temporary directory from tools/helm/go.mod (cached by the Go build cache).
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if helmPath = os.Getenv("RKTSCHED_HELM"); helmPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "rktsched-helm-")
		if err != nil {
			helmErr = err
			return
		}
		helmPath = filepath.Join(dir, "helm")
		root, err := filepath.Abs(repoRoot)
		if err != nil {
			helmErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "tools", "helm"), "-o", helmPath, "helm.sh/helm/v4/cmd/helm")
		if out, err := cmd.CombinedOutput(); err != nil {
			helmErr = fmt.Errorf("building helm from tools/helm/go.mod: %w\n%s", err, out)
		}
	})
	if helmErr != nil {
		t.Fatal(helmErr)
	}
	return helmPath
}

// runHelm runs helm with its state kept out of the user's home.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), err
}

// render is `helm template` of the chart in namespace rktsched-system with --set flags.
func render(t *testing.T, set ...string) []object {
	t.Helper()
	return renderIn(t, "rktsched-system", set...)
}

// renderIn is render in another namespace.
func renderIn(t *testing.T, namespace string, set ...string) []object {
	t.Helper()
	args := []string{"template", "rktsched", chartDir, "--namespace", namespace}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return parseObjects(t, "helm template", []byte(out))
}

// object is one Kubernetes object, decoded generically.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m["name"].(string)
	return s
}
func (o object) key() string { return o.kind() + "/" + o.name() }

// parseObjects splits a multi-document YAML stream into objects (empty documents skipped).
func parseObjects(t *testing.T, source string, data []byte) []object {
	t.Helper()
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		raw, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		var obj object
		// Through JSON, as the API server sees it (numbers, no YAML-only types).
		if err := sigsyaml.Unmarshal(raw, &obj); err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		if len(obj) > 0 {
			objs = append(objs, obj)
		}
	}
	return objs
}

func byKey(objs []object) map[string]object {
	m := map[string]object{}
	for _, o := range objs {
		m[o.key()] = o
	}
	return m
}

// shippedManifests reads the resources manifests/kustomization.yaml lists (plain files).
func shippedManifests(t *testing.T, dir string) []object {
	t.Helper()
	var k struct {
		Resources []string `json:"resources"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	var objs []object
	for _, r := range k.Resources {
		data, err := os.ReadFile(filepath.Join(dir, r))
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, parseObjects(t, r, data)...)
	}
	return objs
}
