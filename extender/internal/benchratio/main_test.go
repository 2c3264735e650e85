package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRatios(t *testing.T) {
	in := `goos: linux
BenchmarkExtender/filter/names/5000-2   	    2638	    845639 ns/op	 257.13 MB/s	  344592 B/op	      37 allocs/op
BenchmarkExtender/filter/nodes/5000-2   	      33	  60000000 ns/op	 563.51 MB/s	19661375 B/op	      39 allocs/op
BenchmarkExtender/filter/nodes/5000-2   	      33	  62000000 ns/op
BenchmarkExtender/prioritize/names/100   	      33	  10 ns/op
BenchmarkFloor/filter/nodes/5000-2      	       4	 610000000 ns/op	  57.17 MB/s	346028490 B/op	 1729613 allocs/op
BenchmarkFloor/filter/names/5000-2      	    1126	   2429635 ns/op
BenchmarkOther/filter/names/5000-2      	    1126	   1 ns/op
PASS
`
	var out bytes.Buffer
	if err := (pairing{"BenchmarkExtender", "BenchmarkFloor", "ns/op"}).ratios(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := "RATIO filter/names/5000 0.35\nRATIO filter/nodes/5000 0.10\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// The extenderpath benchmarks name their side in a middle segment and compare cpu-ns/pod.
func TestRatiosBySegment(t *testing.T) {
	in := `BenchmarkCycle/noop/5000-2     	  200	 2123838 ns/op	 2000000 cpu-ns/pod	 481.2 names/pod
BenchmarkCycle/rktsched/5000-2 	  200	 2393702 ns/op	 2400000 cpu-ns/pod	 481.2 names/pod
BenchmarkCycle/rktsched/5000-2 	  200	 2393702 ns/op	 2600000 cpu-ns/pod	 481.2 names/pod
BenchmarkServe/rktsched/5000-2 	  200	 2393702 ns/op
BenchmarkServe/noop/5000-2 	  200	 2393702 ns/op
`
	var out bytes.Buffer
	if err := (pairing{"rktsched", "noop", "cpu-ns/pod"}).ratios(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("RATIO Cycle/5000 1.25\n", out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
