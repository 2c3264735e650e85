package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The policy document's identity. A document with any other apiVersion or kind is refused.
const (
	APIVersion = "policy.rktsched.io/v1alpha1"
	Kind       = "RuntimePolicy"
	// ConfigMapKey is the key of the policy document in the policy ConfigMap.
	ConfigMapKey = "policy.yaml"
	// MaxDocumentBytes bounds a policy document (a ConfigMap cannot hold more anyway).
	MaxDocumentBytes = 1 << 20
	// UnknownRuntime names nodes that no runtime entry matches.
	UnknownRuntime = "unknown"
	// UnrecognisedStage1 is the flavour of a node whose stage1 image names none the policy
	// lists: it lacks every capability some flavour lacks.
	UnrecognisedStage1 = "unrecognised"
	// DefaultWeight is the weight of a capability whose weight is not given.
	DefaultWeight = 5
)

// document is the YAML form of a policy. Scalars that validation may complain about carry
// their line, so that every error names the field and the line.
type document struct {
	APIVersion       pos[string]                   `yaml:"apiVersion"`
	Kind             pos[string]                   `yaml:"kind"`
	Capabilities     map[string]pos[capabilityDoc] `yaml:"capabilities"`
	GPUResources     []pos[string]                 `yaml:"gpuResources"`
	GPUDeviceClasses []pos[string]                 `yaml:"gpuDeviceClasses"`
	KnownHostPaths   []pos[string]                 `yaml:"knownHostPaths"`
	Handlers         []pos[handlerDoc]             `yaml:"handlers"`
	Runtimes         []pos[runtimeDoc]             `yaml:"runtimes"`
}

// handlerDoc is a runtime handler profile: what the handlers it matches lack.
type handlerDoc struct {
	Match pos[string]   `yaml:"match"`
	Lacks []pos[string] `yaml:"lacks"`
}

type capabilityDoc struct {
	Action pos[string] `yaml:"action"`
	Weight *pos[int]   `yaml:"weight"`
}

type runtimeDoc struct {
	Name          pos[string]               `yaml:"name"`
	Schemes       []pos[string]             `yaml:"schemes"`
	NodeLabels    map[string]string         `yaml:"nodeLabels"`
	Lacks         []pos[string]             `yaml:"lacks"`
	DefaultStage1 pos[string]               `yaml:"defaultStage1"`
	Stage1        map[string]pos[stage1Doc] `yaml:"stage1"`
	// DefaultHandler names the profile of the handler a pod without runtimeClassName gets.
	DefaultHandler pos[string] `yaml:"defaultHandler"`
	// Handlers are profiles matched before the document's own.
	Handlers []pos[handlerDoc] `yaml:"handlers"`
	// MinVersions: capability -> the runtime version it needs at least ("2.1").
	MinVersions map[string]pos[string] `yaml:"minVersions"`
	// UnreportedFeatures says what a feature the node does not report means: lacking (the
	// default) or present.
	UnreportedFeatures pos[string] `yaml:"unreportedFeatures"`
}

type stage1Doc struct {
	Lacks []pos[string] `yaml:"lacks"`
}

// pos is a decoded value and the line it was found on.
type pos[T any] struct {
	V    T
	Line int
}

func (p *pos[T]) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	// Node.Decode does not inherit the decoder's KnownFields: check mapping keys here.
	if err := checkKnownFields(n, reflect.TypeFor[T]()); err != nil {
		return err
	}
	return n.Decode(&p.V)
}

// checkKnownFields refuses keys of a mapping node that the struct t has no field for.
func checkKnownFields(n *yaml.Node, t reflect.Type) error {
	if n.Kind != yaml.MappingNode || t.Kind() != reflect.Struct {
		return nil
	}
	known := map[string]bool{}
	for i := range t.NumField() {
		known[strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]] = true
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !known[k.Value] {
			return fmt.Errorf("line %d: unknown field %q", k.Line, k.Value)
		}
	}
	return nil
}

// Parse reads and validates a policy document. Every error names the field and the line.
func Parse(data []byte) (*Policy, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("policy document is empty")
	}
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("policy document is %d bytes, more than the %d allowed", len(data), MaxDocumentBytes)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("policy document: %s", cleanYAMLError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("policy document: only one YAML document is allowed")
	}
	return compile(&doc, data)
}

