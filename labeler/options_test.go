package labeler

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	componentbaseconfig "k8s.io/component-base/config"

	"github.com/rktsched/rktsched/policysource"
)

// The defaults are contracts: manifests and e2e scripts rely on them.
func TestFlagDefaults(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--leader-elect-identity=me"}); err != nil {
		t.Fatal(err)
	}
	want := Options{
		Policy: policysource.Options{Namespace: "rktsched-system", Name: "rktsched-policy"},
		LeaderElection: componentbaseconfig.LeaderElectionConfiguration{
			LeaderElect:       true,
			ResourceLock:      "leases",
			ResourceNamespace: "rktsched-system",
			ResourceName:      "rktsched-labeler",
			LeaseDuration:     metav1.Duration{Duration: 15 * time.Second},
			RenewDeadline:     metav1.Duration{Duration: 10 * time.Second},
			RetryPeriod:       metav1.Duration{Duration: 2 * time.Second},
		},
		LeaderElectIdentity: "me",
		Listen:              ":8080",
		Workers:             2,
		APIQPS:              50,
		APIBurst:            100,
	}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	for _, name := range []string{"kubeconfig", "dry-run", "policy-file", "leader-elect", "leader-elect-resource-lock"} {
		if fs.Lookup(name) == nil {
			t.Errorf("flag --%s missing", name)
		}
	}
}

func TestValidate(t *testing.T) {
	valid := func() Options {
		var o Options
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.AddFlags(fs)
		_ = fs.Parse([]string{"--leader-elect-identity=me"})
		return o
	}
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr []string // substrings; none means valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"no workers", func(o *Options) { o.Workers = 0 }, []string{"--workers must be at least 1"}},
		{"no API requests", func(o *Options) { o.APIQPS = 0 }, []string{"--kube-api-qps (0) and --kube-api-burst (100) must be positive"}},
		{"no listen address", func(o *Options) { o.Listen = "" }, []string{"--listen is required"}},
		{"no identity", func(o *Options) { o.LeaderElectIdentity = "" }, []string{"--leader-elect-identity is required"}},
		{"no identity needed without leader election", func(o *Options) { o.LeaderElection.LeaderElect, o.LeaderElectIdentity = false, "" }, nil},
		{"no identity needed in a dry run", func(o *Options) { o.DryRun, o.LeaderElectIdentity = true, "" }, nil},
		{"renew deadline not below the lease duration", func(o *Options) { o.LeaderElection.RenewDeadline = o.LeaderElection.LeaseDuration },
			[]string{"need lease duration"}},
		{"no Lease name", func(o *Options) { o.LeaderElection.ResourceName = "" }, []string{"--leader-elect-resource-name"}},
		{"a lock other than a Lease", func(o *Options) { o.LeaderElection.ResourceLock = "configmaps" },
			[]string{`--leader-elect-resource-lock must be "leases", not "configmaps"`}},
		{"no policy ConfigMap name", func(o *Options) { o.Policy.Name = "" }, []string{"--policy-configmap-name"}},
		{"policy file instead of a ConfigMap", func(o *Options) { o.Policy.Name, o.Policy.File = "", "/p.yaml" }, nil},
		{"every error at once", func(o *Options) { o.Workers, o.Listen = -1, "" },
			[]string{"--workers", "--listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid()
			tt.mutate(&o)
			err := o.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors containing %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %v, want it to contain %q", err, s)
				}
			}
		})
	}
}

// The leader-election flags are component-base's, and the names manifests/ and the chart
// use (--leader-elect-namespace, --leader-elect-lease-name) still set the Lease.
func TestLeaderElectionFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want componentbaseconfig.LeaderElectionConfiguration
	}{
		{"chart and manifests", []string{"--leader-elect=true", "--leader-elect-identity=$(POD_NAME)", "--leader-elect-namespace=ns"},
			componentbaseconfig.LeaderElectionConfiguration{LeaderElect: true, ResourceNamespace: "ns", ResourceName: "rktsched-labeler"}},
		{"older lease name", []string{"--leader-elect-lease-name=lab"},
			componentbaseconfig.LeaderElectionConfiguration{LeaderElect: true, ResourceNamespace: "rktsched-system", ResourceName: "lab"}},
		{"component-base names", []string{"--leader-elect-resource-namespace=ns", "--leader-elect-resource-name=lab", "--leader-elect-retry-period=1s"},
			componentbaseconfig.LeaderElectionConfiguration{LeaderElect: true, ResourceNamespace: "ns", ResourceName: "lab",
				RetryPeriod: metav1.Duration{Duration: time.Second}}},
		{"local run", []string{"--leader-elect=false"},
			componentbaseconfig.LeaderElectionConfiguration{ResourceNamespace: "rktsched-system", ResourceName: "rktsched-labeler"}},
		{"bare boolean", []string{"--leader-elect=false", "--leader-elect"},
			componentbaseconfig.LeaderElectionConfiguration{LeaderElect: true, ResourceNamespace: "rktsched-system", ResourceName: "rktsched-labeler"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o Options
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.ResourceLock = "leases"
			for d, def := range map[*metav1.Duration]time.Duration{&want.LeaseDuration: 15 * time.Second, &want.RenewDeadline: 10 * time.Second, &want.RetryPeriod: 2 * time.Second} {
				if d.Duration == 0 {
					d.Duration = def
				}
			}
			if diff := cmp.Diff(want, o.LeaderElection); diff != "" {
				t.Errorf("leader election (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDryRunNeverTakesTheLease(t *testing.T) {
	o := Options{LeaderElection: componentbaseconfig.LeaderElectionConfiguration{LeaderElect: true}, DryRun: true}
	if o.leaderElection() {
		t.Error("a dry run would take the leader lease")
	}
	o.DryRun = false
	if !o.leaderElection() {
		t.Error("--leader-elect is ignored")
	}
}
