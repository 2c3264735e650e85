package extender

import (
	"sync/atomic"

	nodev1 "k8s.io/api/node/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	nodelisters "k8s.io/client-go/listers/node/v1"
	resourcelisters "k8s.io/client-go/listers/resource/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/rktsched/rktsched/policy"
)

// objectSource is what the extender reads of the objects pods name: the objects, and a
// generation that changes whenever they do.
type objectSource interface {
	policy.Objects
	Generation() int64
}

// clusterObjects is policy.Objects read from informers: the RuntimeClasses, DeviceClasses,
// ResourceClaims and ResourceClaimTemplates pods name. generation counts their changes, so
// that a pod analysed before a change is analysed again (a RuntimeClass created after a pod
// that names it makes the pod schedulable at its next attempt).
type clusterObjects struct {
	runtimeClasses nodelisters.RuntimeClassLister
	deviceClasses  resourcelisters.DeviceClassLister
	claims         resourcelisters.ResourceClaimLister
	templates      resourcelisters.ResourceClaimTemplateLister
	synced         []cache.InformerSynced
	generation     atomic.Int64
}

func newClusterObjects(factory informers.SharedInformerFactory) (*clusterObjects, error) {
	o := &clusterObjects{}
	changed := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { o.generation.Add(1) },
		UpdateFunc: func(any, any) { o.generation.Add(1) },
		DeleteFunc: func(any) { o.generation.Add(1) },
	}
	rc := factory.Node().V1().RuntimeClasses()
	dc := factory.Resource().V1().DeviceClasses()
	claims := factory.Resource().V1().ResourceClaims()
	templates := factory.Resource().V1().ResourceClaimTemplates()
	for _, inf := range []cache.SharedIndexInformer{rc.Informer(), dc.Informer(), claims.Informer(), templates.Informer()} {
		reg, err := inf.AddEventHandler(changed)
		if err != nil {
			return nil, err
		}
		o.synced = append(o.synced, reg.HasSynced)
	}
	o.runtimeClasses, o.deviceClasses, o.claims, o.templates = rc.Lister(), dc.Lister(), claims.Lister(), templates.Lister()
	return o, nil
}

func (o *clusterObjects) Generation() int64 { return o.generation.Load() }

func (o *clusterObjects) hasSynced() bool {
	for _, synced := range o.synced {
		if !synced() {
			return false
		}
	}
	return true
}

func (o *clusterObjects) RuntimeClass(name string) *nodev1.RuntimeClass {
	rc, _ := o.runtimeClasses.Get(name) // only NotFound: a lister reads memory
	return rc
}

func (o *clusterObjects) ResourceClaim(namespace, name string) *resourcev1.ResourceClaim {
	c, _ := o.claims.ResourceClaims(namespace).Get(name)
	return c
}

func (o *clusterObjects) ResourceClaimTemplate(namespace, name string) *resourcev1.ResourceClaimTemplate {
	t, _ := o.templates.ResourceClaimTemplates(namespace).Get(name)
	return t
}

func (o *clusterObjects) DeviceClassesFor(resource string) []string {
	all, _ := o.deviceClasses.List(labels.Everything())
	var out []string
	for _, dc := range all {
		if dc.Spec.ExtendedResourceName != nil && *dc.Spec.ExtendedResourceName == resource {
			out = append(out, dc.Name)
		}
	}
	return out
}
