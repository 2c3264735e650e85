package plugin

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/rktsched/rktsched/policy"
)

// EventsToRegister: a pod this plugin rejected can only fit after a node is added, or a
// node's labels (the runtime, the labels a policy's runtime entry matches) or annotations
// (the stage1 image) change. The hint queues it only if the change can make it fit. A
// policy change is no cluster event the queue knows: policyChanged activates the pods the old
// policy refused.
func (pl *Plugin) EventsToRegister(context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{{
		Event:          fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAnnotation},
		QueueingHintFn: pl.isSchedulableAfterNodeChange,
	}}, nil
}

// isSchedulableAfterNodeChange queues the pod when the node is new, or its policy inputs
// changed, and the pod fits its class now.
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
	class := pl.nodes.classOf(p, newNode)
	if !p.Analyze(pod).Verdict(class).Fits {
		logger.V(5).Info("Pod still does not fit the node's runtime", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "class", class.Name)
		return fwk.QueueSkip, nil
	}
	logger.V(4).Info("Pod fits the node's runtime now", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "class", class.Name)
	return fwk.Queue, nil
}

// inputsChanged reports whether a node update may change its class: the policy's inputs
// changed, or the labeler's runtime labels did. kube-scheduler sends no event for a change of
// status.nodeInfo alone (the runtime version); the labeler's label update that follows it is
// the event that carries the news, its old object already holding the new runtime version.
func inputsChanged(oldNode, newNode *v1.Node) bool {
	for _, k := range []string{policy.LabelRuntime, policy.LabelRuntimeVersion, policy.LabelStage1} {
		if oldNode.Labels[k] != newNode.Labels[k] {
			return true
		}
	}
	return !policy.InputsOf(oldNode).Equal(policy.InputsOf(newNode))
}

// policyChanged activates this profile's pending pods that the old policy refused somewhere:
// the new one may let them fit, and nothing else would requeue them before the queue's
// periodic flush of unschedulable pods (5 minutes). Activate moves only pods waiting in the
// unschedulable or backoff queue, and requeues in-flight ones when their attempt ends; pods
// the old policy refused nowhere were not rejected by this plugin.
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
	profile := pl.handle.ProfileName()
	activate := map[string]*v1.Pod{}
	for _, pod := range pods {
		if pod.Spec.NodeName != "" || pod.Spec.SchedulerName != profile || pod.DeletionTimestamp != nil {
			continue
		}
		if newState(old.Analyze(pod)).refuses {
			activate[pod.Namespace+"/"+pod.Name] = pod
		}
	}
	logger.Info("Policy changed: requeueing the pods the old policy refused", "profile", profile, "digest", cur.Digest(), "pods", len(activate))
	if len(activate) > 0 {
		pl.handle.Activate(logger, activate)
	}
}
