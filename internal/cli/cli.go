// Package cli is kubectl rktsched: explain where a pod can run and why, validate a policy
// document, and preview what a policy edit would do. It answers with the policy package the
// extender and the labeler use, from files (offline) or from a live cluster.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/render"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/version"
)

// Exit codes.
const (
	// ExitOK: the pod fits somewhere, the policy is valid, nothing running is stranded.
	ExitOK = 0
	// ExitNo: the pod fits nowhere, the policy is invalid, running pods would be stranded.
	ExitNo = 1
	// ExitUsage: bad flags or arguments.
	ExitUsage = 2
	// ExitError: anything else (unreadable input, no cluster, ...).
	ExitError = 3
)

// exitError carries an exit code; a nil err means the answer is printed, only the code
// remains.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// errNo is the answer "no" (exit 1), already printed.
var errNo = &exitError{code: ExitNo}

// Options are what every command shares: how to reach a cluster, when one is needed.
type Options struct {
	Streams     genericiooptions.IOStreams
	ConfigFlags *genericclioptions.ConfigFlags
	// AllNamespaces is -A.
	AllNamespaces bool
	// NewClient makes the cluster client; nil means from ConfigFlags.
	NewClient func() (kubernetes.Interface, error)

	cluster *load.Cluster
}

// Cluster returns the live cluster, connecting on first use.
func (o *Options) Cluster() (*load.Cluster, error) {
	if o.cluster != nil {
		return o.cluster, nil
	}
	newClient := o.NewClient
	if newClient == nil {
		newClient = func() (kubernetes.Interface, error) {
			cfg, err := o.ConfigFlags.ToRESTConfig()
			if err != nil {
				return nil, fmt.Errorf("connecting to the cluster (offline, use -f, --nodes and --policy or --builtin-policy): %w", err)
			}
			cfg.UserAgent = "kubectl-rktsched/" + version.Version
			return kubernetes.NewForConfig(cfg)
		}
	}
	client, err := newClient()
	if err != nil {
		return nil, err
	}
	o.cluster = &load.Cluster{Client: client}
	return o.cluster, nil
}

// Namespace returns the namespace to work in: -n, else the kubeconfig context's, else
// "default". allowed is false with -A.
func (o *Options) Namespace() string {
	if o.AllNamespaces {
		return ""
	}
	if ns, _, err := o.ConfigFlags.ToRawKubeConfigLoader().Namespace(); err == nil && ns != "" {
		return ns
	}
	return "default"
}

// NewCommand returns the kubectl-rktsched command tree.
func NewCommand(o *Options) *cobra.Command {
	if o.ConfigFlags == nil {
		o.ConfigFlags = genericclioptions.NewConfigFlags(true)
	}
	root := &cobra.Command{
		Use:   "kubectl-rktsched",
		Short: "Explain where pods can run under rktsched's runtime policy, validate and preview policy edits",
		Long: `kubectl rktsched answers with the policy package rktsched's extender and labeler use.

  explain   what a pod needs and which nodes can run it
  validate  check a policy document, with the ConfigMap path's parser and messages
  diff      preview a policy edit: node labels, stranded running pods, Pending pods

Offline first: -f, --nodes, --pods, --policy and --builtin-policy read files and need no
cluster. Exit codes: 0 yes (fits, valid, nothing stranded), 1 no, 2 usage error, 3 other error.`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl rktsched"},
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(o.Streams.In)
	root.SetOut(o.Streams.Out)
	root.SetErr(o.Streams.ErrOut)
	o.ConfigFlags.AddFlags(root.PersistentFlags())
	root.PersistentFlags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "all namespaces (explain TYPE, diff)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newExplainCommand(o), newValidateCommand(o), newDiffCommand(o))
	return root
}

// Run runs the command with args and returns the exit code. Errors go to stderr.
func Run(ctx context.Context, o *Options, args []string) int {
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(o.Streams.ErrOut, "error: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(o.Streams.ErrOut, "error: %v\n", err)
	if ranCommand(cmd, args) {
		return ExitError
	}
	return ExitUsage // an unknown command or a bad argument count, before any work
}

// ranCommand reports whether args name a command that reached its RunE: cobra's own errors
// (unknown commands, argument validation) come before it.
func ranCommand(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return false
	}
	return c.Annotations[ranAnnotation] == "true"
}

const ranAnnotation = "rktsched.io/ran"

// runE marks the command as run (for the exit code) and calls fn.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if cmd.Annotations == nil {
			cmd.Annotations = map[string]string{}
		}
		cmd.Annotations[ranAnnotation] = "true"
		return fn(cmd, args)
	}
}

