// Package prodlike makes Nodes and Pods shaped like those of a production cluster (labels,
// annotations, conditions, addresses, 20 images; probes, env, resources, owner references), for
// benchmarks and load tests: payload sizes and decode costs are what matter there.
package prodlike

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/policy"
)

// Node is the i-th node of a cluster: half Docker (even i), half rkt (odd i) across the
// stage1 flavours coreos, kvm, fly and unnamed (rkt's default, coreos).
func Node(i int) *v1.Node {
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
			Capacity:    resources("8", "32475128Ki", "110"),
			Allocatable: resources("7910m", "31458296Ki", "110"),
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

func resources(cpu, memory, pods string) v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:               resource.MustParse(cpu),
		v1.ResourceMemory:            resource.MustParse(memory),
		v1.ResourcePods:              resource.MustParse(pods),
		v1.ResourceEphemeralStorage:  resource.MustParse("104845292Ki"),
		"hugepages-2Mi":              resource.MustParse("0"),
		"attachable-volumes-aws-ebs": resource.MustParse("25"),
	}
}

// Pod is a realistic Deployment pod: two containers, probes, env, resources, and an
// untyped hostPath (so rkt nodes are refused: half the nodes pass).
func Pod(name string, i int) *v1.Pod {
	rl := v1.ResourceList{v1.ResourceCPU: resource.MustParse("250m"), v1.ResourceMemory: resource.MustParse("256Mi")}
	probe := &v1.Probe{ProbeHandler: v1.ProbeHandler{HTTPGet: &v1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
		InitialDelaySeconds: 5, PeriodSeconds: 10}
	container := func(n, image, portName string, port int32) v1.Container {
		return v1.Container{
			Name: n, Image: image,
			Ports:          []v1.ContainerPort{{Name: portName, ContainerPort: port, Protocol: v1.ProtocolTCP}},
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
				UID: types.UID(fmt.Sprintf("rs-%08x", len(name))), Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: v1.PodSpec{
			Containers: []v1.Container{container("app", "registry.example.com/team-1/service-1:v1.4.2", "http", 8080),
				container("sidecar", "registry.example.com/team-0/proxy:v2.0.1", "metrics", 9090)},
			Volumes: []v1.Volume{
				{Name: "cache", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: "/var/lib/app-cache"}}},
				{Name: "config", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{LocalObjectReference: v1.LocalObjectReference{Name: name + "-config"}}}},
			},
			RestartPolicy:      v1.RestartPolicyAlways,
			ServiceAccountName: name,
			Tolerations: []v1.Toleration{{Key: "node.kubernetes.io/not-ready", Operator: v1.TolerationOpExists,
				Effect: v1.TaintEffectNoExecute, TolerationSeconds: ptr.To(int64(300))}},
		},
		Status: v1.PodStatus{Phase: v1.PodRunning, QOSClass: v1.PodQOSBurstable},
	}
}
