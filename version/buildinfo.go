package version

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo returns rktsched_build_info{version, goversion} = 1, the same metric with the
// same labels in every rktsched binary. v is the version to report (Version, or a test's).
func BuildInfo(v string) prometheus.Collector {
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "rktsched_build_info",
		Help: "Always 1; the labels say which build is running: version and the Go version it was built with.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(v, runtime.Version()).Set(1)
	return info
}