// outputFlag adds -o.
func outputFlag(cmd *cobra.Command, out *string) {
	cmd.Flags().StringVarP(out, "output", "o", "table", "output format: table, wide, json or yaml")
}

func checkOutput(out string) error {
	if !render.ValidFormat(out) {
		return usageError("--output %q: want one of %v", out, render.Formats)
	}
	return nil
}

// policyFlags say where a policy comes from: a file, the built-in, or (neither) the live
// ConfigMap.
type policyFlags struct {
	file    string
	builtin bool
}

func (f *policyFlags) add(cmd *cobra.Command, prefix, what string) {
	fs := cmd.Flags()
	fs.StringVar(&f.file, prefix+"policy", "", what+" from this file (a policy document or a ConfigMap holding one)")
	fs.BoolVar(&f.builtin, prefix+"builtin-policy", false, what+": the built-in policy")
}

// liveConfigMap is where the live policy ConfigMap is (--policy-configmap-namespace and
// -name), for every command that reads it.
type liveConfigMap struct {
	namespace, name string
}

func (l *liveConfigMap) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&l.namespace, "policy-configmap-namespace", policysource.DefaultNamespace, "namespace of the live policy ConfigMap")
	fs.StringVar(&l.name, "policy-configmap-name", policysource.DefaultName, "name of the live policy ConfigMap")
}

func (f *policyFlags) check(prefix string) error {
	if f.file != "" && f.builtin {
		return usageError("--%spolicy and --%sbuiltin-policy exclude each other", prefix, prefix)
	}
	return nil
}

// live reports whether the policy comes from the cluster.
func (f *policyFlags) live() bool { return f.file == "" && !f.builtin }

// load reads the policy f names; with neither a file nor the built-in, the live ConfigMap.
func (f *policyFlags) load(ctx context.Context, o *Options, live liveConfigMap) (*load.Policy, error) {
	switch {
	case f.builtin:
		return load.BuiltinPolicy(), nil
	case f.file != "":
		data, err := readInput(o, f.file)
		if err != nil {
			return nil, err
		}
		return load.ParsePolicy(data, f.file)
	}
	c, err := o.Cluster()
	if err != nil {
		return nil, err
	}
	return c.Policy(ctx, live.namespace, live.name)
}

// readInput reads a file, or stdin for "-".
func readInput(o *Options, name string) ([]byte, error) {
	if name == "-" {
		return load.ReadAll(o.Streams.In, "stdin")
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return load.ReadAll(f, name)
}

// readDump reads a --nodes or --pods dump (a file, or stdin for "-") with parse and prints
// the warnings parse gives.
func readDump[T any](o *Options, name string, parse func(data []byte, name string) ([]T, []string, error)) ([]T, error) {
	data, err := readInput(o, name)
	if err != nil {
		return nil, err
	}
	items, warnings, err := parse(data, name)
	if err != nil {
		return nil, err
	}
	warn(o, warnings)
	return items, nil
}

// readNodes reads the Nodes and the objects the policy reads beside them: from the --nodes
// dump when name is set (a file, or stdin for "-"), else from the cluster.
func readNodes(ctx context.Context, o *Options, name string) (*load.Dump, error) {
	if name != "" {
		data, err := readInput(o, name)
		if err != nil {
			return nil, err
		}
		d, warnings, err := load.Nodes(data, name)
		if err != nil {
			return nil, err
		}
		warn(o, warnings)
		if d.Nodes == nil {
			d.Nodes = []*v1.Node{}
		}
		return d, nil
	}
	c, err := o.Cluster()
	if err != nil {
		return nil, err
	}
	d := &load.Dump{}
	if d.Nodes, err = c.Nodes(ctx); err != nil {
		return nil, err
	}
	if d.Nodes == nil {
		d.Nodes = []*v1.Node{}
	}
	objs, warnings, err := c.Objects(ctx)
	if err != nil {
		return nil, err
	}
	warn(o, warnings)
	d.Objects = objs
	return d, nil
}

func warn(o *Options, warnings []string) {
	for _, w := range warnings {
		fmt.Fprintf(o.Streams.ErrOut, "warning: %s\n", w)
	}
}

// stdinOnce refuses "-" for more than one input.
func stdinOnce(names ...string) error {
	n := 0
	for _, name := range names {
		if name == "-" {
			n++
		}
	}
	if n > 1 {
		return usageError("only one input can be read from stdin (-)")
	}
	return nil
}
