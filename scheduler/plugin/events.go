package plugin

import (
	"context"
	"slices"

	v1 "k8s.io/api/core/v1"
	resourcev1 "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/rktsched/rktsched/policy"
)

// runtimeClassResource is RuntimeClass as the framework's dynamic informers name a resource
// it has no EventResource of its own for: <plural>.<version>.<group>.
const runtimeClassResource fwk.EventResource = "runtimeclasses.v1.node.k8s.io"

// EventsToRegister: a pod this plugin rejected can only fit after a node is added, or a
// node's labels (the runtime, the labels a policy's runtime entry matches, the labeler's
// handler labels) or annotations (the stage1 image, declared handlers) change; or after an
// object it names appears or changes: its RuntimeClass, a ResourceClaim, a DeviceClass. The
// hints queue it only if the change can make it fit. A policy change is no cluster event the
// queue knows: policyChanged activates the pods the change lets fit somewhere.
func (pl *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{
			Event:          fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAnnotation},
			QueueingHintFn: pl.isSchedulableAfterNodeChange,
		},
		{
			Event:          fwk.ClusterEvent{Resource: runtimeClassResource, ActionType: fwk.Add | fwk.Update},
			QueueingHintFn: isSchedulableAfterRuntimeClassChange,
		},
		{
			Event:          fwk.ClusterEvent{Resource: fwk.ResourceClaim, ActionType: fwk.Add | fwk.Update},
			QueueingHintFn: isSchedulableAfterClaimChange,
		},
		{
			Event:          fwk.ClusterEvent{Resource: fwk.DeviceClass, ActionType: fwk.Add | fwk.Update},
			QueueingHintFn: isSchedulableAfterDeviceClassChange,
		},
	}, nil
}

