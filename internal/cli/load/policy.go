package load

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policy"
)

// Policy is a policy document and what policy.Parse made of it.
type Policy struct {
	*policy.Policy
	// Document is the policy document's text (for locating lines in it).
	Document []byte
	// Source says where it came from: "built-in", a file name, "ConfigMap ns/name".
	Source string
}

// BuiltinPolicy returns the built-in policy.
func BuiltinPolicy() *Policy {
	return &Policy{Policy: policy.Default(), Document: policy.DefaultDocument(), Source: "built-in"}
}

// PolicyDocument returns the policy document data holds: data itself, or, when data is a
// ConfigMap manifest (kubectl get configmap -o yaml), its key policy.yaml.
func PolicyDocument(data []byte, name string) (doc []byte, source string, err error) {
	if !isConfigMap(data) {
		return data, name, nil
	}
	var cm v1.ConfigMap
	if err := yaml.Unmarshal(data, &cm); err != nil {
		return nil, name, fmt.Errorf("%s: %w", name, err)
	}
	source = fmt.Sprintf("%s (ConfigMap %s/%s)", name, cm.Namespace, cm.Name)
	d, ok := cm.Data[policy.ConfigMapKey]
	if !ok {
		return nil, source, fmt.Errorf("%s: key %q is missing", source, policy.ConfigMapKey)
	}
	return []byte(d), source, nil
}

// isConfigMap reports whether data is a ConfigMap manifest. A document that is not YAML at
// all is not: policy.Parse reports what is wrong with it.
func isConfigMap(data []byte) bool {
	var head struct {
		Kind string `json:"kind"`
	}
	return yaml.Unmarshal(data, &head) == nil && head.Kind == "ConfigMap"
}

// ParsePolicy parses a policy document (or a ConfigMap holding one) with policy.Parse, the
// parser the binaries use: its errors name the field and the line.
func ParsePolicy(data []byte, name string) (*Policy, error) {
	doc, source, err := PolicyDocument(data, name)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Policy{Policy: p, Document: doc, Source: source}, nil
}
