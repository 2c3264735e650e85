package policy

import (
	"maps"
	"slices"

	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
)

// Objects finds the cluster objects a pod names that the policy reads: its RuntimeClass, its
// ResourceClaims and ResourceClaimTemplates, and the DeviceClasses that back extended
// resources. A nil result is an object that does not exist. A nil Objects has none.
//
// The extender implements it with informers, the plugin with the scheduler's shared
// informer factory, the CLI with the objects of a dump or a cluster (ObjectSet).
type Objects interface {
	RuntimeClass(name string) *nodev1.RuntimeClass
	ResourceClaim(namespace, name string) *resourcev1.ResourceClaim
	ResourceClaimTemplate(namespace, name string) *resourcev1.ResourceClaimTemplate
	// DeviceClassesFor names the DeviceClasses whose spec.extendedResourceName is resource.
	DeviceClassesFor(resource string) []string
}

// ObjectSet is Objects held in memory: for dumps, tests and the CLI.
type ObjectSet struct {
	RuntimeClasses         map[string]*nodev1.RuntimeClass
	ResourceClaims         map[string]*resourcev1.ResourceClaim         // by namespace/name
	ResourceClaimTemplates map[string]*resourcev1.ResourceClaimTemplate // by namespace/name
	DeviceClasses          map[string]*resourcev1.DeviceClass
}

// NewObjectSet returns a set holding the objects of the kinds Objects reads; others are
// ignored.
func NewObjectSet(objs ...any) *ObjectSet {
	s := &ObjectSet{
		RuntimeClasses:         map[string]*nodev1.RuntimeClass{},
		ResourceClaims:         map[string]*resourcev1.ResourceClaim{},
		ResourceClaimTemplates: map[string]*resourcev1.ResourceClaimTemplate{},
		DeviceClasses:          map[string]*resourcev1.DeviceClass{},
	}
	for _, o := range objs {
		s.Add(o)
	}
	return s
}

// Add puts obj in the set if it is of a kind Objects reads, and reports whether it was.
func (s *ObjectSet) Add(obj any) bool {
	switch o := obj.(type) {
	case *nodev1.RuntimeClass:
		s.RuntimeClasses[o.Name] = o
	case *resourcev1.ResourceClaim:
		s.ResourceClaims[o.Namespace+"/"+o.Name] = o
	case *resourcev1.ResourceClaimTemplate:
		s.ResourceClaimTemplates[o.Namespace+"/"+o.Name] = o
	case *resourcev1.DeviceClass:
		s.DeviceClasses[o.Name] = o
	default:
		return false
	}
	return true
}

func (s *ObjectSet) RuntimeClass(name string) *nodev1.RuntimeClass { return s.RuntimeClasses[name] }

func (s *ObjectSet) ResourceClaim(namespace, name string) *resourcev1.ResourceClaim {
	return s.ResourceClaims[namespace+"/"+name]
}

func (s *ObjectSet) ResourceClaimTemplate(namespace, name string) *resourcev1.ResourceClaimTemplate {
	return s.ResourceClaimTemplates[namespace+"/"+name]
}

func (s *ObjectSet) DeviceClassesFor(resource string) []string {
	return DeviceClassesBacking(resource, slices.Collect(maps.Values(s.DeviceClasses)))
}

// DeviceClassesBacking names, sorted, the classes whose spec.extendedResourceName is
// resource: what every Objects.DeviceClassesFor answers, so that the extender, the plugin and
// the CLI name the same class in a need's Why.
func DeviceClassesBacking(resource string, classes []*resourcev1.DeviceClass) []string {
	var out []string
	for _, dc := range classes {
		if dc.Spec.ExtendedResourceName != nil && *dc.Spec.ExtendedResourceName == resource {
			out = append(out, dc.Name)
		}
	}
	slices.Sort(out)
	return out
}
