package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMetricSum(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP scheduler_pending_pods pending
scheduler_pending_pods{queue="active"} 1
scheduler_pending_pods{queue="unschedulable"} 3
scheduler_pending_pods{queue="unschedulableX"} 100
scheduler_pending_pods_total 1000
plain 7
`)
	}))
	defer srv.Close()
	for name, want := range map[string]float64{
		"scheduler_pending_pods":                        104,
		`scheduler_pending_pods{queue="unschedulable"`:  3,
		`scheduler_pending_pods{queue="unschedulableX"`: 100,
		"plain": 7,
	} {
		got, found, err := MetricSum(context.Background(), srv.URL, name)
		if err != nil || !found || got != want {
			t.Errorf("MetricSum(%s) = %v, %v, %v; want %v", name, got, found, err, want)
		}
	}
	if _, found, _ := MetricSum(context.Background(), srv.URL, `scheduler_pending_pods{queue="gated"`); found {
		t.Error("a label set that is not there was found")
	}
}
