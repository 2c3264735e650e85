package cli

import (
	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"

	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/nodeselect"
	"github.com/rktsched/rktsched/internal/cli/policydiff"
	"github.com/rktsched/rktsched/internal/cli/render"
)

type diffOptions struct {
	newPolicy, oldPolicy policyFlags
	live                 liveConfigMap // the old policy's, unless --old-policy or --old-builtin-policy
	nodes, pods          string
	output               string
}

func newDiffCommand(o *Options) *cobra.Command {
	var do diffOptions
	cmd := &cobra.Command{
		Use:   "diff (--policy NEW.yaml | --builtin-policy)",
		Short: "Preview a policy edit: node labels, stranded running pods, Pending pods",
		Long: `diff compares the policy in force (the live ConfigMap, or --old-policy FILE, or
--old-builtin-policy) with a new one, on the cluster's nodes and pods (or --nodes and --pods
dumps, as kubectl get nodes -o yaml and kubectl get pods -A -o yaml write). It lists:

  - node labels the labeler would change, per class, with counts;
  - running pods that fit their node now and would not after the edit;
  - Pending pods every node refuses now that some node would accept, and the reverse; a
    pod's nodeSelector and required node affinity are matched against the labels each
    policy makes (the nodes' own labels for the policy in force).

Pods of every namespace are looked at, or those of -n NAMESPACE.
Exit code 0 when no running pod would be stranded, 1 otherwise.`,
		Example: `  kubectl rktsched diff --policy new-policy.yaml
  kubectl rktsched diff --policy new.yaml --old-policy old.yaml --nodes nodes.yaml --pods pods.yaml`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return runDiff(cmd, o, &do) }),
	}
	do.newPolicy.add(cmd, "", "the new policy")
	do.oldPolicy.add(cmd, "old-", "the policy in force (default: the live ConfigMap)")
	do.live.add(cmd)
	fs := cmd.Flags()
	fs.StringVar(&do.nodes, "nodes", "", "the Nodes of this dump instead of the cluster's (- for stdin)")
	fs.StringVar(&do.pods, "pods", "", "the Pods of this dump instead of the cluster's (- for stdin)")
	outputFlag(cmd, &do.output)
	return cmd
}

func runDiff(cmd *cobra.Command, o *Options, do *diffOptions) error {
	ctx := cmd.Context()
	if err := checkOutput(do.output); err != nil {
		return err
	}
	if err := do.newPolicy.check(""); err != nil {
		return err
	}
	if err := do.oldPolicy.check("old-"); err != nil {
		return err
	}
	if do.newPolicy.live() {
		return usageError("give the new policy: --policy FILE or --builtin-policy")
	}
	if err := stdinOnce(do.nodes, do.pods, do.newPolicy.file, do.oldPolicy.file); err != nil {
		return err
	}
	newP, err := do.newPolicy.load(ctx, o, do.live)
	if err != nil {
		return err
	}
	oldP, err := do.oldPolicy.load(ctx, o, do.live)
	if err != nil {
		return err
	}
	dump, err := readNodes(ctx, o, do.nodes)
	if err != nil {
		return err
	}
	var pods []*v1.Pod
	if do.pods != "" {
		if pods, err = readDump(o, do.pods, load.Pods); err != nil {
			return err
		}
	} else {
		c, err := o.Cluster()
		if err != nil {
			return err
		}
		ns := ""
		if o.ConfigFlags.Namespace != nil && *o.ConfigFlags.Namespace != "" && !o.AllNamespaces {
			ns = *o.ConfigFlags.Namespace
		}
		if pods, err = c.Pods(ctx, ns); err != nil {
			return err
		}
	}
	nodes := dump.Nodes
	if !do.oldPolicy.live() {
		// Not the policy in force: the nodes as its labeler would label them.
		nodes = nodeselect.Labelled(oldP.Policy, nodes)
	}
	r := policydiff.Diff(oldP.Policy, newP.Policy, nodes, pods, dump.Objects)
	if err := render.Diff(o.Streams.Out, do.output, oldP.Source, newP.Source, r); err != nil {
		return err
	}
	if len(r.Stranded) > 0 {
		return errNo
	}
	return nil
}
