// Package plugin is rktsched as a kube-scheduler framework plugin: the same policy package
// the extender answers from, compiled into the scheduler. PreFilter analyses the pod once per
// cycle, Filter is a per-node class lookup plus a slice index, Score maps the policy's 0..10
// onto the framework's 0..100, queueing hints requeue a rejected pod only when a node change
// may let it fit, and a policy change requeues the pods the old policy refused.
package plugin

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/rktsched/rktsched/internal/objectcache"
	"github.com/rktsched/rktsched/policy"
)

// Name is the plugin's name in KubeSchedulerConfiguration profiles.
const Name = "Rktsched"

// Plugin judges nodes by their container runtime with the policy in force.
type Plugin struct {
	handle fwk.Handle
	src    *sharedPolicy
	nodes  *nodeClasses
	// objects are the RuntimeClasses, DeviceClasses and DRA claims pods name, from the
	// framework's shared informer factory (nil without one: pods naming any are refused).
	objects policy.Objects
	logger  klog.Logger
}

var (
	_ fwk.PreFilterPlugin   = &Plugin{}
	_ fwk.FilterPlugin      = &Plugin{}
	_ fwk.PreScorePlugin    = &Plugin{}
	_ fwk.ScorePlugin       = &Plugin{}
	_ fwk.EnqueueExtensions = &Plugin{}
	_ fwk.SignPlugin        = &Plugin{}
)

// New is the plugin's factory (app.WithPlugin(Name, New)). Every profile that enables the
// plugin shares one policy source: the first call opens it from its args and the handle's
// client (policysource.Open: the policy file or ConfigMap, watched either way) and waits until
// the policy has been read; later calls must give the same args.
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	args, err := decodeArgs(obj)
	if err != nil {
		return nil, fmt.Errorf("%s args: %w", Name, err)
	}
	src, err := openSharedPolicy(ctx, args, h.ClientSet())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name, err)
	}
	pl := newPlugin(h, src)
	pl.logger = klog.FromContext(ctx).WithName(Name)
	src.onChange(pl.policyChanged)
	if informers := h.SharedInformerFactory(); informers != nil {
		// Registered before the scheduler starts the factory and waits for its caches.
		objects, err := objectcache.New(informers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
		pl.objects = objects
		// kube-scheduler sends the RuntimeClass events of EventsToRegister from a dynamic
		// informer of its own, which may run ahead of the typed one the plugin reads: a pod
		// requeued by the hint can be refused again before the plugin sees the class. The
		// typed informer's own events activate the pods naming the class once it is there.
		rcHandler := func(obj any) {
			if rc, ok := obj.(*nodev1.RuntimeClass); ok {
				pl.activateNaming(rc.Name)
			}
		}
		if _, err = informers.Node().V1().RuntimeClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    rcHandler,
			UpdateFunc: func(_, obj any) { rcHandler(obj) },
		}); err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
		if _, err = informers.Core().V1().Nodes().Informer().AddEventHandler(pl.nodeHandler()); err != nil {
			return nil, fmt.Errorf("%s: %w", Name, err)
		}
	}
	return pl, nil
}

// nodeHandler keeps pl.nodes in step with the node informer.
func (pl *Plugin) nodeHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if node, ok := obj.(*v1.Node); ok {
				pl.nodes.add(node)
			}
		},
		UpdateFunc: func(oldObj, obj any) {
			old, okOld := oldObj.(*v1.Node)
			if node, ok := obj.(*v1.Node); ok && okOld {
				pl.nodes.update(old, node)
			}
		},
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if node, ok := obj.(*v1.Node); ok {
				pl.nodes.forget(node.Name)
			}
		},
	}
}

func newPlugin(h fwk.Handle, src *sharedPolicy) *Plugin {
	return &Plugin{handle: h, src: src, nodes: newNodeClasses(), logger: klog.Background().WithName(Name)}
}

// Name returns the plugin's name.
func (pl *Plugin) Name() string { return Name }
