package cli

import (
	"github.com/spf13/cobra"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/nodeselect"
	"github.com/rktsched/rktsched/internal/cli/render"
	"github.com/rktsched/rktsched/policy"
)

type explainOptions struct {
	files    []string
	nodes    string
	perClass bool
	policy   policyFlags
	live     liveConfigMap
	output   string
}

func newExplainCommand(o *Options) *cobra.Command {
	var eo explainOptions
	cmd := &cobra.Command{
		Use:   "explain (-f FILE | TYPE/NAME ... | TYPE [NAME ...])",
		Short: "What a pod needs and which nodes can run it",
		Long: `explain judges a pod, or the pod template of a Deployment, StatefulSet, DaemonSet,
ReplicaSet, ReplicationController, Job or CronJob, as rktsched's extender does.

The pod: -f FILE (YAML or JSON, several documents or a List give several answers; - is
stdin), or TYPE/NAME from the cluster (TYPE alone: every one in the namespace, for pods the
Pending ones; -A for every namespace).
The nodes: --nodes FILE (kubectl get nodes -o yaml), else the cluster's when anything else
comes from the cluster, else one row per node class of the policy (or --per-class). On nodes,
only those the pod's nodeSelector and required node affinity select count, as kube-scheduler
asks rktsched about no other; per class they are not applied. With --policy or
--builtin-policy they are matched against the labels that policy makes.
The policy: --policy FILE, --builtin-policy, else the live ConfigMap.

Exit code 0 when every pod fits somewhere, 1 when one fits nowhere.`,
		Example: `  kubectl rktsched explain pod/web-0
  kubectl rktsched explain -f deploy.yaml --builtin-policy
  kubectl rktsched explain -f pod.yaml --nodes nodes.yaml --policy policy.yaml -o json`,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return runExplain(cmd, o, &eo, args) }),
	}
	fs := cmd.Flags()
	fs.StringArrayVarP(&eo.files, "filename", "f", nil, "pods or workloads to judge (- for stdin); repeatable")
	fs.StringVar(&eo.nodes, "nodes", "", "judge on the Nodes of this dump (kubectl get nodes -o yaml; - for stdin)")
	fs.BoolVar(&eo.perClass, "per-class", false, "judge per node class of the policy, not on nodes")
	eo.policy.add(cmd, "", "the policy")
	eo.live.add(cmd)
	outputFlag(cmd, &eo.output)
	return cmd
}

func runExplain(cmd *cobra.Command, o *Options, eo *explainOptions, args []string) error {
	ctx := cmd.Context()
	if err := checkOutput(eo.output); err != nil {
		return err
	}
	if err := eo.policy.check(""); err != nil {
		return err
	}
	if (len(eo.files) > 0) == (len(args) > 0) {
		return usageError("give either -f FILE or TYPE/NAME arguments")
	}
	if eo.perClass && eo.nodes != "" {
		return usageError("--per-class and --nodes exclude each other")
	}
	if err := stdinOnce(append(append([]string{}, eo.files...), eo.nodes, eo.policy.file)...); err != nil {
		return err
	}
	refs, err := load.ParseRefs(args)
	if err != nil {
		return usageError("%v", err)
	}
	var subjects []*load.Subject
	for _, f := range eo.files {
		data, err := readInput(o, f)
		if err != nil {
			return err
		}
		name := f
		if f == "-" {
			name = "stdin"
		}
		s, warnings, err := load.Subjects(data, name, o.Namespace())
		if err != nil {
			return err
		}
		warn(o, warnings)
		subjects = append(subjects, s...)
	}
	if len(refs) > 0 {
		c, err := o.Cluster()
		if err != nil {
			return err
		}
		s, err := c.Subjects(ctx, refs, o.Namespace())
		if err != nil {
			return err
		}
		if len(s) == 0 {
			return &exitError{code: ExitError, err: errNothing}
		}
		subjects = append(subjects, s...)
	}
	p, err := eo.policy.load(ctx, o, eo.live)
	if err != nil {
		return err
	}
	dump := &load.Dump{Objects: policy.NewObjectSet()} // per class: no nodes, no objects
	if eo.nodes != "" || !eo.perClass && (len(refs) > 0 || eo.policy.live()) {
		if dump, err = readNodes(ctx, o, eo.nodes); err != nil {
			return err
		}
	}
	if dump.Nodes != nil && !eo.policy.live() {
		// Not the policy in force: selectors match the labels this one would make.
		dump.Nodes = nodeselect.Labelled(p.Policy, dump.Nodes)
	}
	in := explain.Input{Policy: p.Policy, Document: p.Document, Nodes: dump.Nodes, Objects: dump.Objects}
	var classified *explain.Classified
	if dump.Nodes != nil {
		classified = explain.GroupByClass(p.Policy, dump.Nodes)
	}
	answers := make([]*explain.Explanation, len(subjects))
	fitsAll := true
	for i, s := range subjects {
		answers[i] = explain.ExplainClassified(s.Pod, s.Ref(), s.Kind, in, classified)
		fitsAll = fitsAll && answers[i].Fits
	}
	if err := render.Explanations(o.Streams.Out, eo.output, p.Source, answers); err != nil {
		return err
	}
	if !fitsAll {
		return errNo
	}
	return nil
}