var unknownFieldRE = regexp.MustCompile(`field (\S+) not found in type \S+`)

// cleanYAMLError drops the decoder's Go type names from its messages.
func cleanYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.ReplaceAll(msg, "unmarshal errors:\n  ", "")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	return unknownFieldRE.ReplaceAllString(msg, `unknown field "$1"`)
}

// fieldError is a validation error at a line of the document.
func fieldError(line int, field, format string, args ...any) error {
	return fmt.Errorf("policy document line %d: %s: %s", line, field, fmt.Sprintf(format, args...))
}

func knownNames() string {
	names := make([]string, len(AllCapabilities))
	for i, c := range AllCapabilities {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

func compile(doc *document, src []byte) (*Policy, error) {
	if doc.APIVersion.V != APIVersion {
		return nil, fieldError(doc.APIVersion.Line, "apiVersion", "must be %q, not %q", APIVersion, doc.APIVersion.V)
	}
	if doc.Kind.V != Kind {
		return nil, fieldError(doc.Kind.Line, "kind", "must be %q, not %q", Kind, doc.Kind.V)
	}
	p := &Policy{knownHostPaths: map[string]bool{}, digest: digestOf(src), byKey: map[string]*Class{}, lines: newLineIndex()}
	p.classes.Store(&[]*Class{})
	if len(doc.Capabilities) == 0 {
		return nil, fieldError(1, "capabilities", "must list at least one capability")
	}
	// In document order: of several errors, the first in the document is reported, every time.
	for _, name := range keysByLine(doc.Capabilities) {
		c := doc.Capabilities[name]
		field := "capabilities." + name
		cp := Capability(name)
		if !Known(cp) {
			return nil, fieldError(c.Line, field, "unknown capability %q (known: %s)", name, knownNames())
		}
		i := capabilityIndex[cp]
		switch a := Action(c.V.Action.V); a {
		case ActionFilter, ActionScore, ActionIgnore:
			p.actions[i] = a
		case "":
			return nil, fieldError(c.Line, field+".action", "is required (filter, score or ignore)")
		default:
			return nil, fieldError(c.V.Action.Line, field+".action", "must be filter, score or ignore, not %q", a)
		}
		p.weights[i] = DefaultWeight
		if w := c.V.Weight; w != nil {
			if w.V < 0 || w.V > MaxScore {
				return nil, fieldError(w.Line, field+".weight", "must be between 0 and %d, not %d", MaxScore, w.V)
			}
			p.weights[i] = w.V
		}
		p.inForce.add(cp)
		p.lines.action[cp] = c.Line
	}
	for i, r := range doc.GPUResources {
		field := fmt.Sprintf("gpuResources[%d]", i)
		if err := checkGlob(r.V, validation.IsQualifiedName); err != "" {
			return nil, fieldError(r.Line, field, "%q is not a resource name or a pattern of them: %s", r.V, err)
		}
		p.gpuResources = append(p.gpuResources, r.V)
	}
	for i, r := range doc.GPUDeviceClasses {
		field := fmt.Sprintf("gpuDeviceClasses[%d]", i)
		if err := checkGlob(r.V, validation.IsDNS1123Subdomain); err != "" {
			return nil, fieldError(r.Line, field, "%q is not a DeviceClass name or a pattern of them: %s", r.V, err)
		}
		p.gpuDeviceClasses = append(p.gpuDeviceClasses, r.V)
	}
	var err error
	if p.handlers, err = compileHandlers(p, "handlers", doc.Handlers); err != nil {
		return nil, err
	}
	for i, hp := range doc.KnownHostPaths {
		if !path.IsAbs(hp.V) {
			return nil, fieldError(hp.Line, fmt.Sprintf("knownHostPaths[%d]", i), "%q is not an absolute path", hp.V)
		}
		p.knownHostPaths[path.Clean(hp.V)] = true
	}
	seen := map[string]bool{}
	for i, r := range doc.Runtimes {
		rt, err := compileRuntime(p, fmt.Sprintf("runtimes[%d]", i), r)
		if err != nil {
			return nil, err
		}
		if seen[rt.name] {
			return nil, fieldError(r.V.Name.Line, fmt.Sprintf("runtimes[%d].name", i), "runtime %q is listed twice", rt.name)
		}
		seen[rt.name] = true
		if rt.name == UnknownRuntime {
			p.unknown = rt
		} else {
			p.runtimes = append(p.runtimes, rt)
		}
	}
	if p.unknown == nil {
		// Nothing said about unknown runtimes: they are assumed to have every capability.
		p.unknown = &runtime{name: UnknownRuntime}
	}
	// The document's classes first, in its order: each runtime and flavour as a node that
	// reports nothing, so that Classes() lists them whatever nodes were met.
	for _, rt := range append(p.runtimes[:len(p.runtimes):len(p.runtimes)], p.unknown) {
		if rt.stage1 == nil {
			p.class(rt, "", "", "", NotReported)
		}
		for _, f := range rt.flavours {
			p.class(rt, f, "", "", NotReported)
		}
	}
	p.documentClasses = len(p.Classes())
	p.warnings = warnings(doc)
	return p, nil
}

// KnownSchemes are the schemes kubelets report in status.nodeInfo.containerRuntimeVersion
// for the runtimes rktsched knows of; a scheme outside them is likely a typo.
var KnownSchemes = []string{"docker", "containerd", "cri-o", "rkt", "remote", "frakti"}

// warnings are what a valid document probably does not mean: schemes no kubelet reports
// (a typo like "rtk" sends every rkt node to unknown), or no runtime entry at all.
func warnings(doc *document) []string {
	var out []string
	named := 0
	for i, r := range doc.Runtimes {
		if r.V.Name.V != UnknownRuntime {
			named++
		}
		for j, sc := range r.V.Schemes {
			if !slices.Contains(KnownSchemes, sc.V) {
				out = append(out, fmt.Sprintf("line %d: runtimes[%d].schemes[%d]: %q is no scheme a kubelet reports (%s): its nodes fall to %q",
					sc.Line, i, j, sc.V, strings.Join(KnownSchemes, ", "), UnknownRuntime))
			}
		}
	}
	if named == 0 {
		out = append(out, fmt.Sprintf("no runtimes listed: every node is %q", UnknownRuntime))
	}
	return out
}

// checkGlob reports what is wrong with a path.Match pattern of names that valid checks, ""
// if nothing: a malformed pattern, or a literal name valid refuses. A pattern's meta
// characters are checked by replacing them with a letter.
func checkGlob(pattern string, valid func(string) []string) string {
	if _, err := path.Match(pattern, ""); err != nil {
		return err.Error()
	}
	if pattern == "" {
		return "empty"
	}
	literal := strings.NewReplacer("*", "x", "?", "x").Replace(pattern)
	if strings.ContainsAny(literal, "[]\\") {
		return "only * and ? are allowed as pattern characters"
	}
	return strings.Join(valid(literal), "; ")
}

func compileHandlers(p *Policy, field string, docs []pos[handlerDoc]) ([]handlerProfile, error) {
	var out []handlerProfile
	for i, h := range docs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if h.V.Match.V == "" {
			return nil, fieldError(h.Line, f+".match", "is required: a handler name or a pattern (kata*)")
		}
		if err := checkGlob(h.V.Match.V, validation.IsDNS1123Label); err != "" {
			return nil, fieldError(h.V.Match.Line, f+".match", "%q is not a handler name or a pattern of them: %s", h.V.Match.V, err)
		}
		lacks, err := lackSet(f+".lacks", h.V.Lacks)
		if err != nil {
			return nil, err
		}
		p.lines.addLacks("handler "+h.V.Match.V, f+".lacks", h.V.Lacks)
		out = append(out, handlerProfile{match: h.V.Match.V, lacks: lacks})
	}
	return out, nil
}

func compileRuntime(p *Policy, field string, r pos[runtimeDoc]) (*runtime, error) {
	d := r.V
	name := d.Name.V
	if name == "" {
		return nil, fieldError(r.Line, field+".name", "is required")
	}
	if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
		return nil, fieldError(d.Name.Line, field+".name", "%q is not a valid label value: %s", name, strings.Join(errs, "; "))
	}
	for _, k := range sortedKeys(d.NodeLabels) {
		if OwnedLabel(k) {
			// Our own labels follow from the classification: they cannot also decide it.
			return nil, fieldError(d.Name.Line, field+".nodeLabels", "%q is a label rktsched writes; match on other labels", k)
		}
	}
	rt := &runtime{name: name, nodeLabels: d.NodeLabels, defaultHandler: d.DefaultHandler.V}
	for _, s := range d.Schemes {
		rt.schemes = append(rt.schemes, s.V)
	}
	if name == UnknownRuntime {
		if len(rt.schemes) > 0 || len(rt.nodeLabels) > 0 {
			return nil, fieldError(d.Name.Line, field, "runtime %q applies to nodes no other runtime matches: it takes no schemes or nodeLabels", UnknownRuntime)
		}
	} else if len(rt.schemes) == 0 && len(rt.nodeLabels) == 0 {
		return nil, fieldError(d.Name.Line, field, "runtime %q matches no node: give schemes, nodeLabels or both", name)
	}
	if h := d.DefaultHandler; h.V != "" {
		if errs := validation.IsDNS1123Label(h.V); len(errs) > 0 {
			return nil, fieldError(h.Line, field+".defaultHandler", "%q is not a handler name: %s", h.V, strings.Join(errs, "; "))
		}
	}
	switch u := d.UnreportedFeatures; u.V {
	case "", "lacking":
	case "present":
		rt.unreportedHas = true
	default:
		return nil, fieldError(u.Line, field+".unreportedFeatures", "must be lacking or present, not %q", u.V)
	}
	var err error
	if rt.handlers, err = compileHandlers(p, field+".handlers", d.Handlers); err != nil {
		return nil, err
	}
	for _, c := range keysByLine(d.MinVersions) {
		mv := d.MinVersions[c]
		f := field + ".minVersions." + c
		if !Known(Capability(c)) {
			return nil, fieldError(mv.Line, f, "unknown capability %q (known: %s)", c, knownNames())
		}
		at, ok := parseVersion(mv.V)
		if !ok {
			return nil, fieldError(mv.Line, f, "%q is not a version (MAJOR.MINOR[.PATCH])", mv.V)
		}
		rt.minVersions = append(rt.minVersions, minVersion{capability: Capability(c), at: at, text: mv.V})
		p.lines.lacks[lineKey{"runtime " + name, Capability(c)}] = lineAt{f, mv.Line}
	}
	if rt.lacks, err = lackSet(field+".lacks", d.Lacks); err != nil {
		return nil, err
	}
	p.lines.addLacks("runtime "+name, field+".lacks", d.Lacks)
	if len(d.Stage1) == 0 {
		if d.DefaultStage1.V != "" {
			return nil, fieldError(d.DefaultStage1.Line, field+".defaultStage1", "is set but no stage1 flavours are listed")
		}
		return rt, nil
	}
	rt.stage1 = map[string]capSet{}
	for _, flavour := range keysByLine(d.Stage1) {
		s := d.Stage1[flavour]
		f := field + ".stage1." + flavour
		if errs := validation.IsValidLabelValue(flavour); len(errs) > 0 || flavour == "" {
			return nil, fieldError(s.Line, f, "%q is not a valid label value", flavour)
		}
		if flavour == UnrecognisedStage1 {
			return nil, fieldError(s.Line, f, "%q is the flavour of stage1 images no listed flavour matches; give yours another name", flavour)
		}
		more, err := lackSet(f+".lacks", s.V.Lacks)
		if err != nil {
			return nil, err
		}
		p.lines.addLacks("runtime "+name+" stage1-"+flavour, f+".lacks", s.V.Lacks)
		rt.stage1[flavour] = more
		rt.flavours = append(rt.flavours, flavour)
	}
	rt.defaultStage1 = d.DefaultStage1.V
	if rt.defaultStage1 == "" {
		rt.defaultStage1 = "coreos"
	}
	if _, ok := rt.stage1[rt.defaultStage1]; !ok {
		return nil, fieldError(d.DefaultStage1.Line, field+".defaultStage1", "%q is not one of the listed stage1 flavours", rt.defaultStage1)
	}
	return rt, nil
}

func lackSet(field string, names []pos[string]) (capSet, error) {
	var s capSet
	for i, n := range names {
		c := Capability(n.V)
		if !Known(c) {
			return 0, fieldError(n.Line, fmt.Sprintf("%s[%d]", field, i), "unknown capability %q (known: %s)", n.V, knownNames())
		}
		s.add(c)
	}
	return s, nil
}

// keysByLine returns the keys of m in document order (by line, then name).
func keysByLine[V any](m map[string]pos[V]) []string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]].Line < m[keys[j]].Line })
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
