package extender

// Benchmarks of the verbs through the real handler, paired with the "naive floor": what
// any extender pays to decode the request into the extender/v1 types with encoding/json
// and encode a pass-all answer, deciding nothing. `make bench` prints ours/floor per pair
// (extender/internal/benchratio): BenchmarkExtender/<verb>/<mode>/<nodes> goes with
// BenchmarkFloor/<verb>/<mode>/<nodes>.
//
// mode "names" is nodeCacheCapable: true (NodeNames; NodeNameToMetaVictims for preempt),
// "nodes" is nodeCacheCapable: false (full Nodes; NodeNameToVictims with full pods).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"

	"github.com/rktsched/rktsched/policy"
)

var benchSizes = []int{100, 1000, 5000}

func BenchmarkExtender(b *testing.B) {
	benchVerbs(b, func(b *testing.B, nodes []*v1.Node) http.Handler {
		return newTestServer(b, false, nodes...)
	})
}

func BenchmarkFloor(b *testing.B) {
	benchVerbs(b, func(*testing.B, []*v1.Node) http.Handler { return floor{} })
}

func benchVerbs(b *testing.B, handler func(*testing.B, []*v1.Node) http.Handler) {
	for _, verb := range allVerbs {
		for _, mode := range []string{"names", "nodes"} {
			for _, n := range benchSizes {
				b.Run(fmt.Sprintf("%s/%s/%d", verb, mode, n), func(b *testing.B) {
					body := benchBody(verb, mode, n)
					h := handler(b, benchNodes(n))
					// Warm up: the first call fills the pod and node caches, as the
					// scheduling cycle's first verb does; the others find them full.
					if rec := serveBench(h, verb, body); rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					b.SetBytes(int64(len(body)))
					b.ReportAllocs()
					for b.Loop() {
						serveBench(h, verb, body)
					}
				})
			}
		}
	}
}

func serveBench(h http.Handler, verb string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/"+verb, bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// floor decodes the request into the extender/v1 types and encodes a pass-all answer.
type floor struct{}

func (floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var out any
	switch r.URL.Path {
	case "/filter", "/prioritize":
		var args extenderv1.ExtenderArgs
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/filter" {
			out = &extenderv1.ExtenderFilterResult{Nodes: args.Nodes, NodeNames: args.NodeNames}
			break
		}
		list := extenderv1.HostPriorityList{}
		if args.NodeNames != nil {
			for _, n := range *args.NodeNames {
				list = append(list, extenderv1.HostPriority{Host: n, Score: extenderv1.MaxExtenderPriority})
			}
		} else {
			for i := range args.Nodes.Items {
				list = append(list, extenderv1.HostPriority{Host: args.Nodes.Items[i].Name, Score: extenderv1.MaxExtenderPriority})
			}
		}
		out = list
	case "/preempt":
		var args extenderv1.ExtenderPreemptionArgs
		if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		res := &extenderv1.ExtenderPreemptionResult{NodeNameToMetaVictims: args.NodeNameToMetaVictims}
		if args.NodeNameToVictims != nil {
			res.NodeNameToMetaVictims = map[string]*extenderv1.MetaVictims{}
			for name, v := range args.NodeNameToVictims {
				mv := &extenderv1.MetaVictims{Pods: []*extenderv1.MetaPod{}, NumPDBViolations: v.NumPDBViolations}
				for _, p := range v.Pods {
					mv.Pods = append(mv.Pods, &extenderv1.MetaPod{UID: string(p.UID)})
				}
				res.NodeNameToMetaVictims[name] = mv
			}
		}
		out = res
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

var (
	benchMu     sync.Mutex
	benchBodies = map[string][]byte{}
	benchNodeMu sync.Mutex
	benchCache  = map[int][]*v1.Node{}
)

// benchBody is the request kube-scheduler would send for verb, built once per process.
func benchBody(verb, mode string, n int) []byte {
	key := fmt.Sprintf("%s/%s/%d", verb, mode, n)
	if verb == "prioritize" {
		key = fmt.Sprintf("filter/%s/%d", mode, n) // the same ExtenderArgs
	}
	benchMu.Lock()
	defer benchMu.Unlock()
	if b, ok := benchBodies[key]; ok {
		return b
	}
	nodes := benchNodes(n)
	p := benchPod("incoming", 0)
	var body []byte
	switch {
	case verb != "preempt" && mode == "names":
		body = namesArgs(p, nodes)
	case verb != "preempt":
		body = nodesArgs(p, nodes)
	case mode == "names":
		meta := map[string]*extenderv1.MetaVictims{}
		for i, nd := range nodes {
			meta[nd.Name] = &extenderv1.MetaVictims{NumPDBViolations: int64(i % 2),
				Pods: []*extenderv1.MetaPod{{UID: string(benchPod("victim-a", i).UID)}, {UID: string(benchPod("victim-b", i).UID)}}}
		}
		body = mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToMetaVictims: meta})
	default:
		full := map[string]*extenderv1.Victims{}
		for i, nd := range nodes {
			full[nd.Name] = &extenderv1.Victims{NumPDBViolations: int64(i % 2),
				Pods: []*v1.Pod{benchPod("victim-a", i), benchPod("victim-b", i)}}
		}
		body = mustJSON(extenderv1.ExtenderPreemptionArgs{Pod: p, NodeNameToVictims: full})
	}
	benchBodies[key] = body
	return body
}

