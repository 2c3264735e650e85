package policy

import "fmt"

// Capability is something a container runtime may or may not offer a pod.
type Capability string

// The capabilities the pod analysis knows how to detect, in the design's order. Reasons list
// missing capabilities in this order, so that they read the same for every node and pod.
const (
	Attach              Capability = "attach"
	PortForward         Capability = "port-forward"
	InitContainers      Capability = "init-containers"
	GPU                 Capability = "gpu"
	HostIPC             Capability = "host-ipc"
	HostPID             Capability = "host-pid"
	NamespaceIsolation  Capability = "namespace-isolation"
	HostPathCreate      Capability = "hostpath-create"
	SubPathCreate       Capability = "subpath-create"
	SELinuxPerContainer Capability = "selinux-per-container"
	OOMScoreAdj         Capability = "oom-score-adj"
	RestartBackoff      Capability = "restart-backoff"
	StdoutLogs          Capability = "stdout-logs"
	ImageUpdateInPlace  Capability = "image-update-in-place"
	ImagePullCache      Capability = "image-pull-cache"

	// Today's runtimes (design "Today's runtimes"): what a runtime handler (kata, gVisor, a
	// Wasm shim) or an old runtime version may lack.
	HostNetwork              Capability = "host-network"
	SubPath                  Capability = "subpath"
	SELinuxLabels            Capability = "selinux-labels"
	UserNamespaces           Capability = "user-namespaces"
	RecursiveReadOnly        Capability = "recursive-read-only"
	SupplementalGroupsStrict Capability = "supplemental-groups-strict"
	ImageVolumes             Capability = "image-volumes"
	RawSockets               Capability = "raw-sockets"
	RuntimeHandler           Capability = "runtime-handler"
)

// AllCapabilities lists every known capability in the design's order.
var AllCapabilities = []Capability{
	Attach, PortForward, InitContainers, GPU, HostIPC, HostPID, NamespaceIsolation,
	HostPathCreate, SubPathCreate, SELinuxPerContainer, OOMScoreAdj, RestartBackoff,
	StdoutLogs, ImageUpdateInPlace, ImagePullCache,
	HostNetwork, SubPath, SELinuxLabels, UserNamespaces, RecursiveReadOnly,
	SupplementalGroupsStrict, ImageVolumes, RawSockets, RuntimeHandler,
}

// reportedCapabilities are the capabilities a node has only when it says so: the kubelet
// reports them per runtime handler (status.runtimeHandlers[].features) or per node
// (status.features). Reported false or not reported is lacking: the features arrived with
// the runtimes that report them, and containerd 1.6 silently ignores hostUsers: false
// (design, "Features the node reports").
var reportedCapabilities = capSetOf(UserNamespaces, RecursiveReadOnly, SupplementalGroupsStrict)

func capSetOf(cs ...Capability) capSet {
	var s capSet
	for _, c := range cs {
		s.add(c)
	}
	return s
}

// capabilityIndex maps a capability to its position in AllCapabilities.
var capabilityIndex = func() map[Capability]int {
	m := make(map[Capability]int, len(AllCapabilities))
	for i, c := range AllCapabilities {
		m[c] = i
	}
	return m
}()

// Known reports whether c is a capability the analysis can detect.
func Known(c Capability) bool {
	_, ok := capabilityIndex[c]
	return ok
}

// capSet is a set of capabilities as a bit mask over AllCapabilities.
type capSet uint32

// The set holds at most 32 capabilities: a 33rd would wrap onto the first.
func init() {
	if len(AllCapabilities) > 32 {
		panic("policy: more than 32 capabilities do not fit a capSet")
	}
}

// has reports whether c is in the set; never for a capability that is not Known.
func (s capSet) has(c Capability) bool {
	i, ok := capabilityIndex[c]
	return ok && s&(1<<i) != 0
}

// add puts c in the set. A capability that is not Known cannot be a member: adding one is a
// programming error (documents and annotations are checked with Known first) and panics,
// instead of silently adding the capability at index 0 (attach).
func (s *capSet) add(c Capability) {
	i, ok := capabilityIndex[c]
	if !ok {
		panic(fmt.Sprintf("policy: capSet.add of unknown capability %q", c))
	}
	*s |= 1 << i
}

// list returns the members in the design's order.
func (s capSet) list() []Capability {
	var out []Capability
	for i, c := range AllCapabilities {
		if s&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// Action says what a missing capability does to a node's verdict.
type Action string

const (
	// ActionFilter refuses nodes that lack the capability when the pod needs it hard
	// (a need the analysis marks soft, like subPath outside emptyDir, still only scores).
	ActionFilter Action = "filter"
	// ActionScore lowers the node's score by the capability's weight.
	ActionScore Action = "score"
	// ActionIgnore disregards the capability entirely.
	ActionIgnore Action = "ignore"
)

// MaxScore is the best score a node can get (extender/v1 MaxExtenderPriority).
const MaxScore = 10
