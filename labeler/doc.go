// Package labeler is the controller that labels every Node with its container runtime profile
// and the capabilities it has or lacks, from the same policy the extender judges pods with, so
// that `kubectl get nodes --show-labels` and the extender's verdicts always agree.
//
// Labels: rktsched.io/runtime, rktsched.io/runtime-version, rktsched.io/stage1 (rkt only) and
// capability.rktsched.io/<name>=true|false for every capability in the policy. Those keys
// (policy.OwnedLabel) are the only ones ever written; an owned key the policy no longer
// computes (a capability dropped, a node no longer rkt) is removed.
//
// Writes are JSON merge patches of just the changed keys under metadata.labels, with null for
// a key to remove, recorded under field manager "rktsched-labeler". A merge patch rather than
// server-side apply because ownership here is by key, not by field manager: labels under our
// keys set by hand or by an older labeler are corrected or removed too, which apply would leave
// to their manager; and a patch of a few keys is easy to read in logs and to assert on with the
// fake clientset. Nothing is written before the node cache and the policy are loaded, and only
// when the owned labels differ from the desired ones: kubelet heartbeats cost nothing
// (rktsched_labeler_node_writes_total stays flat in a steady cluster).
//
// An Event "RuntimeChanged" (Normal) is recorded on a Node whose runtime profile changed, e.g.
// "runtime changed from docker to rkt stage1-coreos" after a re-install.
//
// High availability: replicas take a Lease (--leader-elect-resource-namespace/-resource-name,
// component-base's flags; --leader-elect-namespace/-lease-name still work); only the
// holder writes. Every replica fills its node cache and loads the policy, and reports ready on
// /readyz once it has: a standby is ready too, since it takes over with warm caches within the
// lease duration. /healthz fails only for a leader that cannot renew its Lease. A leader that
// loses the Lease stops writing and exits non-zero; on SIGTERM it stops writing first, then
// releases the Lease so a standby takes over at once.
//
// --dry-run writes nothing (no patches, no Events, no Lease): it prints one line per node whose
// labels would change, "node=<name> labels=<k=v,...>" with the node's full owned label set
// sorted, plus " remove=<k,...>" when stale owned labels would go.
//
// RBAC: nodes get/list/watch/patch; events create/patch; the policy ConfigMap get/list/watch;
// leases create, and get/update on the Lease.
package labeler
