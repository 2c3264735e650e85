// Command rktsched-scheduler is kube-scheduler with rktsched's runtime policy compiled in as
// the Rktsched plugin. It takes kube-scheduler's flags and configuration.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // --logging-format=json, as kube-scheduler
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as kube-scheduler
	_ "k8s.io/component-base/metrics/prometheus/version"  // kubernetes_build_info, as kube-scheduler
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/rktsched/rktsched/scheduler/plugin"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(plugin.Name, plugin.New))
	os.Exit(cli.Run(command))
}
