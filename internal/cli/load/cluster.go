package load

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/rktsched/rktsched/policy"
)

// pageSize is how many objects one list request asks for.
const pageSize = 500

// Cluster reads what kubectl rktsched needs from a live cluster.
type Cluster struct {
	Client kubernetes.Interface
}

// Nodes lists every Node.
func (c *Cluster) Nodes(ctx context.Context) ([]*v1.Node, error) {
	var out []*v1.Node
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		list, err := c.Client.CoreV1().Nodes().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing nodes: %w", err)
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

// Objects lists the objects the policy reads besides Nodes and Pods: RuntimeClasses,
// DeviceClasses, and the ResourceClaims and ResourceClaimTemplates of every namespace. A kind
// the cluster does not serve (resource.k8s.io before 1.34) or the user may not list is left
// out, with a warning: pods naming one are then refused as naming a missing object.
func (c *Cluster) Objects(ctx context.Context) (*policy.ObjectSet, []string, error) {
	set := policy.NewObjectSet()
	var warnings []string
	skip := func(kind string, err error) error {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || meta.IsNoMatchError(err) {
			warnings = append(warnings, fmt.Sprintf("listing %s: %v (pods naming one are refused)", kind, err))
			return nil
		}
		return fmt.Errorf("listing %s: %w", kind, err)
	}
	opts := metav1.ListOptions{}
	lists := []struct {
		kind string
		list func() ([]any, error)
	}{
		{"runtimeclasses", func() ([]any, error) {
			l, err := c.Client.NodeV1().RuntimeClasses().List(ctx, opts)
			return items(l, err)
		}},
		{"deviceclasses", func() ([]any, error) {
			l, err := c.Client.ResourceV1().DeviceClasses().List(ctx, opts)
			return items(l, err)
		}},
		{"resourceclaims", func() ([]any, error) {
			l, err := c.Client.ResourceV1().ResourceClaims("").List(ctx, opts)
			return items(l, err)
		}},
		{"resourceclaimtemplates", func() ([]any, error) {
			l, err := c.Client.ResourceV1().ResourceClaimTemplates("").List(ctx, opts)
			return items(l, err)
		}},
	}
	for _, l := range lists {
		objs, err := l.list()
		if err != nil {
			if err := skip(l.kind, err); err != nil {
				return nil, nil, err
			}
			continue
		}
		for _, o := range objs {
			set.Add(o)
		}
	}
	return set, warnings, nil
}

// items returns pointers to the items of a list object (a *NodeList, *RuntimeClassList, ...).
func items(list runtime.Object, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	objs, err := meta.ExtractList(list)
	out := make([]any, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out, err
}

// Pods lists the pods of namespace ("" for every namespace).
func (c *Cluster) Pods(ctx context.Context, namespace string) ([]*v1.Pod, error) {
	var out []*v1.Pod
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		list, err := c.Client.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		if opts.Continue = list.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

// Policy reads the policy ConfigMap namespace/name. A missing ConfigMap means the built-in
// policy, as for the binaries; a document that does not parse is an error (the binaries keep
// their last good policy, which this tool cannot see).
func (c *Cluster) Policy(ctx context.Context, namespace, name string) (*Policy, error) {
	ref := fmt.Sprintf("ConfigMap %s/%s", namespace, name)
	cm, err := c.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		p := BuiltinPolicy()
		p.Source = "built-in (" + ref + " not found)"
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the policy %s: %w", ref, err)
	}
	doc, ok := cm.Data[policy.ConfigMapKey]
	if !ok {
		return nil, fmt.Errorf("%s: key %q is missing; rktsched keeps its last good policy", ref, policy.ConfigMapKey)
	}
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w; rktsched keeps its last good policy", ref, err)
	}
	return &Policy{Policy: p, Document: []byte(doc), Source: ref}, nil
}

// PolicyConfigMap returns the policy document of the ConfigMap, unparsed, for validate.
func (c *Cluster) PolicyConfigMap(ctx context.Context, namespace, name string) (doc []byte, source string, err error) {
	source = fmt.Sprintf("ConfigMap %s/%s", namespace, name)
	cm, err := c.Client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, source, fmt.Errorf("reading the policy %s: %w", source, err)
	}
	d, ok := cm.Data[policy.ConfigMapKey]
	if !ok {
		return nil, source, fmt.Errorf("%s: key %q is missing", source, policy.ConfigMapKey)
	}
	return []byte(d), source + " key " + policy.ConfigMapKey, nil
}

// resourceKinds maps what kubectl accepts as a resource type to the kind of object.
var resourceKinds = map[string]string{
	"pod": "Pod", "pods": "Pod", "po": "Pod",
	"deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
	"statefulset": "StatefulSet", "statefulsets": "StatefulSet", "sts": "StatefulSet",
	"daemonset": "DaemonSet", "daemonsets": "DaemonSet", "ds": "DaemonSet",
	"replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
	"replicationcontroller": "ReplicationController", "replicationcontrollers": "ReplicationController", "rc": "ReplicationController",
	"job": "Job", "jobs": "Job",
	"cronjob": "CronJob", "cronjobs": "CronJob", "cj": "CronJob",
}