// benchNodes are n realistic Nodes: labels, annotations, conditions, addresses, 20 images;
// half Docker, half rkt across the stage1 flavours (some rkt nodes not saying which).
func benchNodes(n int) []*v1.Node {
	benchNodeMu.Lock()
	defer benchNodeMu.Unlock()
	if nodes, ok := benchCache[n]; ok {
		return nodes
	}
	nodes := make([]*v1.Node, n)
	for i := range nodes {
		nodes[i] = benchNode(i)
	}
	benchCache[n] = nodes
	return nodes
}

func benchNode(i int) *v1.Node {
	name := fmt.Sprintf("ip-10-%d-%d-%d.us-west-2.compute.internal", i/65536, i/256%256, i%256)
	zone := []string{"us-west-2a", "us-west-2b", "us-west-2c"}[i%3]
	runtimeVersion, stage1 := "docker://1.12.6", ""
	if i%2 == 1 {
		runtimeVersion = "rkt://1.29.0"
		stage1 = []string{"coreos.com/rkt/stage1-coreos:1.29.0", "coreos.com/rkt/stage1-kvm:1.29.0",
			"coreos.com/rkt/stage1-fly:1.29.0", ""}[i/2%4]
	}
	ts := metav1.Unix(1700000000+int64(i), 0)
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			UID:               types.UID(fmt.Sprintf("6f1c%04x-8d2e-4c41-9b7a-%012x", i%65536, i)),
			ResourceVersion:   fmt.Sprint(100000 + i),
			CreationTimestamp: ts,
			Labels: map[string]string{
				"beta.kubernetes.io/arch":                  "amd64",
				"beta.kubernetes.io/instance-type":         "m5.2xlarge",
				"beta.kubernetes.io/os":                    "linux",
				"failure-domain.beta.kubernetes.io/region": "us-west-2",
				"failure-domain.beta.kubernetes.io/zone":   zone,
				"kubernetes.io/arch":                       "amd64",
				"kubernetes.io/hostname":                   name,
				"kubernetes.io/os":                         "linux",
				"node.kubernetes.io/instance-type":         "m5.2xlarge",
				"topology.kubernetes.io/region":            "us-west-2",
				"topology.kubernetes.io/zone":              zone,
				"node-role.kubernetes.io/worker":           "",
			},
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
				"csi.volume.kubernetes.io/nodeid":                        fmt.Sprintf(`{"ebs.csi.aws.com":"i-0%016x"}`, i),
			},
		},
		Spec: v1.NodeSpec{
			PodCIDR:    fmt.Sprintf("10.%d.%d.0/24", 100+i/256%100, i%256),
			PodCIDRs:   []string{fmt.Sprintf("10.%d.%d.0/24", 100+i/256%100, i%256)},
			ProviderID: fmt.Sprintf("aws:///%s/i-0%016x", zone, i),
		},
		Status: v1.NodeStatus{
			Capacity:    benchResources("8", "32475128Ki", "110"),
			Allocatable: benchResources("7910m", "31458296Ki", "110"),
			Addresses: []v1.NodeAddress{
				{Type: v1.NodeInternalIP, Address: fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256)},
				{Type: v1.NodeHostName, Address: name},
				{Type: v1.NodeInternalDNS, Address: name},
			},
			DaemonEndpoints: v1.NodeDaemonEndpoints{KubeletEndpoint: v1.DaemonEndpoint{Port: 10250}},
			NodeInfo: v1.NodeSystemInfo{
				MachineID:               fmt.Sprintf("ec2%029x", i),
				SystemUUID:              fmt.Sprintf("ec2%05x-1b2c-3d4e-5f60-%012x", i%65536, i),
				BootID:                  fmt.Sprintf("%08x-aaaa-bbbb-cccc-%012x", i, i),
				KernelVersion:           "4.9.0-coreos",
				OSImage:                 "Container Linux by CoreOS 1298.5.0 (Ladybug)",
				ContainerRuntimeVersion: runtimeVersion,
				KubeletVersion:          "v1.37.2",
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
	if stage1 != "" {
		n.Annotations[policy.AnnotationStage1Image] = stage1
	}
	for j, c := range []struct {
		t      v1.NodeConditionType
		s      v1.ConditionStatus
		reason string
	}{
		{v1.NodeMemoryPressure, v1.ConditionFalse, "KubeletHasSufficientMemory"},
		{v1.NodeDiskPressure, v1.ConditionFalse, "KubeletHasNoDiskPressure"},
		{v1.NodePIDPressure, v1.ConditionFalse, "KubeletHasSufficientPID"},
		{v1.NodeReady, v1.ConditionTrue, "KubeletReady"},
		{v1.NodeNetworkUnavailable, v1.ConditionFalse, "RouteCreated"},
	} {
		n.Status.Conditions = append(n.Status.Conditions, v1.NodeCondition{
			Type: c.t, Status: c.s, Reason: c.reason, Message: "kubelet reports " + c.reason,
			LastHeartbeatTime:  metav1.Unix(1700100000+int64(i+j), 0),
			LastTransitionTime: ts,
		})
	}
	for j := range 20 {
		repo := fmt.Sprintf("registry.example.com/team-%d/service-%d", j%5, j)
		n.Status.Images = append(n.Status.Images, v1.ContainerImage{
			Names: []string{
				fmt.Sprintf("%s@sha256:%064x", repo, uint64(i)*31+uint64(j)),
				fmt.Sprintf("%s:v1.%d.%d", repo, j, i%10),
			},
			SizeBytes: int64(10_000_000 + j*1_234_567),
		})
	}
	return n
}

