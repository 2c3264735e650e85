package labeler

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	componentbaseconfig "k8s.io/component-base/config"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/rktsched/rktsched/policy"
	"github.com/rktsched/rktsched/policy/policytest"
)

func testOptions(mutate func(*Options)) *Options {
	o := &Options{
		LeaderElection: componentbaseconfig.LeaderElectionConfiguration{
			LeaderElect:       true,
			ResourceLock:      "leases",
			ResourceNamespace: "rktsched-system",
			ResourceName:      "rktsched-labeler",
			LeaseDuration:     metav1.Duration{Duration: 2 * time.Second},
			RenewDeadline:     metav1.Duration{Duration: time.Second},
			RetryPeriod:       metav1.Duration{Duration: 100 * time.Millisecond},
		},
		LeaderElectIdentity: "replica-1",
		Workers:             1,
		APIQPS:              50,
		APIBurst:            100,
		Listen:              "127.0.0.1:0", // unused: run is given its listener
	}
	o.Policy.Namespace, o.Policy.Name = "rktsched-system", "rktsched-policy"
	if mutate != nil {
		mutate(o)
	}
	return o
}

// started is a run of the whole labeler (run) on a fake clientset.
type started struct {
	t      *testing.T
	client *fake.Clientset
	addr   string
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startRun(t *testing.T, client *fake.Clientset, opts *Options) *started {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	s := &started{t: t, client: client, addr: "http://" + ln.Addr().String(), out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- run(ctx, client, opts, ln, s.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Error("run did not return after its context ended")
		}
	})
	return s
}

// stop ends the run as SIGTERM would and returns what run returned.
func (s *started) stop() error {
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for Cleanup
		return err
	case <-time.After(10 * time.Second):
		s.t.Fatal("run did not return after its context ended")
		return nil
	}
}

func (s *started) get(path string) (int, string) {
	s.t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(s.addr + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (s *started) lease() *coordinationv1.Lease {
	l, err := s.client.CoordinationV1().Leases("rktsched-system").Get(context.Background(), "rktsched-labeler", metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return l
}

func (s *started) nodeLabels(name string) map[string]string {
	n, err := s.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return n.Labels
}

func writesTo(client *fake.Clientset, resource string) []string {
	var out []string
	for _, a := range client.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			if a.GetResource().Resource == resource {
				out = append(out, a.GetVerb())
			}
		}
	}
	return out
}

func TestRunAsLeader(t *testing.T) {
	client := fake.NewClientset(newNode("docker-1", "docker://1.12.6"))
	s := startRun(t, client, testOptions(nil))

	waitFor(t, "the node labeled", func() bool { return s.nodeLabels("docker-1")["rktsched.io/runtime"] == "docker" })
	if l := s.lease(); l == nil || ptr.Deref(l.Spec.HolderIdentity, "") != "replica-1" {
		t.Errorf("lease = %+v, want held by replica-1", l)
	}
	waitFor(t, "ready", func() bool { code, _ := s.get("/readyz"); return code == 200 })
	if code, _ := s.get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
	_, metrics := s.get("/metrics")
	for _, want := range []string{
		"rktsched_labeler_node_writes_total 1",
		"rktsched_labeler_sync_errors_total 0",
		"rktsched_labeler_sync_duration_seconds_count",
		`rktsched_build_info{goversion="` + goruntime.Version() + `",version="dev"} 1`,
		"rktsched_policy_reload_errors_total",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if err := s.stop(); err != nil {
		t.Errorf("run after SIGTERM = %v, want nil", err)
	}
	// Released on the way out, so that a standby takes over without waiting for expiry.
	if l := s.lease(); l == nil || ptr.Deref(l.Spec.HolderIdentity, "") != "" {
		t.Errorf("lease after shutdown = %+v, want released", l)
	}
}

// A standby replica keeps its caches warm and is ready, but writes nothing.
func TestRunStandby(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	held := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rktsched-system", Name: "rktsched-labeler"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To("replica-0"),
			LeaseDurationSeconds: ptr.To[int32](3600),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	client := fake.NewClientset(newNode("docker-1", "docker://1.12.6"), held)
	s := startRun(t, client, testOptions(nil))

	waitFor(t, "ready", func() bool { code, _ := s.get("/readyz"); return code == 200 })
	// The elector has tried for the lease a few times more (and found it held).
	leaseGets := func() int {
		n := 0
		for _, a := range client.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "leases" {
				n++
			}
		}
		return n
	}
	before := leaseGets()
	waitFor(t, "three more lease attempts", func() bool { return leaseGets() >= before+3 })
	if got := writesTo(client, "nodes"); len(got) != 0 {
		t.Errorf("a standby wrote nodes: %v", got)
	}
	if l := s.lease(); ptr.Deref(l.Spec.HolderIdentity, "") != "replica-0" {
		t.Errorf("lease holder = %q, want replica-0", ptr.Deref(l.Spec.HolderIdentity, ""))
	}
	if err := s.stop(); err != nil {
		t.Errorf("run after SIGTERM = %v, want nil", err)
	}
}

// Losing the lease stops the labeler and fails the run, so that the process exits non-zero.
func TestRunLostLease(t *testing.T) {
	client := fake.NewClientset(newNode("docker-1", "docker://1.12.6"))
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unreachable")
	})
	s := startRun(t, client, testOptions(func(o *Options) {
		le := &o.LeaderElection
		le.LeaseDuration.Duration, le.RenewDeadline.Duration, le.RetryPeriod.Duration = 600*time.Millisecond, 300*time.Millisecond, 50*time.Millisecond
	}))
	select {
	case err := <-s.done:
		s.done <- err
		if !errors.Is(err, errLostLease) {
			t.Errorf("run = %v, want %v", err, errLostLease)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run still going after the lease could not be renewed")
	}
}

