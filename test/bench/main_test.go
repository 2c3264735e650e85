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

func TestParseModes(t *testing.T) {
	got, err := parseModes("none,noop,names,nodes")
	if err != nil || len(got) != 4 || got[1] != noopMode {
		t.Errorf("parseModes(all) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "names,none", "none,fast"} {
		if _, err := parseModes(bad); err == nil {
			t.Errorf("parseModes(%q) accepted", bad)
		}
	}
}

func TestRoundOrder(t *testing.T) {
	modes := []mode{withoutExtender, noopMode, namesMode}
	if got := roundOrder(modes, 1); !slices.Equal(got, modes) {
		t.Errorf("round 1: %v, want %v", got, modes)
	}
	want := []mode{withoutExtender, namesMode, noopMode}
	if got := roundOrder(modes, 2); !slices.Equal(got, want) {
		t.Errorf("round 2: %v, want %v", got, want)
	}
	if modes[1] != noopMode {
		t.Errorf("roundOrder changed its argument: %v", modes)
	}
}
