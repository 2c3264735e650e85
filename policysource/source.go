// Package policysource is the one way rktsched's binaries get their policy: Open keeps a
// policy.Store in step with where the operator keeps it, a file or a ConfigMap, both watched
// and hot-reloaded. A rejected document is reported (log, Warning Event, metric) and the last
// good policy stays in force; OnChange subscribers hear of every change, WaitForSync waits for
// the first read. The extender, the labeler and the scheduler plugin all call Open, which
// also starts the process's Event broadcaster (Source.Recorder).
package policysource

import (
	"flag"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rktsched/rktsched/policy"
)

// Defaults for where the policy ConfigMap lives (manifests/ creates it there).
const (
	DefaultNamespace = "rktsched-system"
	DefaultName      = "rktsched-policy"
)

// Options say where the policy comes from.
type Options struct {
	Namespace string
	Name      string
	File      string
}

// AddFlags registers --policy-configmap-namespace, --policy-configmap-name and --policy-file.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "policy-configmap-namespace", DefaultNamespace, "namespace of the policy ConfigMap")
	fs.StringVar(&o.Name, "policy-configmap-name", DefaultName, "name of the policy ConfigMap (key "+policy.ConfigMapKey+"); built-in policy while it does not exist")
	fs.StringVar(&o.File, "policy-file", "", "read the policy from this file instead of the ConfigMap")
}

// Collectors are the policy metrics of store, read from it at scrape time:
// rktsched_policy_generation and rktsched_policy_reload_errors_total. Every binary registers
// them on its own registry (Register), so two stores never share counts.
func Collectors(store *policy.Store) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "rktsched_policy_reload_errors_total",
			Help: "Policy documents rejected (from the ConfigMap or --policy-file); the last good policy stayed in force.",
		}, func() float64 { return float64(store.Rejected()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rktsched_policy_generation",
			Help: "How many policies have been in force since start (1 = the first one).",
		}, func() float64 { return float64(store.Generation()) }),
	}
}

// Register adds the policy metrics of store (Collectors) to reg.
func Register(reg prometheus.Registerer, store *policy.Store) {
	reg.MustRegister(Collectors(store)...)
}

// NewStore puts p in force in a new store (generation 1), whether a watcher follows the
// policy's source from there or p stays (the built-in policy).
func NewStore(p *policy.Policy) *policy.Store { return policy.NewStore(p) }

// LoadFile reads the policy document at path. The store is not touched on error.
func LoadFile(path string) (*policy.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := policy.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
