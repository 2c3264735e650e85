package version

import (
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestBuildInfo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(BuildInfo("v1.2.3"))
	want := `# HELP rktsched_build_info Always 1; the labels say which build is running: version and the Go version it was built with.
# TYPE rktsched_build_info gauge
rktsched_build_info{goversion="` + runtime.Version() + `",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rktsched_build_info"); err != nil {
		t.Error(err)
	}
}
