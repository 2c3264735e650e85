// Package policy decides, for any pod and any node, whether the node's container runtime can
// run the pod and how well. It is pure: Kubernetes API types in, verdicts out, no API calls.
package policy

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
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
//
// Its classes of node grow as nodes are classified (a class is the runtime, its flavour and
// what the node reports), up to maxClasses; the document's meaning never changes.
type Policy struct {
	digest           string
	inForce          capSet
	actions          [32]Action
	weights          [32]int
	gpuResources     []string // path.Match patterns
	gpuDeviceClasses []string // path.Match patterns
	knownHostPaths   map[string]bool
	handlers         []handlerProfile // the document's, after every runtime's own
	runtimes         []*runtime       // in match order
	unknown          *runtime
	lines            *lineIndex

	documentClasses int // the first classes: those of the document itself
	warnings        []string

	classMu sync.Mutex
	byKey   map[string]*Class
	classes atomic.Pointer[[]*Class] // indexed by Class.ID; appended under classMu
}

// maxClasses bounds the classes one policy interns: a real cluster has a few per node pool,
// while callers that send made-up nodes (full-Node extender requests) could make a class of
// every node. Past the bound, classes are made for one use and judged afresh each time.
const maxClasses = 4096

// runtime is one entry of the document's runtimes list.
type runtime struct {
	name       string
	schemes    []string
	nodeLabels map[string]string
	lacks      capSet
	stage1     map[string]capSet // flavour -> what it lacks beyond lacks
	flavours   []string          // in document order
	// defaultStage1 is the flavour of nodes that do not say which stage1 they run.
	defaultStage1 string
	// defaultHandler names the profile of the handler pods without a runtimeClassName get.
	defaultHandler string
	handlers       []handlerProfile
	minVersions    []minVersion
	// unreportedHas: a feature the node does not report is had, not lacking.
	unreportedHas bool
}

// Class is what a node's verdict depends on: its runtime, its flavour (the stage1 for rkt),
// and what it reports: its runtime handlers with their features, node features, and the
// runtime version where a capability names a minimum. Every node of a class gets the same
// verdict and the same reason for a given pod.
type Class struct {
	// ID indexes the policy's classes; it is only meaningful within one Policy. It is -1 for
	// a class made past maxClasses.
	ID      int
	Runtime string
	// Stage1 is empty for runtimes without stage1 flavours.
	Stage1 string
	// Name is how reasons name the class's runtime, e.g. "docker" or "rkt stage1-kvm".
	Name string
	// Version is the runtime version (after "scheme://") when some capability of the runtime
	// names a minimum version, else empty.
	Version string
	// Handlers lists the runtime handlers the node reports by name, without the default
	// entry ""; nil when it reports none (then no pod is refused for presence).
	Handlers []string
	// SupplementalGroupsPolicy is the node's status.features.supplementalGroupsPolicy.
	SupplementalGroupsPolicy Report

	rt       *runtime
	lacks    capSet // the runtime's and the flavour's gaps
	tooOld   capSet // capabilities whose minimum version the runtime version is below
	report   handlerReport
	handlers string // NodeInputs.Handlers
	// defaultLacks is everything the class lacks for a pod of the default handler.
	defaultLacks capSet
	labels       map[string]string
}

// Handler says whether the class's nodes offer the named handler, and its features.
func (c *Class) offers(handler string) bool {
	_, ok := c.report[handler]
	return ok && handler != ""
}

// Lacks reports whether nodes of this class lack capability c for a pod of the runtime's
// default handler (what their capability labels say).
func (c *Class) Lacks(cp Capability) bool { return c.defaultLacks.has(cp) }

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

// Warnings are what the valid document probably does not mean, each with its line:
// schemes no kubelet reports, no runtime entry. kubectl rktsched validate prints them.
func (p *Policy) Warnings() []string { return p.warnings }

// DocumentClasses lists the classes of the document itself, in its order: each runtime and
// flavour as a node that reports nothing. Unlike Classes, it does not grow as nodes are met.
func (p *Policy) DocumentClasses() []*Class { return p.Classes()[:p.documentClasses] }

// Classes lists every class of node the policy has met so far, indexed by Class.ID: those of
// the document (each runtime and flavour, as a node that reports nothing) and those of the
// nodes classified since.
func (p *Policy) Classes() []*Class { return *p.classes.Load() }

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
