package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/rktsched/rktsched/policysource"
)

// Args are the plugin's pluginConfig args. All are optional: by default the policy is the
// ConfigMap rktsched-system/rktsched-policy (key policy.yaml), the built-in policy while it
// does not exist.
type Args struct {
	// PolicyConfigMapNamespace and PolicyConfigMapName name the watched policy ConfigMap.
	PolicyConfigMapNamespace string `json:"policyConfigMapNamespace,omitempty"`
	PolicyConfigMapName      string `json:"policyConfigMapName,omitempty"`
	// PolicyFile, if set, is read and watched instead of the ConfigMap.
	PolicyFile string `json:"policyFile,omitempty"`
}

func (a Args) options() policysource.Options {
	o := policysource.Options{Namespace: a.PolicyConfigMapNamespace, Name: a.PolicyConfigMapName, File: a.PolicyFile}
	if o.Namespace == "" {
		o.Namespace = policysource.DefaultNamespace
	}
	if o.Name == "" {
		o.Name = policysource.DefaultName
	}
	return o
}

// decodeArgs reads the args kube-scheduler hands an out-of-tree plugin (runtime.Unknown, JSON
// or YAML). Unknown fields are an error: a misspelt key must not silently mean the default.
func decodeArgs(obj runtime.Object) (Args, error) {
	var a Args
	if obj == nil {
		return a, nil
	}
	u, ok := obj.(*runtime.Unknown)
	if !ok {
		return a, fmt.Errorf("want args of type runtime.Unknown, got %T", obj)
	}
	if len(u.Raw) == 0 {
		return a, nil
	}
	raw := u.Raw
	if u.ContentType == runtime.ContentTypeYAML {
		var err error
		if raw, err = yaml.YAMLToJSON(raw); err != nil {
			return a, err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, err
	}
	if a.PolicyFile != "" && (a.PolicyConfigMapName != "" || a.PolicyConfigMapNamespace != "") {
		return a, errors.New("policyFile and policyConfigMap* are exclusive")
	}
	return a, nil
}
