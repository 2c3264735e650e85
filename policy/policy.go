// Package policy decides, for any pod and any node, whether the node's container runtime can
// run the pod and how well. It is pure: Kubernetes API types in, verdicts out, no API calls.
package policy

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
)

//go:embed default.yaml
var defaultDocument []byte

// DefaultDocument returns the built-in policy document (the rktnetes known-issues matrix).
func DefaultDocument() []byte { return append([]byte(nil), defaultDocument...) }

var defaultPolicy = func() *Policy {
	p, err := Parse(defaultDocument)
	if err != nil {
		panic("built-in policy is invalid: " + err.Error())
	}
	return p
}()

// Default returns the built-in policy.
func Default() *Policy { return defaultPolicy }

// Policy is a compiled, immutable policy document. It is safe for concurrent use.
type Policy struct {
	digest         string
	inForce        capSet
	actions        [32]Action
	weights        [32]int
	gpuResources   []string
	knownHostPaths map[string]bool
	runtimes       []*runtime // in match order
	unknown        *runtime
	classes        []*Class // indexed by Class.ID
}

// runtime is one entry of the document's runtimes list.
type runtime struct {
	name       string
	schemes    []string
	nodeLabels map[string]string
	class      *Class            // when the runtime has no stage1 flavours
	stage1     map[string]*Class // flavour -> class
	flavours   []string          // longest first, for matching image names
	// defaultStage1 is the class of nodes that do not say which stage1 they run.
	defaultStage1 *Class
}

// Class is what a node's verdict depends on: its runtime and, for rkt, its stage1 flavour.
// Every node of a class gets the same verdict and the same reason for a given pod.
type Class struct {
	// ID indexes the policy's classes; it is only meaningful within one Policy.
	ID      int
	Runtime string
	// Stage1 is empty for runtimes without stage1 flavours.
	Stage1 string
	// Name is how reasons name the class, e.g. "docker" or "rkt stage1-kvm".
	Name   string
	lacks  capSet
	labels map[string]string
}

func (p *Policy) newClass(runtime, stage1 string, lacks capSet) *Class {
	c := &Class{ID: len(p.classes), Runtime: runtime, Stage1: stage1, Name: runtime, lacks: lacks}
	if stage1 != "" {
		c.Name = runtime + " stage1-" + stage1
	}
	c.labels = map[string]string{LabelRuntime: runtime}
	if stage1 != "" {
		c.labels[LabelStage1] = stage1
	}
	for _, cp := range p.Capabilities() {
		c.labels[CapabilityLabel(cp)] = boolString(!lacks.has(cp))
	}
	p.classes = append(p.classes, c)
	return c
}

// Lacks reports whether nodes of this class lack capability c.
func (c *Class) Lacks(cp Capability) bool { return c.lacks.has(cp) }

// Digest identifies the document the policy was compiled from.
func (p *Policy) Digest() string { return p.digest }

// Capabilities lists the capabilities in force (not left out of the document), in order.
func (p *Policy) Capabilities() []Capability { return p.inForce.list() }

// Action returns what the policy does about capability c; ActionIgnore if c is not in force.
func (p *Policy) Action(c Capability) Action {
	if !p.inForce.has(c) {
		return ActionIgnore
	}
	return p.actions[capabilityIndex[c]]
}

// Weight returns the score a node loses for lacking c when the pod needs it softly.
// It is 0 for a capability that is not in force (or not Known).
func (p *Policy) Weight(c Capability) int {
	if !p.inForce.has(c) {
		return 0
	}
	return p.weights[capabilityIndex[c]]
}

// Classes lists every class of node the policy knows, indexed by Class.ID.
func (p *Policy) Classes() []*Class { return p.classes }

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// SplitRuntimeVersion splits status.nodeInfo.containerRuntimeVersion ("rkt://1.29.0") into its
// scheme and version. A value without "://" has no scheme.
func SplitRuntimeVersion(s string) (scheme, version string) {
	scheme, version, ok := strings.Cut(s, "://")
	if !ok {
		return "", ""
	}
	return scheme, version
}
