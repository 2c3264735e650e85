// Package objectcache is policy.Objects read from informers: the RuntimeClasses,
// DeviceClasses, ResourceClaims and ResourceClaimTemplates pods name, for the extender (its
// own informer factory) and the scheduler plugin (the framework's shared one).
package objectcache

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

// Cache is policy.Objects read from informers. Its generation counts their changes, so that
// a pod analysed before a change is analysed again (a RuntimeClass created after a pod that
// names it makes the pod schedulable at its next attempt).
type Cache struct {
	runtimeClasses nodelisters.RuntimeClassLister
	deviceClasses  resourcelisters.DeviceClassLister
	claims         resourcelisters.ResourceClaimLister
	templates      resourcelisters.ResourceClaimTemplateLister
	synced         []cache.InformerSynced
	generation     atomic.Int64
}

var _ policy.Objects = &Cache{}

// New registers the four informers on factory (which the caller starts) and returns the cache
// that reads them.
func New(factory informers.SharedInformerFactory) (*Cache, error) {
	o := &Cache{}
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

// Generation changes whenever one of the objects does.
func (o *Cache) Generation() int64 { return o.generation.Load() }

// HasSynced reports whether every informer has synced.
func (o *Cache) HasSynced() bool {
	for _, synced := range o.synced {
		if !synced() {
			return false
		}
	}
	return true
}

func (o *Cache) RuntimeClass(name string) *nodev1.RuntimeClass {
	rc, _ := o.runtimeClasses.Get(name) // only NotFound: a lister reads memory
	return rc
}

func (o *Cache) ResourceClaim(namespace, name string) *resourcev1.ResourceClaim {
	c, _ := o.claims.ResourceClaims(namespace).Get(name)
	return c
}

func (o *Cache) ResourceClaimTemplate(namespace, name string) *resourcev1.ResourceClaimTemplate {
	t, _ := o.templates.ResourceClaimTemplates(namespace).Get(name)
	return t
}

func (o *Cache) DeviceClassesFor(resource string) []string {
	all, _ := o.deviceClasses.List(labels.Everything()) // a lister reads memory: no error
	return policy.DeviceClassesBacking(resource, all)
}
