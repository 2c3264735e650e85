package e2e

import (
	"fmt"
	"strings"

	"github.com/rktsched/rktsched/policy"
)

// stdoutLogsLacks is the end of the rkt stage1-coreos lacks list of the default policy (the
// kvm entry follows it, which makes it unique).
const stdoutLogsLacks = "restart-backoff, stdout-logs,\n              image-update-in-place, image-pull-cache]\n    kvm:"

// StdoutLogsPolicy is the default policy document with rkt stage1-coreos able to log to
// /dev/stdout. No test pod needs stdout-logs, so Expectations hold under it as under the
// default, while a pod that opts in tells which of the two policies is in force.
func StdoutLogsPolicy(def []byte) ([]byte, error) {
	return replaceOnce(def, stdoutLogsLacks, strings.Replace(stdoutLogsLacks, " stdout-logs,", "", 1))
}

// BadPolicy is a broken policy document for the ConfigMap.
type BadPolicy struct {
	Name string
	// Doc is the document; nil leaves the key out of the ConfigMap.
	Doc []byte
	// WantInMessage is part of the reason each binary gives: the field and what is wrong.
	WantInMessage string
	// TooLargeForAPI: the API server itself refuses the ConfigMap, so neither binary sees it.
	TooLargeForAPI bool
}

// BadPolicies breaks good (StdoutLogsPolicy) in as many ways as the e2e test tries. Each
// binary's recorder lets 25 Warning Events about one object through, then one per 5 minutes:
// keep the rows that reach the binaries (all but TooLargeForAPI) under that.
func BadPolicies(good []byte) ([]BadPolicy, error) {
	const (
		gpu     = "  gpu:                   {action: filter, weight: 5}\n"
		subpath = "  subpath-create:        {action: filter, weight: 3}\n"
		docker  = "- name: docker\n  schemes: [docker]\n"
		rkt     = "- name: rkt\n  schemes: [rkt]\n"
		unknown = "- name: unknown\n"
		coreos  = "    coreos:\n      lacks: [attach,"
	)
	header := "apiVersion: " + policy.APIVersion + "\nkind: " + policy.Kind + "\n"
	type edit struct{ old, new string }
	rows := []struct {
		name  string
		edits []edit
		doc   []byte
		want  string
	}{
		{name: "YAML syntax error", edits: []edit{{gpu, strings.TrimSuffix(gpu, "}\n") + "\n"}},
			want: "line 12: did not find expected ',' or '}'"},
		{name: "unknown capability in stage1 lacks", edits: []edit{{coreos, strings.Replace(coreos, "attach", "atach", 1)}},
			want: `runtimes[3].stage1.coreos.lacks[0]: unknown capability "atach"`},
		{name: "unknown capability", edits: []edit{{gpu, strings.Replace(gpu, "gpu:", "gpuu:", 1)}},
			want: `capabilities.gpuu: unknown capability "gpuu"`},
		{name: "bad action", edits: []edit{{gpu, strings.Replace(gpu, "filter", "block", 1)}},
			want: `capabilities.gpu.action: must be filter, score or ignore, not "block"`},
		{name: "negative weight", edits: []edit{{subpath, strings.Replace(subpath, "weight: 3", "weight: -3", 1)}},
			want: "capabilities.subpath-create.weight: must be between 0 and 10, not -3"},
		{name: "wrong apiVersion", edits: []edit{{policy.APIVersion, "policy.rktsched.io/v1"}},
			want: `apiVersion: must be "policy.rktsched.io/v1alpha1", not "policy.rktsched.io/v1"`},
		{name: "wrong kind", edits: []edit{{"kind: " + policy.Kind, "kind: ConfigMap"}},
			want: `kind: must be "RuntimePolicy", not "ConfigMap"`},
		{name: "empty document", doc: []byte{}, want: "policy document is empty"},
		{name: "key missing", want: fmt.Sprintf("key %q is missing", policy.ConfigMapKey)},
		{name: "unknown field", edits: []edit{{rkt, strings.Replace(rkt, "schemes:", "scheme:", 1)}},
			want: `unknown field "scheme"`},
		{name: "duplicate key", edits: []edit{{gpu, gpu + gpu}},
			want: `line 14: mapping key "gpu" already defined at line 13`},
		{name: "owned label in nodeLabels", edits: []edit{{docker, docker + "  nodeLabels: {rktsched.io/runtime: docker}\n"}},
			want: `runtimes[0].nodeLabels: "rktsched.io/runtime" is a label rktsched writes`},
		{name: "unknown runtime given schemes", edits: []edit{{unknown, unknown + "  schemes: [gvisor]\n"}},
			want: `runtimes[4]: runtime "unknown" applies to nodes no other runtime matches`},
		{name: "runtime matching no node", edits: []edit{{unknown, "- name: kata\n" + unknown}},
			want: `runtimes[4]: runtime "kata" matches no node`},
		{name: "two documents", doc: []byte(string(good) + "---\n" + header),
			want: "only one YAML document is allowed"},
		{name: "no capabilities", doc: []byte(header + "runtimes:\n" + docker),
			want: "capabilities: must list at least one capability"},
	}
	var out []BadPolicy
	for _, r := range rows {
		doc := r.doc
		if r.edits != nil {
			doc = good
			for _, e := range r.edits {
				var err error
				if doc, err = replaceOnce(doc, e.old, e.new); err != nil {
					return nil, fmt.Errorf("%s: %w", r.name, err)
				}
			}
		}
		out = append(out, BadPolicy{Name: r.name, Doc: doc, WantInMessage: r.want})
	}
	// The largest document the API server takes (ConfigMap data is limited to 1 MiB, which
	// is also policy.MaxDocumentBytes), broken on its last line; and one byte more.
	const tail = "bogus: true\n"
	huge := padded(good, policy.MaxDocumentBytes-len(tail))
	out = append(out,
		BadPolicy{Name: "largest document, broken at the end", Doc: append(huge, tail...), WantInMessage: `unknown field "bogus"`},
		BadPolicy{Name: "larger than a ConfigMap holds", Doc: padded(good, policy.MaxDocumentBytes+1), TooLargeForAPI: true})
	return out, nil
}

// replaceOnce replaces old, which must occur exactly once, with new, which must differ from it
// (the edits are made with strings.Replace on snippets: one that replaced nothing fails here).
func replaceOnce(doc []byte, old, new string) ([]byte, error) {
	if old == new {
		return nil, fmt.Errorf("the edit of %q changes nothing", old)
	}
	if n := strings.Count(string(doc), old); n != 1 {
		return nil, fmt.Errorf("the policy has %q %d times, want once", old, n)
	}
	return []byte(strings.Replace(string(doc), old, new, 1)), nil
}

// padded returns doc followed by comment lines, size bytes in all.
func padded(doc []byte, size int) []byte {
	out := append([]byte(nil), doc...)
	for len(out) < size {
		line := "# " + strings.Repeat("x", min(1000, size-len(out)-3)) + "\n"
		out = append(out, line[:min(len(line), size-len(out))]...)
	}
	return out
}
