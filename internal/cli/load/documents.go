// Package load reads what kubectl rktsched judges: pods and the workloads whose pod template
// is judged, node and pod dumps (`kubectl get nodes -o yaml`), and policy documents, from
// files or from a live cluster.
package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

// MaxInputBytes bounds what is read from one file or stdin: a dump of 5000 realistic Nodes
// in YAML is about 60 MiB.
const MaxInputBytes = 512 << 20

// Object is one decoded document (or one item of a List document).
type Object struct {
	// Where says where it came from: "pods.yaml", "pods.yaml document 2", "... item 3".
	Where string
	Obj   runtime.Object
	// Kind is the document's kind as written.
	Kind string
}

// strict decodes with unknown and duplicate fields reported: the object is still decoded,
// and the report becomes a warning (as kubectl's field validation "Warn").
var strict = kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
	kjson.SerializerOptions{Strict: true})

// ReadAll reads r whole, refusing more than MaxInputBytes.
func ReadAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, MaxInputBytes>>20)
	}
	return data, nil
}

// Decode is DecodeWith strict decoding: unknown fields become warnings.
func Decode(data []byte, name string) ([]Object, []string, error) {
	return DecodeWith(data, name, true)
}

// lenient decodes without looking for unknown fields: for dumps, which a newer cluster may
// write with fields this client does not know, and which are read for a few fields only.
var lenient = scheme.Codecs.UniversalDeserializer()

// DecodeWith splits data (YAML documents separated by ---, or JSON) into objects of the kinds
// client-go knows; List documents (kind List or *List, as kubectl get -o yaml writes) give
// their items. Unknown fields are warnings, not errors. Documents of a kind client-go does
// not know are errors.
func DecodeWith(data []byte, name string, strictFields bool) (objs []Object, warnings []string, err error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, doc := range docs {
		where := name
		if len(docs) > 1 {
			where = fmt.Sprintf("%s document %d", name, i+1)
		}
		jsonDoc, err := toJSON(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		if jsonDoc == nil {
			continue // empty or comments only
		}
		o, w, err := decodeJSON(jsonDoc, where, 0, strictFields)
		if err != nil {
			return nil, nil, err
		}
		objs, warnings = append(objs, o...), append(warnings, w...)
	}
	return objs, warnings, nil
}

// splitDocuments returns the YAML documents of data; JSON input is one document.
func splitDocuments(data []byte) ([][]byte, error) {
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		return [][]byte{trimmed}, nil
	}
	r := utilyaml.NewYAMLReader(bufio.NewReaderSize(bytes.NewReader(data), 64<<10))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
}

// toJSON converts a YAML or JSON document to JSON; nil for an empty document.
func toJSON(doc []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return trimmed, nil
	}
	out, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(string(out)); s == "null" || s == "" {
		return nil, nil
	}
	return out, nil
}

// typeMeta is what tells a List from an object.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func decodeJSON(doc []byte, where string, depth int, strictFields bool) ([]Object, []string, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, nil, fmt.Errorf("%s: not an object (a Kubernetes document starts with apiVersion and kind)", where)
	}
	var tm typeMeta
	if err := json.Unmarshal(trimmed, &tm); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	if tm.Kind == "" {
		return nil, nil, fmt.Errorf("%s: no kind", where)
	}
	if tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") {
		if depth > 0 {
			return nil, nil, fmt.Errorf("%s: a %s inside a List", where, tm.Kind)
		}
		var objs []Object
		var warnings []string
		itemKind := strings.TrimSuffix(tm.Kind, "List")
		for i, item := range tm.Items {
			itemWhere := fmt.Sprintf("%s item %d", where, i+1)
			if itemKind != "" {
				// NodeList and PodList items carry no kind of their own.
				item = withKind(item, tm.APIVersion, itemKind)
			}
			o, w, err := decodeJSON(item, itemWhere, depth+1, strictFields)
			if err != nil {
				return nil, nil, err
			}
			objs, warnings = append(objs, o...), append(warnings, w...)
		}
		return objs, warnings, nil
	}
	decoder := lenient
	if strictFields {
		decoder = strict
	}
	obj, _, err := decoder.Decode(trimmed, nil, nil)
	var warnings []string
	if err != nil {
		if obj == nil || !runtime.IsStrictDecodingError(err) {
			if runtime.IsNotRegisteredError(err) {
				return nil, nil, fmt.Errorf("%s: kind %s of %s is not a Kubernetes kind this tool knows", where, tm.Kind, tm.APIVersion)
			}
			return nil, nil, fmt.Errorf("%s: %w", where, err)
		}
		warnings = append(warnings, fmt.Sprintf("%s: %v", where, err))
	}
	return []Object{{Where: where, Obj: obj, Kind: tm.Kind}}, warnings, nil
}

