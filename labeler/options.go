package labeler

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rktsched/rktsched/policysource"
)

// Options are the labeler's command-line settings.
type Options struct {
	Kubeconfig string
	Policy     policysource.Options

	LeaderElect          bool
	LeaderElectNamespace string
	LeaderElectLeaseName string
	LeaderElectIdentity  string
	LeaseDuration        time.Duration
	RenewDeadline        time.Duration
	RetryPeriod          time.Duration

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
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "take a Lease before writing, so that only one replica labels nodes; false for local runs")
	fs.StringVar(&o.LeaderElectNamespace, "leader-elect-namespace", "rktsched-system", "namespace of the leader election Lease")
	fs.StringVar(&o.LeaderElectLeaseName, "leader-elect-lease-name", "rktsched-labeler", "name of the leader election Lease")
	fs.StringVar(&o.LeaderElectIdentity, "leader-elect-identity", hostname, "holder identity in the Lease; must differ between replicas")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a standby waits after the last renewal before taking the lease")
	fs.DurationVar(&o.RenewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader keeps retrying a renewal before it gives up and exits")
	fs.DurationVar(&o.RetryPeriod, "leader-elect-retry-period", 2*time.Second, "time between attempts to take or renew the lease")
	fs.StringVar(&o.Listen, "listen", ":8080", "address serving /healthz, /readyz and /metrics")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the labels each node would get and write nothing (no patches, Events or Lease)")
	fs.IntVar(&o.Workers, "workers", 2, "nodes synced in parallel")
	// A policy edit may relabel every node at once; 50/s labels 5000 nodes in under two minutes.
	fs.Float64Var(&o.APIQPS, "kube-api-qps", 50, "API requests per second, sustained")
	fs.IntVar(&o.APIBurst, "kube-api-burst", 100, "API requests in a burst above --kube-api-qps")
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
	if o.leaderElection() {
		if o.LeaderElectNamespace == "" || o.LeaderElectLeaseName == "" {
			errs = append(errs, errors.New("--leader-elect-namespace and --leader-elect-lease-name are required with --leader-elect"))
		}
		if o.LeaderElectIdentity == "" {
			errs = append(errs, errors.New("--leader-elect-identity is required with --leader-elect (the hostname could not be read)"))
		}
		// The same rules client-go's leader elector enforces, reported before anything starts.
		if o.RetryPeriod <= 0 || o.RenewDeadline <= 0 || o.LeaseDuration <= 0 {
			errs = append(errs, errors.New("--leader-elect-lease-duration, -renew-deadline and -retry-period must be positive"))
		} else if o.LeaseDuration <= o.RenewDeadline || float64(o.RenewDeadline) <= 1.2*float64(o.RetryPeriod) {
			errs = append(errs, fmt.Errorf("need lease duration (%v) > renew deadline (%v) > 1.2 × retry period (%v)",
				o.LeaseDuration, o.RenewDeadline, o.RetryPeriod))
		}
	}
	return errors.Join(errs...)
}

// leaderElection reports whether to take the Lease. A dry run never does: taking it is a write,
// and a dry run holding it would keep the real labeler standing by.
func (o *Options) leaderElection() bool { return o.LeaderElect && !o.DryRun }