// isSchedulableAfterNodeChange queues the pod when the node is new, or its policy inputs
// changed, and the pod fits its class now while it did not fit its class before.
func (pl *Plugin) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj any) (fwk.QueueingHint, error) {
	oldNode, newNode, err := util.As[*v1.Node](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if oldNode != nil && !inputsChanged(oldNode, newNode) {
		logger.V(5).Info("Node change does not concern the runtime policy", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
		return fwk.QueueSkip, nil
	}
	p := pl.src.store.Load()
	a := p.AnalyzeWith(pod, pl.objects)
	class := pl.nodes.classOf(p, newNode)
	if !a.Verdict(class).Fits {
		logger.V(5).Info("Pod still does not fit the node's runtime", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "class", class.Name)
		return fwk.QueueSkip, nil
	}
	if oldNode != nil && !policy.InputsOf(oldNode).Equal(policy.InputsOf(newNode)) && a.Verdict(p.Profile(oldNode).Class).Fits {
		// This plugin let the pod onto the node before: the change frees nothing of ours.
		// (When only owned labels changed, the old object already holds the news in its
		// status, and its class is not the one the pod was refused on.)
		logger.V(5).Info("Pod fitted the node's runtime before the change", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
		return fwk.QueueSkip, nil
	}
	logger.V(4).Info("Pod fits the node's runtime now", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "class", class.Name)
	return fwk.Queue, nil
}

// inputsChanged reports whether a node update may change its class: the policy's inputs
// changed, or the labels rktsched owns did. kube-scheduler sends no event for a change of
// status alone (the runtime version, the runtime handlers and features the kubelet
// reports); the labeler's label update that follows it is the event that carries the news,
// its old object already holding the new status.
func inputsChanged(oldNode, newNode *v1.Node) bool {
	for k, v := range newNode.Labels {
		if old, ok := oldNode.Labels[k]; policy.OwnedLabel(k) && (!ok || old != v) {
			return true
		}
	}
	for k := range oldNode.Labels {
		if _, ok := newNode.Labels[k]; policy.OwnedLabel(k) && !ok {
			return true
		}
	}
	return !policy.InputsOf(oldNode).Equal(policy.InputsOf(newNode))
}

// isSchedulableAfterRuntimeClassChange queues a pod whose RuntimeClass appeared or changed.
func isSchedulableAfterRuntimeClassChange(logger klog.Logger, pod *v1.Pod, _, newObj any) (fwk.QueueingHint, error) {
	rc, ok := newObj.(*unstructured.Unstructured)
	if !ok || pod.Spec.RuntimeClassName == nil || *pod.Spec.RuntimeClassName != rc.GetName() {
		return fwk.QueueSkip, nil
	}
	logger.V(4).Info("The pod's RuntimeClass changed", "pod", klog.KObj(pod), "runtimeClass", rc.GetName())
	return fwk.Queue, nil
}

// isSchedulableAfterClaimChange queues a pod that names the claim, or whose template made it.
func isSchedulableAfterClaimChange(logger klog.Logger, pod *v1.Pod, _, newObj any) (fwk.QueueingHint, error) {
	_, claim, err := util.As[*resourcev1.ResourceClaim](nil, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if claim.Namespace != pod.Namespace {
		return fwk.QueueSkip, nil
	}
	for _, pc := range pod.Spec.ResourceClaims {
		if pc.ResourceClaimName != nil && *pc.ResourceClaimName == claim.Name {
			logger.V(4).Info("A claim of the pod changed", "pod", klog.KObj(pod), "claim", klog.KObj(claim))
			return fwk.Queue, nil
		}
	}
	for _, st := range pod.Status.ResourceClaimStatuses {
		if st.ResourceClaimName != nil && *st.ResourceClaimName == claim.Name {
			logger.V(4).Info("A claim of the pod changed", "pod", klog.KObj(pod), "claim", klog.KObj(claim))
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterDeviceClassChange queues a pod with DRA claims (their requests name
// device classes), or one requesting the extended resource the class now backs.
func isSchedulableAfterDeviceClassChange(logger klog.Logger, pod *v1.Pod, _, newObj any) (fwk.QueueingHint, error) {
	_, dc, err := util.As[*resourcev1.DeviceClass](nil, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if len(pod.Spec.ResourceClaims) > 0 {
		return fwk.Queue, nil
	}
	if name := dc.Spec.ExtendedResourceName; name != nil {
		for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
			_, inLimits := c.Resources.Limits[v1.ResourceName(*name)]
			_, inRequests := c.Resources.Requests[v1.ResourceName(*name)]
			if inLimits || inRequests {
				logger.V(4).Info("A DeviceClass now backs a resource of the pod", "pod", klog.KObj(pod), "deviceClass", dc.Name)
				return fwk.Queue, nil
			}
		}
	}
	return fwk.QueueSkip, nil
}

// activateNaming activates this profile's pending pods that name the RuntimeClass.
func (pl *Plugin) activateNaming(runtimeClass string) {
	informers := pl.handle.SharedInformerFactory()
	if informers == nil {
		return
	}
	pods, err := informers.Core().V1().Pods().Lister().List(labels.Everything())
	if err != nil {
		pl.logger.Error(err, "Listing pods to requeue after a RuntimeClass change")
		return
	}
	profile := pl.handle.ProfileName()
	activate := map[string]*v1.Pod{}
	for _, pod := range pods {
		if pod.Spec.NodeName == "" && pod.Spec.SchedulerName == profile && pod.DeletionTimestamp == nil &&
			pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName == runtimeClass {
			activate[pod.Namespace+"/"+pod.Name] = pod
		}
	}
	if len(activate) > 0 {
		pl.logger.V(2).Info("RuntimeClass changed: requeueing the pods that name it", "runtimeClass", runtimeClass, "pods", len(activate))
		pl.handle.Activate(pl.logger, activate)
	}
}

// policyChanged activates this profile's pending pods that the new policy lets onto a node
// the old one refused them: nothing else would requeue them before the queue's periodic flush
// of unschedulable pods (5 minutes). Activate moves only pods waiting in the unschedulable or
// backoff queue, and requeues in-flight ones when their attempt ends.
func (pl *Plugin) policyChanged(old, cur *policy.Policy) {
	logger := pl.logger
	informers := pl.handle.SharedInformerFactory()
	if informers == nil {
		return
	}
	pods, err := informers.Core().V1().Pods().Lister().List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing pods to requeue after a policy change")
		return
	}
	// What the nodes are under each policy: a handful of pairs of classes.
	type pair struct{ old, cur *policy.Class }
	pairs := map[pair]bool{}
	nodes, err := informers.Core().V1().Nodes().Lister().List(labels.Everything())
	if err != nil {
		logger.Error(err, "Listing nodes to requeue after a policy change")
		return
	}
	for _, n := range nodes {
		in := policy.InputsOf(n)
		pairs[pair{old.ProfileOf(in).Class, cur.ProfileOf(in).Class}] = true
	}
	profile := pl.handle.ProfileName()
	activate := map[string]*v1.Pod{}
	for _, pod := range pods {
		if pod.Spec.NodeName != "" || pod.Spec.SchedulerName != profile || pod.DeletionTimestamp != nil {
			continue
		}
		before, after := old.AnalyzeWith(pod, pl.objects), cur.AnalyzeWith(pod, pl.objects)
		for pr := range pairs {
			if !before.Verdict(pr.old).Fits && after.Verdict(pr.cur).Fits {
				activate[pod.Namespace+"/"+pod.Name] = pod
				break
			}
		}
	}
	logger.Info("Policy changed: requeueing the pods it lets onto a node the old one refused", "profile", profile, "digest", cur.Digest(), "pods", len(activate))
	if len(activate) > 0 {
		pl.handle.Activate(logger, activate)
	}
}
