package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/rktsched/rktsched/internal/cli/load"
	"github.com/rktsched/rktsched/internal/cli/render"
	"github.com/rktsched/rktsched/policy"
)

var errNothing = errors.New("nothing to explain: no such objects (pods: only Pending ones are listed)")

type validateOptions struct {
	file   string
	live   liveConfigMap
	output string
}

func newValidateCommand(o *Options) *cobra.Command {
	var vo validateOptions
	cmd := &cobra.Command{
		Use:   "validate [-f FILE]",
		Short: "Check a policy document as the binaries' ConfigMap path does",
		Long: `validate parses a policy document with policy.Parse, the parser and messages of the
ConfigMap path (each error names the field and the line). FILE is a policy document or a
ConfigMap manifest holding one under policy.yaml; - is stdin. Without -f, the live
ConfigMap is checked.

Exit code 0 when the document is valid, 1 when it is not.`,
		Example: `  kubectl rktsched validate -f policy.yaml
  kubectl get configmap -n rktsched-system rktsched-policy -o yaml | kubectl rktsched validate -f -`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return runValidate(cmd, o, &vo) }),
	}
	cmd.Flags().StringVarP(&vo.file, "filename", "f", "", "the policy document (- for stdin)")
	vo.live.add(cmd)
	outputFlag(cmd, &vo.output)
	return cmd
}

func runValidate(cmd *cobra.Command, o *Options, vo *validateOptions) error {
	if err := checkOutput(vo.output); err != nil {
		return err
	}
	var doc []byte
	var source string
	if vo.file != "" {
		data, err := readInput(o, vo.file)
		if err != nil {
			return err
		}
		name := vo.file
		if name == "-" {
			name = "stdin"
		}
		if doc, source, err = load.PolicyDocument(data, name); err != nil {
			return err
		}
	} else {
		c, err := o.Cluster()
		if err != nil {
			return err
		}
		if doc, source, err = c.PolicyConfigMap(cmd.Context(), vo.live.namespace, vo.live.name); err != nil {
			return err
		}
	}
	v := &render.Validation{Source: source}
	p, err := policy.Parse(doc)
	if err != nil {
		v.Error = err.Error()
	} else {
		v.Valid, v.Digest = true, p.Digest()
		for _, c := range p.Capabilities() {
			v.Capabilities = append(v.Capabilities, string(c))
		}
		for _, c := range p.DocumentClasses() {
			v.Classes = append(v.Classes, c.Name)
		}
		v.Warnings = p.Warnings()
	}
	if err := render.Validate(o.Streams.Out, vo.output, v); err != nil {
		return err
	}
	if !v.Valid {
		return errNo
	}
	return nil
}
