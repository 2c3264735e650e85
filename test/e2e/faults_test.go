//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/internal/testpki"
	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policysource"
	"github.com/rktsched/rktsched/test/cluster"
)

const (
	reloadErrorsMetric = "rktsched_policy_reload_errors_total"
	generationMetric   = "rktsched_policy_generation"
	requestsMetric     = "rktsched_extender_requests_total"
	standbyIdentity    = "e2e-labeler-standby"
)

// metric reads a metric the component must export.
func metric(ctx context.Context, t *testing.T, comp *cluster.Component, name string) float64 {
	t.Helper()
	n, ok, err := comp.Metric(ctx, name)
	if err != nil || !ok {
		t.Fatalf("%s/metrics: %s (found %v, error %v)", comp.URL, name, ok, err)
	}
	return n
}

// setPolicyDoc writes doc into the policy ConfigMap; nil removes the key.
func setPolicyDoc(ctx context.Context, e *env, doc []byte) error {
	cms := e.c.Client.CoreV1().ConfigMaps(policysource.DefaultNamespace)
	cm, err := cms.Get(ctx, policysource.DefaultName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	switch {
	case doc == nil:
		delete(cm.Data, policy.ConfigMapKey)
	case cm.Data == nil: // the key was removed
		cm.Data = map[string]string{policy.ConfigMapKey: string(doc)}
	default:
		cm.Data[policy.ConfigMapKey] = string(doc)
	}
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

// policyRejections returns the PolicyRejected Warning Events on the policy ConfigMap.
func policyRejections(ctx context.Context, e *env) ([]v1.Event, error) {
	events, err := e.c.Client.CoreV1().Events(policysource.DefaultNamespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"reason": "PolicyRejected", "involvedObject.name": policysource.DefaultName, "type": v1.EventTypeWarning}.String(),
	})
	if err != nil {
		return nil, err
	}
	return events.Items, nil
}

// eventKey tells a new Event from an old one seen again: the recorder turns a repeated
// message into count+1 on the same Event, and after ten different messages from one source
// about one object it folds the rest into one "(combined from similar events)" Event whose
// message and count it updates.
func eventKey(ev v1.Event) string { return fmt.Sprintf("%s#%d", ev.Name, ev.Count) }