// withKind adds apiVersion and kind to an item that lacks them.
func withKind(item json.RawMessage, apiVersion, kind string) json.RawMessage {
	var head struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(item, &head) == nil && head.Kind != "" {
		return item
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(item, &m) != nil || m == nil {
		return item
	}
	if _, ok := m["kind"]; ok {
		return item
	}
	m["kind"], _ = json.Marshal(kind)
	if _, ok := m["apiVersion"]; !ok {
		m["apiVersion"], _ = json.Marshal(apiVersion)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return item
	}
	return out
}

// Subject is a pod to judge: a Pod, or the pod template of a workload.
type Subject struct {
	// Kind is Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
	// Job, CronJob or PodTemplate.
	Kind            string
	Namespace, Name string
	// Pod is the pod, or a pod made of the template (its metadata and spec).
	Pod *v1.Pod
	// Where says where it came from.
	Where string
}

// Ref is namespace/name.
func (s *Subject) Ref() string { return s.Namespace + "/" + s.Name }

// SubjectOf returns the pod obj is or makes; false for other kinds.
func SubjectOf(obj runtime.Object) (*Subject, bool) {
	fromTemplate := func(kind string, meta *v1.PodTemplateSpec, ns, name string) *Subject {
		pod := &v1.Pod{ObjectMeta: *meta.ObjectMeta.DeepCopy(), Spec: *meta.Spec.DeepCopy()}
		pod.Namespace, pod.Name = ns, name
		return &Subject{Kind: kind, Namespace: ns, Name: name, Pod: pod}
	}
	switch o := obj.(type) {
	case *v1.Pod:
		return &Subject{Kind: "Pod", Namespace: o.Namespace, Name: o.Name, Pod: o}, true
	case *appsv1.Deployment:
		return fromTemplate("Deployment", &o.Spec.Template, o.Namespace, o.Name), true
	case *appsv1.StatefulSet:
		return fromTemplate("StatefulSet", &o.Spec.Template, o.Namespace, o.Name), true
	case *appsv1.DaemonSet:
		return fromTemplate("DaemonSet", &o.Spec.Template, o.Namespace, o.Name), true
	case *appsv1.ReplicaSet:
		return fromTemplate("ReplicaSet", &o.Spec.Template, o.Namespace, o.Name), true
	case *batchv1.Job:
		return fromTemplate("Job", &o.Spec.Template, o.Namespace, o.Name), true
	case *batchv1.CronJob:
		return fromTemplate("CronJob", &o.Spec.JobTemplate.Spec.Template, o.Namespace, o.Name), true
	case *v1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, false
		}
		return fromTemplate("ReplicationController", o.Spec.Template, o.Namespace, o.Name), true
	case *v1.PodTemplate:
		return fromTemplate("PodTemplate", &o.Template, o.Namespace, o.Name), true
	}
	return nil, false
}

// Subjects reads the pods and workloads of a file. Documents of other kinds are errors:
// nothing given is silently left out. namespace is used for objects that name none.
func Subjects(data []byte, name, namespace string) ([]*Subject, []string, error) {
	objs, warnings, err := Decode(data, name)
	if err != nil {
		return nil, nil, err
	}
	var out []*Subject
	for _, o := range objs {
		s, ok := SubjectOf(o.Obj)
		if !ok {
			return nil, nil, fmt.Errorf("%s: a %s, not a Pod or a workload with a pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate)", o.Where, o.Kind)
		}
		if s.Namespace == "" {
			s.Namespace = namespace
			s.Pod.Namespace = namespace
		}
		s.Where = o.Where
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%s holds no document", name)
	}
	return out, warnings, nil
}

// Dump is a node dump: the Nodes, and the objects the policy reads beside them
// (RuntimeClasses, DeviceClasses, ResourceClaims, ResourceClaimTemplates), as
// `kubectl get nodes,runtimeclasses,deviceclasses,resourceclaims,resourceclaimtemplates -A -o json`
// writes them.
type Dump struct {
	Nodes   []*v1.Node
	Objects *policy.ObjectSet
}

// Nodes reads a node dump: Node documents and the objects the policy reads, or a List of
// them. Other kinds are refused.
func Nodes(data []byte, name string) (*Dump, []string, error) {
	if nodes, ok := nodeList(data); ok {
		return &Dump{Nodes: nodes, Objects: policy.NewObjectSet()}, nil, nil
	}
	objs, warnings, err := DecodeWith(data, name, false)
	if err != nil {
		return nil, nil, err
	}
	d := &Dump{Nodes: make([]*v1.Node, 0, len(objs)), Objects: policy.NewObjectSet()}
	for _, o := range objs {
		if n, ok := o.Obj.(*v1.Node); ok {
			d.Nodes = append(d.Nodes, n)
			continue
		}
		if !d.Objects.Add(o.Obj) {
			return nil, nil, fmt.Errorf("%s: a %s in a node dump (want Nodes, RuntimeClasses, DeviceClasses, ResourceClaims, ResourceClaimTemplates, as kubectl get nodes,runtimeclasses,... -o yaml writes)", o.Where, o.Kind)
		}
	}
	return d, warnings, nil
}

// nodeList decodes a JSON List or NodeList of Nodes in one pass, as the API machinery's
// serializer reads JSON (names case-sensitive): a dump of 5000 Nodes costs a third of
// decoding item by item. Anything else (YAML, other kinds, errors) is left to DecodeWith,
// which says what is wrong.
func nodeList(data []byte) ([]*v1.Node, bool) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, false
	}
	var list struct {
		APIVersion string    `json:"apiVersion"`
		Kind       string    `json:"kind"`
		Items      []v1.Node `json:"items"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(trimmed, &list); err != nil {
		return nil, false
	}
	if list.APIVersion != "v1" || list.Kind != "List" && list.Kind != "NodeList" {
		return nil, false
	}
	out := make([]*v1.Node, len(list.Items))
	for i := range list.Items {
		n := &list.Items[i]
		if n.Kind != "" && n.Kind != "Node" || n.APIVersion != "" && n.APIVersion != "v1" {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// Pods reads a pod dump: Pod documents, or a List of them.
func Pods(data []byte, name string) ([]*v1.Pod, []string, error) {
	objs, warnings, err := DecodeWith(data, name, false)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*v1.Pod, 0, len(objs))
	for _, o := range objs {
		p, ok := o.Obj.(*v1.Pod)
		if !ok {
			return nil, nil, fmt.Errorf("%s: a %s in a pod dump (want Pods, as kubectl get pods -A -o yaml writes)", o.Where, o.Kind)
		}
		out = append(out, p)
	}
	return out, warnings, nil
}
