// Package render writes kubectl rktsched's answers as tables (-o table, -o wide) or as
// their JSON and YAML forms (-o json, -o yaml).
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/internal/cli/explain"
	"github.com/rktsched/rktsched/internal/cli/policydiff"
	"github.com/rktsched/rktsched/policy"
)

// Formats are the values of -o.
var Formats = []string{"table", "wide", "json", "yaml"}

// ValidFormat reports whether f is one of Formats.
func ValidFormat(f string) bool {
	for _, x := range Formats {
		if f == x {
			return true
		}
	}
	return false
}

// Structured writes v as JSON (indented, one value per answer) or YAML (--- between
// answers).
func Structured(w io.Writer, format string, values []any) error {
	for i, v := range values {
		switch format {
		case "json":
			b, err := json.MarshalIndent(v, "", "  ")
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
				return err
			}
		case "yaml":
			b, err := yaml.Marshal(v)
			if err != nil {
				return err
			}
			if i > 0 {
				if _, err := io.WriteString(w, "---\n"); err != nil {
					return err
				}
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown structured format %q", format)
		}
	}
	return nil
}

// Explanations writes the answers in format.
func Explanations(w io.Writer, format, policySource string, es []*explain.Explanation) error {
	if format == "json" || format == "yaml" {
		values := make([]any, len(es))
		for i, e := range es {
			values[i] = e
		}
		return Structured(w, format, values)
	}
	for i, e := range es {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := explanationTable(w, format == "wide", policySource, e); err != nil {
			return err
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func explanationTable(w io.Writer, wide bool, policySource string, e *explain.Explanation) error {
	fmt.Fprintf(w, "%s %s   policy %s (%s)\n", e.Kind, e.Pod, e.PolicyDigest, policySource)
	selective := e.NodeSelection != ""
	selected, total := e.Selected()
	fit, notSelected := 0, 0
	var fitting []string
	for _, c := range e.Classes {
		notSelected += len(c.NotSelected)
		if c.Fits && e.Considered(&c) {
			fit += len(c.Nodes)
			fitting = append(fitting, c.Name)
		}
	}
	switch {
	case e.PerClass && e.Fits:
		fmt.Fprintf(w, "fits: yes, on nodes of class %s (judged per class: no nodes given)\n", strings.Join(fitting, ", "))
	case e.PerClass:
		fmt.Fprintf(w, "fits: no class of the policy (judged per class: no nodes given)\n")
	case e.Fits && selective:
		fmt.Fprintf(w, "fits: yes, on %d of the %d selected nodes (%s)\n", fit, selected, strings.Join(fitting, ", "))
	case e.Fits:
		fmt.Fprintf(w, "fits: yes, on %d of %d nodes (%s)\n", fit, total, strings.Join(fitting, ", "))
	case selective && selected == 0 && total > 0:
		fmt.Fprintf(w, "fits: no node: the pod's nodeSelector/affinity selects none of the %d (rktsched is never asked)\n", total)
	case selective:
		fmt.Fprintf(w, "fits: no node of the %d selected\n", selected)
	default:
		fmt.Fprintf(w, "fits: no node of the %d\n", total)
	}
	switch {
	case selective && e.PerClass:
		fmt.Fprintf(w, "nodeSelector/affinity: not applied, judged per class (classes have no labels): %s\n", e.NodeSelection)
	case selective && notSelected > 0 && selected > 0:
		fmt.Fprintf(w, "nodeSelector/affinity: %d of %d nodes selected (%s); kube-scheduler does not ask rktsched about the other %d\n",
			selected, total, e.NodeSelection, notSelected)
	case selective:
		fmt.Fprintf(w, "nodeSelector/affinity: %d of %d nodes selected (%s)\n", selected, total, e.NodeSelection)
	}
	if e.RuntimeClass != "" {
		handler := e.Handler
		if handler == "" {
			handler = "none"
		}
		fmt.Fprintf(w, "runtime handler: %s (RuntimeClass %s)\n", handler, e.RuntimeClass)
	}
	for _, m := range e.MissingObjects {
		fmt.Fprintf(w, "missing: %s: every node refuses the pod\n", m)
	}
	handlers := false // some class reports runtime handlers: show them
	for _, c := range e.Classes {
		handlers = handlers || c.Handlers != nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "CLASS\tRUNTIME\tSTAGE1\tNODES"
	if notSelected > 0 {
		head += "\tNOT SELECTED"
	}
	if handlers {
		head += "\tHANDLERS"
	}
	head += "\tFITS\tSCORE\tMISSING\tDEGRADED"
	if wide {
		head += "\tNODE NAMES"
	}
	fmt.Fprintln(tw, head)
	for _, c := range e.Classes {
		count := "-"
		if !e.PerClass {
			count = fmt.Sprint(len(c.Nodes))
		}
		if notSelected > 0 {
			count += fmt.Sprintf("\t%d", len(c.NotSelected))
		}
		if handlers {
			count += "\t" + orDash(strings.Join(c.Handlers, ","))
		}
		class := c.Class
		if c.Version != "" {
			class += " " + c.Version
		}
		if handlers {
			class = c.Name
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s", class, c.Runtime, orDash(c.Stage1), count,
			yesNo(c.Fits), c.Score, orDash(strings.Join(c.Missing, ", ")), orDash(strings.Join(c.Degraded, ", ")))
		if wide {
			row += "\t" + orDash(strings.Join(c.Nodes, ","))
			if len(c.NotSelected) > 0 {
				row += " (not selected: " + strings.Join(c.NotSelected, ",") + ")"
			}
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(e.Needs) == 0 && len(e.UnknownNeeds) == 0 {
		fmt.Fprintln(w, "needs: nothing any runtime could lack")
	} else {
		fmt.Fprintln(w, "NEEDS")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, n := range e.Needs {
			name := n.Capability
			switch {
			case n.Action == "ignore":
				name += " (ignored by the policy)"
			case n.Soft:
				name += " (soft)"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, n.Why)
		}
		for _, u := range e.UnknownNeeds {
			fmt.Fprintf(tw, "  %s (unknown)\tmetadata.annotations[%s]\n", u, policy.AnnotationNeeds)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	// The extender's reasons, as kube-scheduler's FailedScheduling event counts them.
	var reasons []string
	classesOf := map[string][]string{}
	for _, c := range e.Classes {
		if c.Reason == "" || !e.Considered(&c) {
			continue
		}
		if _, ok := classesOf[c.Reason]; !ok {
			reasons = append(reasons, c.Reason)
		}
		classesOf[c.Reason] = append(classesOf[c.Reason], c.Name)
	}
	for _, r := range reasons {
		fmt.Fprintf(w, "reason (%s): %s\n", strings.Join(classesOf[r], ", "), r)
	}
	for _, f := range e.Fixes {
		fmt.Fprintf(w, "fix: %s\n", f)
	}
	return nil
}

// Validation is the answer of kubectl rktsched validate. Its JSON form is -o json.
type Validation struct {
	Source string `json:"source"`
	Valid  bool   `json:"valid"`
	Digest string `json:"digest,omitempty"`
	// Capabilities in force and node classes of a valid policy.
	Capabilities []string `json:"capabilities,omitempty"`
	Classes      []string `json:"classes,omitempty"`
	// Warnings are what a valid policy probably does not mean (policy.Policy.Warnings).
	Warnings []string `json:"warnings,omitempty"`
	// Error is policy.Parse's message, with the field and the line.
	Error string `json:"error,omitempty"`
}

// Validate writes v in format.
func Validate(w io.Writer, format string, v *Validation) error {
	if format == "json" || format == "yaml" {
		return Structured(w, format, []any{v})
	}
	if !v.Valid {
		_, err := fmt.Fprintf(w, "%s: invalid: %s\n", v.Source, v.Error)
		return err
	}
	fmt.Fprintf(w, "%s: valid, policy %s\n", v.Source, v.Digest)
	fmt.Fprintf(w, "  capabilities (%d): %s\n", len(v.Capabilities), strings.Join(v.Capabilities, ", "))
	_, err := fmt.Fprintf(w, "  node classes (%d): %s\n", len(v.Classes), strings.Join(v.Classes, ", "))
	for _, warning := range v.Warnings {
		_, err = fmt.Fprintf(w, "  warning: %s\n", warning)
	}
	return err
}

// Diff writes a policy preview in format.
func Diff(w io.Writer, format, oldSource, newSource string, r *policydiff.Result) error {
	if format == "json" || format == "yaml" {
		return Structured(w, format, []any{r})
	}
	wide := format == "wide"
	fmt.Fprintf(w, "policy %s (%s) -> %s (%s), %d nodes, %d pods\n\n", r.OldDigest, oldSource, r.NewDigest, newSource, r.Nodes, r.Pods)
	if len(r.Labels) == 0 {
		fmt.Fprintln(w, "node labels: no change")
	} else {
		n := 0
		for _, l := range r.Labels {
			n += l.Count
		}
		fmt.Fprintf(w, "node labels that would change (%d nodes):\n", n)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		head := "  CLASS\tNODES\tCHANGES"
		if wide {
			head += "\tNODE NAMES"
		}
		fmt.Fprintln(tw, head)
		for _, l := range r.Labels {
			class := l.Class
			if l.NewClass != l.Class {
				class += " -> " + l.NewClass
			}
			changes := make([]string, len(l.Changes))
			for i, c := range l.Changes {
				changes[i] = c.String()
			}
			row := fmt.Sprintf("  %s\t%d\t%s", class, l.Count, strings.Join(changes, ", "))
			if wide {
				row += "\t" + strings.Join(l.Nodes, ",")
			}
			fmt.Fprintln(tw, row)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	pods := func(title string, l []policydiff.PodChange, withNode bool) error {
		fmt.Fprintln(w)
		if len(l) == 0 {
			fmt.Fprintf(w, "%s: none\n", title)
			return nil
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(l))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, p := range l {
			switch {
			case withNode:
				fmt.Fprintf(tw, "  %s\ton %s\t%s\n", p.Pod, p.Node, p.Reason)
			case len(p.Classes) > 0:
				fmt.Fprintf(tw, "  %s\twould fit %s\tnow: %s\n", p.Pod, strings.Join(p.Classes, ", "), p.Reason)
			default:
				fmt.Fprintf(tw, "  %s\t%s\n", p.Pod, p.Reason)
			}
		}
		return tw.Flush()
	}
	if err := pods("running pods that would no longer fit their node", r.Stranded, true); err != nil {
		return err
	}
	if err := pods("Pending pods that would become schedulable", r.Schedulable, false); err != nil {
		return err
	}
	return pods("Pending pods that would no longer fit any node", r.Unschedulable, false)
}
