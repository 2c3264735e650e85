package main

import (
	"slices"
	"testing"
)

func TestParseSizes(t *testing.T) {
	for list, want := range map[string][]int{"1000": {1000}, "1000,2500,5000": {1000, 2500, 5000}} {
		if got, err := parseSizes(list); err != nil || !slices.Equal(got, want) {
			t.Errorf("parseSizes(%q) = %v, %v; want %v", list, got, err, want)
		}
	}
	// The cluster only grows: a size below or equal to the last would need nodes deleted.
	for _, list := range []string{"", "0", "1000,", "x", "2500,1000", "1000,1000"} {
		if got, err := parseSizes(list); err == nil {
			t.Errorf("parseSizes(%q) = %v, want an error", list, got)
		}
	}
}
