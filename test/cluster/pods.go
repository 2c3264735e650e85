package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/yaml"
)

// PodsDir holds one pod per known rkt issue, relative to the repository; the e2e tests and the
// demo submit the same files.
const PodsDir = "test/testdata/pods"

// PodFile is a pod read from PodsDir.
type PodFile struct {
	// Path is the file's path.
	Path string
	Pod  *v1.Pod
}

// LoadPods reads every *.yaml pod in dir, sorted by file name. Unknown fields are errors, so
// that a typo in a test pod cannot go unnoticed.
func LoadPods(dir string) ([]PodFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []PodFile
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		pod := &v1.Pod{}
		if err := yaml.UnmarshalStrict(data, pod); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if pod.Kind != "Pod" || pod.Name == "" {
			return nil, fmt.Errorf("%s: want a named Pod, found kind %q name %q", path, pod.Kind, pod.Name)
		}
		out = append(out, PodFile{Path: path, Pod: pod})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no pods in %s", dir)
	}
	return out, nil
}

// CreatePods creates copies of the pods in namespace.
func (c *Cluster) CreatePods(ctx context.Context, namespace string, pods []*v1.Pod) error {
	for _, pod := range pods {
		pod = pod.DeepCopy()
		pod.Namespace = namespace
		if _, err := c.Client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create pod %s/%s: %w", namespace, pod.Name, err)
		}
	}
	return nil
}

// DeletePods deletes every pod in namespace at once. Without a kubelet a pod placed on a
// node would otherwise wait forever for its graceful termination.
func (c *Cluster) DeletePods(ctx context.Context, namespace string) error {
	zero := int64(0)
	return c.Client.CoreV1().Pods(namespace).DeleteCollection(ctx,
		metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{})
}

// Outcome is what became of a pod: the node it was placed on, or why it was not.
type Outcome struct {
	Pod  string
	Node string
	// FailedScheduling is the latest FailedScheduling Event message, for a pod not placed.
	FailedScheduling string
}

// Settled reports whether the pod was placed or refused.
func (o Outcome) Settled() bool { return o.Node != "" || o.FailedScheduling != "" }

// WaitForOutcomes waits until each named pod in namespace is placed on a node or has a
// FailedScheduling Event, and returns the outcomes by pod name. On timeout it returns the
// outcomes so far and an error naming the pods still unsettled.
func (c *Cluster) WaitForOutcomes(ctx context.Context, namespace string, names []string, timeout time.Duration) (map[string]Outcome, error) {
	out := map[string]Outcome{}
	err := Poll(ctx, timeout, func(ctx context.Context) error {
		got, err := c.Outcomes(ctx, namespace)
		if err != nil {
			return err
		}
		out = got
		var pending []string
		for _, n := range names {
			if !out[n].Settled() {
				pending = append(pending, n)
			}
		}
		if len(pending) > 0 {
			return fmt.Errorf("pods neither placed nor refused: %s", strings.Join(pending, ", "))
		}
		return nil
	})
	return out, err
}

// Outcomes returns what became of every pod in namespace so far.
func (c *Cluster) Outcomes(ctx context.Context, namespace string) (map[string]Outcome, error) {
	pods, err := c.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	events, err := c.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"reason": "FailedScheduling", "involvedObject.kind": "Pod"}.String(),
	})
	if err != nil {
		return nil, err
	}
	latest := map[string]v1.Event{}
	for _, e := range events.Items {
		if prev, ok := latest[e.InvolvedObject.Name]; !ok || eventTime(e).After(eventTime(prev)) {
			latest[e.InvolvedObject.Name] = e
		}
	}
	out := map[string]Outcome{}
	for _, p := range pods.Items {
		o := Outcome{Pod: p.Name, Node: p.Spec.NodeName}
		if e, ok := latest[p.Name]; ok && o.Node == "" && e.InvolvedObject.UID == p.UID {
			o.FailedScheduling = e.Message
		}
		out[p.Name] = o
	}
	return out, nil
}

// eventTime is when an Event was last seen, whichever API (core/v1 or events.k8s.io/v1,
// which kube-scheduler uses) recorded it.
func eventTime(e v1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
