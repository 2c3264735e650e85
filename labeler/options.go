package labeler

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	componentbaseconfig "k8s.io/component-base/config"
	componentbaseoptions "k8s.io/component-base/config/options"

	"github.com/rktsched/rktsched/policysource"
)

// Options are the labeler's command-line settings.
type Options struct {
	Kubeconfig string
	Policy     policysource.Options

	// LeaderElection is bound by component-base, as kube-scheduler's and
	// kube-controller-manager's are: --leader-elect, --leader-elect-lease-duration,
	// -renew-deadline, -retry-period, -resource-lock (leases only), -resource-name and
	// -resource-namespace. --leader-elect-lease-name and --leader-elect-namespace, the names
	// the labeler had before, set the resource name and namespace too.
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// LeaderElectIdentity is the holder identity in the Lease (component-base has no flag
	// for it).
	LeaderElectIdentity string

	Listen  string
	DryRun  bool
	Workers int
	// APIQPS and APIBurst limit the labeler's API requests (patches, Events, Lease).
	APIQPS   float64
	APIBurst int
}

// AddFlags registers the labeler's flags (and the policy source's) on fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	hostname, _ := os.Hostname()
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file; empty means in-cluster configuration")
	o.Policy.AddFlags(fs)
	o.addLeaderElectionFlags(fs)
	fs.StringVar(&o.LeaderElectIdentity, "leader-elect-identity", hostname, "holder identity in the Lease; must differ between replicas")
	fs.StringVar(&o.Listen, "listen", ":8080", "address serving /healthz, /readyz and /metrics")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the labels each node would get and write nothing (no patches, Events or Lease)")
	fs.IntVar(&o.Workers, "workers", 2, "nodes synced in parallel")
	// A policy edit may relabel every node at once; 50/s labels 5000 nodes in under two minutes.
	fs.Float64Var(&o.APIQPS, "kube-api-qps", 50, "API requests per second, sustained")
	fs.IntVar(&o.APIBurst, "kube-api-burst", 100, "API requests in a burst above --kube-api-qps")
}

// addLeaderElectionFlags binds o.LeaderElection with component-base (on a pflag set, whose
// values the standard flag set takes as they are), after setting the labeler's defaults: a
// Lease rktsched-system/rktsched-labeler, 15 s / 10 s / 2 s as kube-scheduler's.
func (o *Options) addLeaderElectionFlags(fs *flag.FlagSet) {
	o.LeaderElection = componentbaseconfig.LeaderElectionConfiguration{
		LeaderElect:       true,
		LeaseDuration:     metav1.Duration{Duration: 15 * time.Second},
		RenewDeadline:     metav1.Duration{Duration: 10 * time.Second},
		RetryPeriod:       metav1.Duration{Duration: 2 * time.Second},
		ResourceLock:      resourcelock.LeasesResourceLock,
		ResourceName:      "rktsched-labeler",
		ResourceNamespace: "rktsched-system",
	}
	pfs := pflag.NewFlagSet("leader election", pflag.ContinueOnError)
	componentbaseoptions.BindLeaderElectionFlags(&o.LeaderElection, pfs)
	pfs.VisitAll(func(f *pflag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	// The names manifests/, the chart and operators' scripts use.
	fs.Var(pfs.Lookup("leader-elect-resource-namespace").Value, "leader-elect-namespace", "the same as --leader-elect-resource-namespace")
	fs.Var(pfs.Lookup("leader-elect-resource-name").Value, "leader-elect-lease-name", "the same as --leader-elect-resource-name")
}

// Validate reports every invalid setting at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("--workers must be at least 1, not %d", o.Workers))
	}
	if o.APIQPS <= 0 || o.APIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-qps (%v) and --kube-api-burst (%d) must be positive", o.APIQPS, o.APIBurst))
	}
	if o.Listen == "" {
		errs = append(errs, errors.New("--listen is required"))
	}
	if o.Policy.File == "" && (o.Policy.Namespace == "" || o.Policy.Name == "") {
		errs = append(errs, errors.New("--policy-configmap-namespace and --policy-configmap-name are required without --policy-file"))
	}
	if le := o.LeaderElection; o.leaderElection() {
		if le.ResourceNamespace == "" || le.ResourceName == "" {
			errs = append(errs, errors.New("--leader-elect-resource-namespace and --leader-elect-resource-name are required with --leader-elect"))
		}
		if le.ResourceLock != resourcelock.LeasesResourceLock {
			errs = append(errs, fmt.Errorf("--leader-elect-resource-lock must be %q, not %q", resourcelock.LeasesResourceLock, le.ResourceLock))
		}
		if o.LeaderElectIdentity == "" {
			errs = append(errs, errors.New("--leader-elect-identity is required with --leader-elect (the hostname could not be read)"))
		}
		// The same rules client-go's leader elector enforces, reported before anything starts.
		lease, renew, retry := le.LeaseDuration.Duration, le.RenewDeadline.Duration, le.RetryPeriod.Duration
		if retry <= 0 || renew <= 0 || lease <= 0 {
			errs = append(errs, errors.New("--leader-elect-lease-duration, -renew-deadline and -retry-period must be positive"))
		} else if lease <= renew || float64(renew) <= 1.2*float64(retry) {
			errs = append(errs, fmt.Errorf("need lease duration (%v) > renew deadline (%v) > 1.2 × retry period (%v)", lease, renew, retry))
		}
	}
	return errors.Join(errs...)
}

// leaderElection reports whether to take the Lease. A dry run never does: taking it is a write,
// and a dry run holding it would keep the real labeler standing by.
func (o *Options) leaderElection() bool { return o.LeaderElection.LeaderElect && !o.DryRun }
