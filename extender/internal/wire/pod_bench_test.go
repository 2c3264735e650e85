package wire

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// apiserverPod is a bench-e2e workload pod as kube-apiserver returned it on creation, compact
// as kube-scheduler sends it: managedFields are 3.2 of its 7.1 KB.
func apiserverPod(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile("testdata/pod-from-apiserver.json")
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func BenchmarkUnmarshalPod(b *testing.B) {
	raw := apiserverPod(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var pod v1.Pod
		if err := UnmarshalPod(raw, &pod); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanPod(b *testing.B) {
	raw := apiserverPod(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ScanPod(raw); err != nil {
			b.Fatal(err)
		}
	}
}
