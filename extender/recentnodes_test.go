package extender

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRecentNodes(t *testing.T) {
	r := newRecentNodes(time.Hour)
	a := &nodeEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "5"}, runtimeVersion: "docker://1.12.6"}
	r.put("a", a)
	r.put("no-version", &nodeEntry{runtimeVersion: "docker://1.12.6"})
	tests := []struct {
		name, node, rv string
		want           *nodeEntry
	}{
		{"same version", "a", "5", a},
		{"other version", "a", "6", nil},
		{"no version asked", "a", "", nil},
		{"never remembered without a version", "no-version", "", nil},
		{"unknown", "b", "5", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.get([]byte(tt.node), []byte(tt.rv)); got != tt.want {
				t.Errorf("get(%s, %q) = %v, want %v", tt.node, tt.rv, got, tt.want)
			}
		})
	}
	if r.anyVersion([]byte("a")) != a {
		t.Error("anyVersion(a) did not find a")
	}
}

// TestRecentNodesForget: a node not seen for two periods is forgotten, one seen in between is kept.
func TestRecentNodesForget(t *testing.T) {
	r := newRecentNodes(time.Millisecond)
	r.put("gone", &nodeEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1"}})
	r.put("live", &nodeEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1"}})
	time.Sleep(5 * time.Millisecond)
	r.put("other", &nodeEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1"}}) // rotates: gone and live become old
	if r.anyVersion([]byte("live")) == nil {                                        // seen again: back to current
		t.Fatal("live forgotten after one period")
	}
	time.Sleep(5 * time.Millisecond)
	r.put("other", &nodeEntry{ObjectMeta: metav1.ObjectMeta{ResourceVersion: "2"}}) // rotates again: gone is dropped
	if r.anyVersion([]byte("gone")) != nil {
		t.Error("gone still remembered after two periods")
	}
	if r.anyVersion([]byte("live")) == nil {
		t.Error("live forgotten although seen in the last period")
	}
}
