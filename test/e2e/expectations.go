// Package e2e holds rktsched's end-to-end tests (build tag e2e): the real binaries, the
// shipped manifests and KubeSchedulerConfiguration, against a local control plane
// (test/cluster). This file, outside the tag, is the table of where each test pod may land;
// a plain `go test` checks it against the policy.
package e2e

// Expectation says where a pod from test/testdata/pods may land on cluster.MixedNodes.
type Expectation struct {
	// Nodes that may run the pod: those whose runtime can, narrowed by the pod's own
	// constraints (nodeSelector, GPU resources). Empty: the pod stays Pending.
	Nodes []string
	// Reason is part of the FailedScheduling message of a pod that stays Pending: the
	// extender's reason, which kube-scheduler aggregates into the event.
	Reason string
}

var (
	dockerNodes = []string{"docker-1", "docker-gpu-1"}
)

// Expectations are by pod name, written by hand from the design's capability table.
var Expectations = map[string]Expectation{
	// rkt errors out on a missing untyped hostPath.
	"mount-dne": {Nodes: dockerNodes},
	// hostIPC/hostPID: Docker, or rkt's fly, which runs in the host namespaces.
	"host-ipc-pid":     {Nodes: []string{"docker-1", "docker-gpu-1", "rkt-fly-1"}},
	"attach":           {Nodes: dockerNodes},
	"init-containers":  {Nodes: dockerNodes},
	"subpath-emptydir": {Nodes: dockerNodes},
	// The GPU resource leaves docker-gpu-1 and rkt-coreos-1; rkt cannot run GPU pods.
	"gpu": {Nodes: []string{"docker-gpu-1"}},
	// The nodeSelector leaves rkt nodes; the GPU leaves rkt-coreos-1, which lacks gpu.
	"gpu-on-rkt": {Reason: "rkt stage1-coreos lacks gpu"},
	// kvm and fly lack port-forward.
	"port-forward": {Nodes: []string{"docker-1", "docker-gpu-1", "rkt-coreos-1", "rkt-coreos-2"}},
	// fly gives every pod the host's namespaces.
	"namespace-isolation": {Nodes: []string{"docker-1", "docker-gpu-1", "rkt-coreos-1", "rkt-coreos-2", "rkt-kvm-1"}},
	// The nodeSelector leaves rkt nodes, of which only fly runs hostPID pods.
	"hostpid-fly": {Nodes: []string{"rkt-fly-1"}},
	// Judged as fly (its stage1 override) on the kvm node its nodeSelector asks for.
	"stage1-override": {Nodes: []string{"rkt-kvm-1"}},
	// An unknown capability in rktsched.io/needs refuses every node.
	"typo-capability": {Reason: "names unknown capabilities: typo-capability"},
}

// containerd21 are the handler nodes running containerd 2.1, which report handlers and
// features (containerd-old-1 runs 1.7 and declares its handlers by annotation).
var containerd21 = []string{"containerd-runc-1", "containerd-kata-1", "containerd-gvisor-1"}

// HandlerExpectations are where each pod of cluster.HandlerPodsDir may land on
// cluster.HandlerNodes (its nodeSelector and toleration keep it there), or the reason it
// stays Pending with.
var HandlerExpectations = map[string]Expectation{
	// kata-qemu is offered by containerd-kata-1 (status) and containerd-old-1 (annotation).
	"kata-nginx": {Nodes: []string{"containerd-kata-1", "containerd-old-1"}},
	// Kata docs/Limitations.md: no host networking, wherever kata-qemu is offered.
	"kata-hostnetwork": {Reason: "containerd handler kata-qemu lacks host-network"},
	// gVisor: no raw sockets.
	"gvisor-netraw": {Reason: "containerd handler runsc lacks raw-sockets"},
	// No node offers the spin shim.
	"wasm-missing-shim": {Reason: "node lacks runtime handler spin"},
	// The default handler's user namespaces: reported by containerd 2.1, not by 1.7.
	"userns": {Nodes: containerd21},
	// runsc reports userNamespaces false.
	"gvisor-userns": {Reason: "containerd handler runsc lacks user-namespaces (reported false)"},
	// Image volumes need containerd 2.1.
	"image-volume": {Nodes: containerd21},
	// recursiveReadOnly Enabled: reported true by the default handler of containerd 2.1 only.
	"rro-enabled": {Nodes: containerd21},
	// supplementalGroupsPolicy Strict: status.features of containerd 2.1 only.
	"groups-strict": {Nodes: containerd21},
}
