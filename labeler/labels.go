package labeler

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/rktsched/rktsched/policy"
)

// labelChange is the smallest write that brings a node's owned labels to the desired set.
type labelChange struct {
	set    map[string]string // owned keys to add or change
	remove []string          // owned keys to delete, sorted
}

// diffOwned compares the owned labels a node carries with the ones it should carry. Keys that
// rktsched does not own are never part of the change, whichever side they appear on.
func diffOwned(current, desired map[string]string) labelChange {
	ch := labelChange{set: map[string]string{}}
	for k, v := range desired {
		if !policy.OwnedLabel(k) {
			continue // the policy only computes owned keys; never write anyone else's
		}
		if got, ok := current[k]; !ok || got != v {
			ch.set[k] = v
		}
	}
	for k := range current {
		if _, keep := desired[k]; !keep && policy.OwnedLabel(k) {
			ch.remove = append(ch.remove, k)
		}
	}
	slices.Sort(ch.remove)
	return ch
}

// ownedLabelsEqual reports whether a and b carry the same owned labels.
func ownedLabelsEqual(a, b map[string]string) bool {
	n := 0
	for k, v := range a {
		if !policy.OwnedLabel(k) {
			continue
		}
		n++
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	for k := range b {
		if policy.OwnedLabel(k) {
			n--
		}
	}
	return n == 0
}

func (ch labelChange) empty() bool { return len(ch.set) == 0 && len(ch.remove) == 0 }

// setKeys lists the keys the change sets, sorted, for logs.
func (ch labelChange) setKeys() []string { return slices.Sorted(maps.Keys(ch.set)) }

// mergePatch is a JSON merge patch (RFC 7386) of just the changed keys under metadata.labels:
// a value sets a key, null deletes it, and every key not named is left alone.
func (ch labelChange) mergePatch() ([]byte, error) {
	labels := make(map[string]*string, len(ch.set)+len(ch.remove))
	for k, v := range ch.set {
		labels[k] = &v
	}
	for _, k := range ch.remove {
		labels[k] = nil
	}
	type metadata struct {
		Labels map[string]*string `json:"labels"`
	}
	return json.Marshal(struct {
		Metadata metadata `json:"metadata"`
	}{metadata{labels}}) // encoding/json sorts map keys: the same change is the same bytes
}

// formatLabels renders labels as "k=v,k=v", sorted by key.
func formatLabels(labels map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + labels[k])
	}
	return b.String()
}

// runtimeName names the runtime profile that a set of labels declares the way the policy names
// classes: "docker", "rkt stage1-coreos". Empty when the labels carry no runtime.
func runtimeName(labels map[string]string) string {
	name := labels[policy.LabelRuntime]
	if s := labels[policy.LabelStage1]; name != "" && s != "" {
		name += " stage1-" + s
	}
	return name
}