func benchResources(cpu, memory, pods string) v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:               resource.MustParse(cpu),
		v1.ResourceMemory:            resource.MustParse(memory),
		v1.ResourcePods:              resource.MustParse(pods),
		v1.ResourceEphemeralStorage:  resource.MustParse("104845292Ki"),
		"hugepages-2Mi":              resource.MustParse("0"),
		"attachable-volumes-aws-ebs": resource.MustParse("25"),
	}
}

// benchPod is a realistic Deployment pod: two containers, probes, env, resources, and an
// untyped hostPath (so rkt nodes are refused: half the nodes pass).
func benchPod(name string, i int) *v1.Pod {
	rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("256Mi")}
	probe := &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intOrString(8080)}},
		InitialDelaySeconds: 5, PeriodSeconds: 10}
	container := func(n, image string) v1.Container {
		return v1.Container{
			Name: n, Image: image,
			Ports:          []v1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}},
			Env:            []v1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "POD_NAME", ValueFrom: &v1.EnvVarSource{FieldRef: &v1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
			Resources:      v1.ResourceRequirements{Requests: rl, Limits: v1.ResourceList{v1.ResourceMemory: resource.MustParse("512Mi")}},
			VolumeMounts:   []v1.VolumeMount{{Name: "cache", MountPath: "/var/cache/app"}, {Name: "config", MountPath: "/etc/app", ReadOnly: true}},
			LivenessProbe:  probe,
			ReadinessProbe: probe,
		}
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-7d9c8b6f5-%05d", name, i), Namespace: "production",
			UID:             types.UID(fmt.Sprintf("%08x-%04x-4000-8000-%012x", len(name), i%65536, i)),
			ResourceVersion: fmt.Sprint(5000000 + i),
			Labels:          map[string]string{"app": name, "pod-template-hash": "7d9c8b6f5", "tier": "backend"},
			Annotations:     map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: name + "-7d9c8b6f5",
				UID: types.UID(fmt.Sprintf("rs-%08x", len(name))), Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: v1.PodSpec{
			Containers: []v1.Container{container("app", "registry.example.com/team-1/service-1:v1.4.2"),
				container("sidecar", "registry.example.com/team-0/proxy:v2.0.1")},
			Volumes: []v1.Volume{
				{Name: "cache", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/var/lib/app-cache"}}},
				{Name: "config", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: name + "-config"}}}},
			},
			RestartPolicy:      v1.RestartPolicyAlways,
			ServiceAccountName: name,
			Tolerations: []v1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists,
				Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))}},
		},
		Status: v1.PodStatus{Phase: v1.PodRunning, QOSClass: v1.PodQOSBurstable},
	}
}

func ptr[T any](v T) *T { return &v }

func intOrString(port int) intstr.IntOrString { return intstr.FromInt32(int32(port)) }