// A dry run writes nothing at all: no label patch, no Lease, no Event.
func TestRunDryRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "policy.yaml")
	doc := `
apiVersion: policy.rktsched.io/v1alpha1
kind: RuntimePolicy
capabilities:
  gpu: {action: filter}
runtimes:
- name: rkt
  schemes: [rkt]
  stage1:
    coreos: {lacks: [gpu]}
`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	// Labeled as docker before: a real run would record a RuntimeChanged Event.
	client := fake.NewClientset(newNode("rkt-1", "rkt://1.29.0", withLabels(map[string]string{"rktsched.io/runtime": "docker"})))
	s := startRun(t, client, testOptions(func(o *Options) { o.DryRun, o.Policy.File = true, file }))

	want := "node=rkt-1 labels=capability.rktsched.io/gpu=false,rktsched.io/runtime=rkt,rktsched.io/runtime-version=1.29.0,rktsched.io/stage1=coreos"
	waitFor(t, "the dry-run line", func() bool { return s.out.lines()[0] != "" })
	if got := s.out.lines(); len(got) != 1 || got[0] != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if err := s.stop(); err != nil {
		t.Errorf("run after SIGTERM = %v, want nil", err)
	}
	for _, resource := range []string{"nodes", "leases", "events"} {
		if got := writesTo(client, resource); len(got) != 0 {
			t.Errorf("dry run wrote %s: %v", resource, got)
		}
	}
	if got := s.nodeLabels("rkt-1"); len(got) != 1 {
		t.Errorf("labels = %v, want untouched", got)
	}
}

// Without leader election the labeler runs at once and stops cleanly.
func TestRunWithoutLeaderElection(t *testing.T) {
	client := fake.NewClientset(newNode("rkt-1", "rkt://1.29.0", withLabels(map[string]string{"rktsched.io/runtime": "docker"})))
	s := startRun(t, client, testOptions(func(o *Options) { o.LeaderElection.LeaderElect = false }))
	waitFor(t, "the node labeled", func() bool { return s.nodeLabels("rkt-1")["rktsched.io/stage1"] == "coreos" })
	// The recorder sends the RuntimeChanged Event to the API server.
	waitFor(t, "the Event", func() bool {
		events, _ := client.CoreV1().Events("").List(context.Background(), metav1.ListOptions{})
		for _, e := range events.Items {
			if e.Reason == ReasonRuntimeChanged && e.InvolvedObject.Kind == "Node" && e.InvolvedObject.Name == "rkt-1" &&
				e.Type == v1.EventTypeNormal && e.Message == "runtime changed from docker to rkt stage1-coreos" {
				return true
			}
		}
		return false
	})
	if err := s.stop(); err != nil {
		t.Errorf("run after SIGTERM = %v, want nil", err)
	}
	if got := writesTo(client, "leases"); len(got) != 0 {
		t.Errorf("--leader-elect=false wrote leases: %v", got)
	}
}

// --policy-file is watched: a good edit relabels the nodes, a bad one is rejected (metric)
// and the labels stay.
func TestRunPolicyFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, policy.DefaultDocument(), 0o600); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset(newNode("docker-1", "docker://1.12.6"))
	s := startRun(t, client, testOptions(func(o *Options) { o.Policy.File = path }))
	attach := policy.CapabilityLabel(policy.Attach)
	waitFor(t, "the node labeled", func() bool { return s.nodeLabels("docker-1")[attach] == "true" })

	// Attach left out of the policy: its label goes.
	noAttach := policytest.EditDefault(t, "  attach:                {action: filter, weight: 5}\n", "")
	if err := os.WriteFile(path+".tmp", []byte(noAttach), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the attach label removed", func() bool { _, ok := s.nodeLabels("docker-1")[attach]; return !ok })
	_, metrics := s.get("/metrics")
	if !strings.Contains(metrics, "rktsched_policy_generation 2\n") {
		t.Errorf("/metrics lacks rktsched_policy_generation 2:\n%s", metrics)
	}

	if err := os.WriteFile(path, []byte("apiVersion: v2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bad file rejected", func() bool {
		_, m := s.get("/metrics")
		return strings.Contains(m, "rktsched_policy_reload_errors_total 1\n")
	})
	if _, ok := s.nodeLabels("docker-1")[attach]; ok {
		t.Error("the attach label came back after a rejected file")
	}
	if _, m := s.get("/metrics"); !strings.Contains(m, "rktsched_policy_generation 2\n") {
		t.Error("a rejected file changed the generation")
	}
}