// Ref is a resource named on the command line: TYPE/NAME, or TYPE alone for all of them.
type Ref struct {
	Kind, Name string
}

// ParseRefs reads kubectl-style resource arguments: "pod/a deployment/b" or "pod a b".
// A type without a name means every object of that type (for pods: the Pending ones).
func ParseRefs(args []string) ([]Ref, error) {
	var refs []Ref
	kind := ""
	for _, a := range args {
		if t, name, ok := strings.Cut(a, "/"); ok {
			k, known := resourceKinds[strings.ToLower(t)]
			if !known || name == "" {
				return nil, fmt.Errorf("%q: want TYPE/NAME with TYPE one of pod, deployment, statefulset, daemonset, replicaset, replicationcontroller, job, cronjob", a)
			}
			refs = append(refs, Ref{Kind: k, Name: name})
			kind = ""
			continue
		}
		if k, known := resourceKinds[strings.ToLower(a)]; known && kind == "" && len(refs) == 0 {
			kind = k
			continue
		}
		if kind == "" {
			return nil, fmt.Errorf("%q: want TYPE/NAME, or TYPE followed by names", a)
		}
		refs = append(refs, Ref{Kind: kind, Name: a})
	}
	if kind != "" && len(refs) == 0 {
		refs = append(refs, Ref{Kind: kind})
	}
	return refs, nil
}

// Subjects gets the objects refs name from namespace ("" with allNamespaces for all). A
// type alone lists them; for pods, only those not yet on a node.
func (c *Cluster) Subjects(ctx context.Context, refs []Ref, namespace string) ([]*Subject, error) {
	var out []*Subject
	for _, ref := range refs {
		objs, err := c.get(ctx, ref, namespace)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			s, ok := SubjectOf(obj)
			if !ok {
				continue
			}
			if ref.Name == "" && s.Kind == "Pod" && (s.Pod.Spec.NodeName != "" || s.Pod.Status.Phase != v1.PodPending) {
				continue
			}
			s.Where = strings.ToLower(s.Kind) + "/" + s.Name
			out = append(out, s)
		}
	}
	return out, nil
}

func (c *Cluster) get(ctx context.Context, ref Ref, ns string) ([]runtime.Object, error) {
	one := func(obj runtime.Object, err error) ([]runtime.Object, error) {
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", strings.ToLower(ref.Kind), ref.Name, err)
		}
		return []runtime.Object{obj}, nil
	}
	opts := metav1.GetOptions{}
	apps, batch, core := c.Client.AppsV1(), c.Client.BatchV1(), c.Client.CoreV1()
	if ref.Name != "" {
		switch ref.Kind {
		case "Pod":
			return one(core.Pods(ns).Get(ctx, ref.Name, opts))
		case "Deployment":
			return one(apps.Deployments(ns).Get(ctx, ref.Name, opts))
		case "StatefulSet":
			return one(apps.StatefulSets(ns).Get(ctx, ref.Name, opts))
		case "DaemonSet":
			return one(apps.DaemonSets(ns).Get(ctx, ref.Name, opts))
		case "ReplicaSet":
			return one(apps.ReplicaSets(ns).Get(ctx, ref.Name, opts))
		case "ReplicationController":
			return one(core.ReplicationControllers(ns).Get(ctx, ref.Name, opts))
		case "Job":
			return one(batch.Jobs(ns).Get(ctx, ref.Name, opts))
		case "CronJob":
			return one(batch.CronJobs(ns).Get(ctx, ref.Name, opts))
		}
		return nil, fmt.Errorf("unknown kind %s", ref.Kind)
	}
	var list runtime.Object
	var err error
	lo := metav1.ListOptions{}
	switch ref.Kind {
	case "Pod":
		pods, err := c.Pods(ctx, ns)
		if err != nil {
			return nil, err
		}
		out := make([]runtime.Object, len(pods))
		for i, p := range pods {
			out[i] = p
		}
		return out, nil
	case "Deployment":
		list, err = apps.Deployments(ns).List(ctx, lo)
	case "StatefulSet":
		list, err = apps.StatefulSets(ns).List(ctx, lo)
	case "DaemonSet":
		list, err = apps.DaemonSets(ns).List(ctx, lo)
	case "ReplicaSet":
		list, err = apps.ReplicaSets(ns).List(ctx, lo)
	case "ReplicationController":
		list, err = core.ReplicationControllers(ns).List(ctx, lo)
	case "Job":
		list, err = batch.Jobs(ns).List(ctx, lo)
	case "CronJob":
		list, err = batch.CronJobs(ns).List(ctx, lo)
	default:
		return nil, fmt.Errorf("unknown kind %s", ref.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", strings.ToLower(ref.Kind)+"s", err)
	}
	return meta.ExtractList(list)
}
