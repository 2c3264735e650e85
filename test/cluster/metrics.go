package cluster

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// MetricSum scrapes url/metrics and returns the sum of every sample of the named metric
// (over all its label sets), and whether the metric was there at all. name may end in the
// first labels of the samples to sum, as they are written: `scheduler_pending_pods{queue="unschedulable"`.
func MetricSum(ctx context.Context, url, name string) (float64, bool, error) {
	return metricSum(ctx, http.DefaultClient, url, name)
}

func metricSum(ctx context.Context, client *http.Client, url, name string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("GET %s/metrics: %s", url, resp.Status)
	}
	// What may follow name in a sample of it: after a bare name its labels or its value, after
	// a name with its first labels the rest of them or their end. Anything else is another
	// metric whose name starts with this one, or another label value.
	follows := " {"
	if strings.Contains(name, "{") {
		follows = ",}"
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || strings.IndexByte(follows, rest[0]) < 0 {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("GET %s/metrics: %q: %w", url, line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

// getOK is nil when GET url answers 200, else says what it got.
func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// APIServerMetric is MetricSum on kube-apiserver's /metrics, read as the admin.
func (c *Cluster) APIServerMetric(ctx context.Context, name string) (float64, bool, error) {
	client, err := rest.HTTPClientFor(c.RESTConfig)
	if err != nil {
		return 0, false, err
	}
	return metricSum(ctx, client, strings.TrimSuffix(c.RESTConfig.Host, "/"), name)
}
