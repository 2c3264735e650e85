package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	v1 "k8s.io/api/core/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// Filter asks the extender at url which of nodes it refuses for pod, the way kube-scheduler
// does with nodeCacheCapable: false (full Node objects), and returns the refused nodes with
// their reasons. It answers "why not this node" for any pod and node, placed or not.
func Filter(ctx context.Context, url string, pod *v1.Pod, nodes []v1.Node) (map[string]string, error) {
	return filter(ctx, url, extenderv1.ExtenderArgs{Pod: pod, Nodes: &v1.NodeList{Items: nodes}})
}

// FilterNames is Filter the way kube-scheduler asks with nodeCacheCapable: true: node names
// only, which the extender looks up in its own node cache (so it also tells whether that
// cache is up to date).
func FilterNames(ctx context.Context, url string, pod *v1.Pod, nodeNames []string) (map[string]string, error) {
	return filter(ctx, url, extenderv1.ExtenderArgs{Pod: pod, NodeNames: &nodeNames})
}

func filter(ctx context.Context, url string, args extenderv1.ExtenderArgs) (map[string]string, error) {
	body, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/filter", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s/filter: %s: %s", url, resp.Status, data)
	}
	var result extenderv1.ExtenderFilterResult
	if err := json.Unmarshal(data, &result); err != nil {
		return nil, fmt.Errorf("POST %s/filter: %w", url, err)
	}
	if result.Error != "" {
		return nil, fmt.Errorf("POST %s/filter: extender error: %s", url, result.Error)
	}
	refused := map[string]string{}
	for n, r := range result.FailedNodes {
		refused[n] = r
	}
	for n, r := range result.FailedAndUnresolvableNodes {
		refused[n] = r
	}
	return refused, nil
}