// testBadPolicies: each broken document of BadPolicies is refused by both binaries (a Warning
// Event PolicyRejected from each that says what is wrong, and
// rktsched_policy_reload_errors_total up by exactly one on each), while the last good policy
// keeps deciding: same policy generation, same extender verdict, no label written, and the
// test pods, submitted before the first bad document, placed as Expectations say.
func testBadPolicies(ctx context.Context, t *testing.T, e *env) {
	good, err := StdoutLogsPolicy(policy.DefaultDocument())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := BadPolicies(good)
	if err != nil {
		t.Fatal(err)
	}
	// The last good policy differs from the built-in one (which a binary falling back to its
	// default would use): stdout-logs on rkt stage1-coreos, which only the probe needs.
	probe := podNamed(t, e, "port-forward", "stdout-logs-probe")
	probe.Annotations = map[string]string{policy.AnnotationNeeds: string(policy.StdoutLogs)}
	setPolicy(ctx, t, e, good)
	waitForLabels(ctx, t, e, mustParse(t, good), 30*time.Second)
	waitForExtenderVerdict(ctx, t, e, probe, "rkt-coreos-1", "")
	defer func() {
		setPolicy(ctx, t, e, policy.DefaultDocument())
		waitForLabels(ctx, t, e, policy.Default(), 30*time.Second)
		waitForExtenderVerdict(ctx, t, e, probe, "rkt-coreos-1", "rkt stage1-coreos lacks stdout-logs")
	}()

	const ns = "bad-policies"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e, ns)
	var pods []*v1.Pod
	for _, pf := range e.pods {
		pods = append(pods, pf.Pod)
	}
	if err := e.c.CreatePods(ctx, ns, pods); err != nil {
		t.Fatal(err)
	}

	binaries := []*cluster.Component{e.extender, e.labeler}
	sources := []string{cluster.ExtenderBinary, cluster.LabelerBinary}
	errorsBefore, generations := map[string]float64{}, map[string]float64{}
	for i, b := range binaries {
		errorsBefore[sources[i]] = metric(ctx, t, b, reloadErrorsMetric)
		generations[sources[i]] = metric(ctx, t, b, generationMetric)
	}
	writesBefore := metric(ctx, t, e.labeler, writesMetric)
	nodesBefore := nodeVersions(ctx, t, e)
	start, reached := time.Now(), 0
	for _, r := range rows {
		old, err := policyRejections(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range old {
			seen[eventKey(ev)] = true
		}
		err = setPolicyDoc(ctx, e, r.Doc)
		if r.TooLargeForAPI {
			// ConfigMap data is limited to 1 MiB, as policy documents are: the binaries never
			// see a larger one (the next row's exact counts would show it if they did).
			if !apierrors.IsInvalid(err) && !apierrors.IsRequestEntityTooLargeError(err) {
				t.Fatalf("%s: the API server answered %v to a %d-byte ConfigMap, want it refused", r.Name, err, len(r.Doc))
			}
			t.Logf("%-40s refused by the API server: %.120s", r.Name, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		reached++
		var messages []string
		err = cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
			for i, b := range binaries {
				n, _, err := b.Metric(ctx, reloadErrorsMetric)
				if err != nil {
					return err
				}
				switch want := errorsBefore[sources[i]] + float64(reached); {
				case n > want:
					return cluster.Permanent(fmt.Errorf("%s %s = %v, want %v: more than one per document", sources[i], reloadErrorsMetric, n, want))
				case n < want:
					return fmt.Errorf("%s %s = %v, want %v", sources[i], reloadErrorsMetric, n, want)
				}
			}
			events, err := policyRejections(ctx, e)
			if err != nil {
				return err
			}
			messages = messages[:0]
			for _, src := range sources {
				i := slices.IndexFunc(events, func(ev v1.Event) bool {
					return ev.Source.Component == src && !seen[eventKey(ev)] && strings.Contains(ev.Message, r.WantInMessage)
				})
				if i < 0 {
					return fmt.Errorf("no new PolicyRejected Warning Event from %s saying %q", src, r.WantInMessage)
				}
				messages = append(messages, events[i].Message)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		t.Logf("%-40s %.150s", r.Name, strings.TrimPrefix(messages[0], "Policy rejected, the last good policy stays in force: "))
		for i, b := range binaries {
			if g := metric(ctx, t, b, generationMetric); g != generations[sources[i]] {
				t.Errorf("%s: %s %s = %v, was %v: a policy was put in force", r.Name, sources[i], generationMetric, g, generations[sources[i]])
			}
		}
		waitForExtenderVerdict(ctx, t, e, probe, "rkt-coreos-1", "")
		if diff := cmp.Diff(nodesBefore, nodeVersions(ctx, t, e)); diff != "" {
			t.Fatalf("%s: nodes changed (-before +after):\n%s", r.Name, diff)
		}
	}
	t.Logf("%d documents refused by both binaries in %v", reached, time.Since(start).Round(time.Millisecond))
	if n := metric(ctx, t, e.labeler, writesMetric); n != writesBefore {
		t.Errorf("the labeler wrote %v times while refusing documents, want 0", n-writesBefore)
	}
	waitForExpectations(ctx, t, e, ns, pods, 60*time.Second)
}

// testAPIServerRestart: kube-apiserver restarts (SIGTERM, then the same flags) under the
// running labeler, extender and kube-scheduler. All three keep running and come back by
// themselves: the labeler removes no label and writes no unchanged node, and a node created
// afterwards is labelled and known to the extender (both watch again), and a pod is placed.
func testAPIServerRestart(ctx context.Context, t *testing.T, e *env) {
	before := nodeVersions(ctx, t, e)
	writes := metric(ctx, t, e.labeler, writesMetric)
	start := time.Now()
	if err := e.c.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver stopped and ready again in %v", time.Since(start).Round(time.Millisecond))
	for _, comp := range []*cluster.Component{e.extender, e.labeler} {
		err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
			if !comp.Running() {
				return cluster.Permanent(fmt.Errorf("%s exited: %w", comp.Name, comp.Err()))
			}
			return comp.Ready(ctx)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// kube-scheduler (leader election off, as here) only re-watches; with leader election on
	// it would also have to renew its Lease within its renew deadline (10 s) or exit.
	if !e.scheduler.Running() {
		t.Fatalf("kube-scheduler exited: %v", e.scheduler.Err())
	}
	const ns = "apiserver-restart"
	if err := e.c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	defer deletePods(ctx, t, e, ns)
	attach := podNamed(t, e, "attach", "attach-after-restart")
	if err := e.c.CreatePods(ctx, ns, []*v1.Pod{attach}); err != nil {
		t.Fatal(err)
	}
	if node, err := waitForNode(ctx, e, ns, attach.Name, 30*time.Second); err != nil {
		t.Fatal(err)
	} else if !slices.Contains(dockerNodes, node) {
		t.Errorf("pod %s placed on %s, want one of %v", attach.Name, node, dockerNodes)
	}
	if n := metric(ctx, t, e.labeler, writesMetric); n != writes {
		t.Errorf("the labeler wrote %v times across the restart, want 0", n-writes)
	}

	// Once both know a node created after the restart, they have processed whatever their
	// re-list or re-watch brought before it.
	probeNode := cluster.NodeSpec{Name: "docker-after-restart", RuntimeVersion: "docker://1.12.6", Class: "docker"}
	if err := e.c.CreateNodes(ctx, []cluster.NodeSpec{probeNode}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.c.Client.CoreV1().Nodes().Delete(ctx, probeNode.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete node %s: %v", probeNode.Name, err)
		}
	}()
	err := cluster.Poll(ctx, 30*time.Second, func(ctx context.Context) error {
		node, err := e.c.Client.CoreV1().Nodes().Get(ctx, probeNode.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d := cmp.Diff(policy.Default().Profile(node).Labels(), ownedLabels(node)); d != "" {
			return fmt.Errorf("node %s not labelled (-want +got):\n%s", node.Name, d)
		}
		refused, err := cluster.FilterNames(ctx, e.extender.URL, attach, []string{probeNode.Name})
		if err != nil {
			return err
		}
		if why, ok := refused[probeNode.Name]; ok {
			return fmt.Errorf("extender refuses %s: %s", probeNode.Name, why)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := metric(ctx, t, e.labeler, writesMetric); n != writes+1 {
		t.Errorf("%s went from %v to %v, want one write (the new node)", writesMetric, writes, n)
	}
	after := nodeVersions(ctx, t, e)
	delete(after, probeNode.Name)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("nodes changed across the API server restart (-before +after):\n%s", diff)
	}
}

// leaseHolder returns the holder of the labeler's leader election Lease.
func leaseHolder(ctx context.Context, e *env) (string, error) {
	lease, err := e.c.Client.CoordinationV1().Leases(policysource.DefaultNamespace).Get(ctx, cluster.LabelerBinary, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	return ptr.Deref(lease.Spec.HolderIdentity, ""), nil
}

// removeOwnedLabel deletes one of rktsched's labels from a node, as a careless operator
// would, and returns the node's owned labels before.
func removeOwnedLabel(ctx context.Context, t *testing.T, e *env, nodeName string, c policy.Capability) map[string]string {
	t.Helper()
	node, err := e.c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := policy.CapabilityLabel(c)
	if _, ok := node.Labels[key]; !ok {
		t.Fatalf("node %s has no label %s to remove", nodeName, key)
	}
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:null}}}`, key)
	if _, err := e.c.Client.CoreV1().Nodes().Patch(ctx, nodeName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	return ownedLabels(node)
}

// waitForRelabel waits until the node's owned labels are want again and labeler's writes
// metric is writes; other's, unless other is nil, stays at otherWrites.
func waitForRelabel(ctx context.Context, t *testing.T, e *env, nodeName string, want map[string]string,
	labeler *cluster.Component, writes float64, other *cluster.Component, otherWrites float64) {
	t.Helper()
	err := cluster.Poll(ctx, 20*time.Second, func(ctx context.Context) error {
		node, err := e.c.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if d := cmp.Diff(want, ownedLabels(node)); d != "" {
			return fmt.Errorf("node %s labels (-want +got):\n%s", nodeName, d)
		}
		if n := metric(ctx, t, labeler, writesMetric); n != writes {
			return fmt.Errorf("%s %s = %v, want %v", labeler.Name, writesMetric, n, writes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if other == nil {
		return
	}
	if n := metric(ctx, t, other, writesMetric); n != otherWrites {
		t.Errorf("%s %s = %v, want %v", other.Name, writesMetric, n, otherWrites)
	}
}

// testLabelerReplicas: a second labeler beside the running one stands by (ready, warm
// caches, not the Lease holder, no writes) while the leader fixes a removed label. When the
// leader stops it releases the Lease, and the standby takes over at once and does the
// labelling.
func testLabelerReplicas(ctx context.Context, t *testing.T, e *env) {
	leader := e.labeler
	standby, err := e.c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.LabelerBinary + "-standby", Binary: filepath.Join(e.ourBins, cluster.LabelerBinary),
		Kubeconfig: e.labelerKubeconfig,
		// A short retry period: the standby notices a released Lease within half a second.
		Args: []string{"--leader-elect=true", "--leader-elect-identity=" + standbyIdentity, "--leader-elect-retry-period=500ms", "--v=4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := leaseHolder(ctx, e); err != nil || h != labelerIdentity {
		t.Fatalf("Lease holder %q (error %v), want %s", h, err, labelerIdentity)
	}
	leaderWrites := metric(ctx, t, leader, writesMetric)
	if n := metric(ctx, t, standby, writesMetric); n != 0 {
		t.Errorf("the standby wrote %v times", n)
	}
	want := removeOwnedLabel(ctx, t, e, "rkt-kvm-1", policy.GPU)
	waitForRelabel(ctx, t, e, "rkt-kvm-1", want, leader, leaderWrites+1, standby, 0)
	if h, err := leaseHolder(ctx, e); err != nil || h != labelerIdentity {
		t.Errorf("Lease holder %q (error %v) after the fix, want %s", h, err, labelerIdentity)
	}

	stopped := time.Now()
	leader.Stop(10 * time.Second)
	if err := leader.Err(); err != nil {
		t.Errorf("the leader did not exit cleanly on SIGTERM: %v", err)
	}
	e.labeler = standby
	// Well under the Lease's 15 s: the leader released it rather than let it expire.
	err = cluster.Poll(ctx, 8*time.Second, func(ctx context.Context) error {
		h, err := leaseHolder(ctx, e)
		if err == nil && h != standbyIdentity {
			err = fmt.Errorf("Lease holder %q, want %s", h, standbyIdentity)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the standby holds the Lease %v after the leader was stopped", time.Since(stopped).Round(time.Millisecond))
	want = removeOwnedLabel(ctx, t, e, "rkt-fly-1", policy.HostPID)
	waitForRelabel(ctx, t, e, "rkt-fly-1", want, standby, 1, nil, 0)
}

// testHTTPS: kube-scheduler runs with the shipped HTTPS configuration (its tlsConfig pointed
// at certificates made here) against an extender serving HTTPS that requires client
// certificates. Every test pod is placed as Expectations say, through that extender only; a
// client without a certificate is refused. The plain scheduler comes back afterwards.
func testHTTPS(ctx context.Context, t *testing.T, e *env) {
	dir := filepath.Join(e.c.Dir, "pki", "extender-https")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pki, err := testpki.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := e.c.StartComponent(ctx, cluster.ComponentSpec{
		Name: cluster.ExtenderBinary + "-https", Binary: filepath.Join(e.ourBins, cluster.ExtenderBinary),
		Kubeconfig: e.extenderKubeconfig, TLS: pki.TLSConfig(true),
		Args: []string{"--tls-cert-file=" + pki.ServerCertFile, "--tls-key-file=" + pki.ServerKeyFile, "--client-ca-file=" + pki.CAFile, "--v=4"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Stop(5 * time.Second)
	resp, err := pki.HTTPClient(false).Get(ext.URL + "/readyz")
	if err == nil {
		resp.Body.Close()
		t.Errorf("a client without a certificate was answered %s", resp.Status)
	} else if !strings.Contains(err.Error(), "certificate required") {
		t.Errorf("a client without a certificate: %v, want the TLS alert certificate required", err)
	}

	plainBefore := metric(ctx, t, e.extender, requestsMetric)
	httpsBefore := metric(ctx, t, ext, requestsMetric)
	e.scheduler.Stop(5 * time.Second)
	defer func() {
		if e.scheduler, err = e.c.StartScheduler(ctx, e.root, e.extender.URL, true); err != nil {
			t.Error(err)
		}
	}()
	sched, err := e.c.StartSchedulerWith(ctx, e.root, cluster.SchedulerOptions{
		Config: cluster.SchedulerHTTPSConfigPath, ExtenderURL: ext.URL, NodeCacheCapable: true,
		TLS: &cluster.SchedulerTLS{CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sched.Stop(5 * time.Second)
	e.scheduler = sched // testPlacement reads the running kube-scheduler's metrics
	testPlacement(ctx, t, e, "placement-https")
	httpsAfter := metric(ctx, t, ext, requestsMetric)
	if httpsAfter <= httpsBefore {
		t.Errorf("the HTTPS extender's %s stayed at %v", requestsMetric, httpsAfter)
	}
	if n := metric(ctx, t, e.extender, requestsMetric); n != plainBefore {
		t.Errorf("the plain extender answered %v requests meanwhile, want 0", n-plainBefore)
	}
	t.Logf("kube-scheduler made %v requests to the extender over HTTPS", httpsAfter-httpsBefore)
	if !ext.Running() {
		t.Errorf("the HTTPS extender exited: %v", ext.Err())
	}
}
