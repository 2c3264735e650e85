package labeler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDiffOwned(t *testing.T) {
	tests := []struct {
		name             string
		current, desired map[string]string
		wantSet          map[string]string
		wantRemove       []string
	}{
		{
			name:    "nothing yet",
			desired: map[string]string{"rktsched.io/runtime": "docker"},
			wantSet: map[string]string{"rktsched.io/runtime": "docker"},
		},
		{
			name:    "equal",
			current: map[string]string{"rktsched.io/runtime": "docker", "team": "blue"},
			desired: map[string]string{"rktsched.io/runtime": "docker"},
			wantSet: map[string]string{},
		},
		{
			name: "changed, stale and foreign keys",
			current: map[string]string{
				"rktsched.io/runtime": "rkt", "rktsched.io/stage1": "kvm", "capability.rktsched.io/gpu": "false",
				"capability.rktsched.io/teleport": "true", "rktsched.io/zone": "a", "team": "blue",
			},
			desired:    map[string]string{"rktsched.io/runtime": "docker", "capability.rktsched.io/gpu": "true"},
			wantSet:    map[string]string{"rktsched.io/runtime": "docker", "capability.rktsched.io/gpu": "true"},
			wantRemove: []string{"capability.rktsched.io/teleport", "rktsched.io/stage1"},
		},
		{
			name:    "a desired key we do not own is never written",
			desired: map[string]string{"team": "red", "rktsched.io/runtime": "docker"},
			wantSet: map[string]string{"rktsched.io/runtime": "docker"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffOwned(tt.current, tt.desired)
			if diff := cmp.Diff(tt.wantSet, got.set); diff != "" {
				t.Errorf("set (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRemove, got.remove); diff != "" {
				t.Errorf("remove (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMergePatchBody(t *testing.T) {
	ch := labelChange{
		set:    map[string]string{"rktsched.io/runtime": "docker", "capability.rktsched.io/attach": "true"},
		remove: []string{"rktsched.io/stage1"},
	}
	got, err := ch.mergePatch()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"labels":{"capability.rktsched.io/attach":"true","rktsched.io/runtime":"docker","rktsched.io/stage1":null}}}`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("patch (-want +got):\n%s", diff)
	}
}

func TestFormatLabels(t *testing.T) {
	got := formatLabels(map[string]string{"rktsched.io/runtime": "rkt", "capability.rktsched.io/gpu": "false", "rktsched.io/stage1": "kvm"})
	want := "capability.rktsched.io/gpu=false,rktsched.io/runtime=rkt,rktsched.io/stage1=kvm"
	if got != want {
		t.Errorf("formatLabels = %q, want %q", got, want)
	}
}

func TestRuntimeName(t *testing.T) {
	tests := []struct {
		labels map[string]string
		want   string
	}{
		{nil, ""},
		{map[string]string{"rktsched.io/runtime": "docker"}, "docker"},
		{map[string]string{"rktsched.io/runtime": "rkt", "rktsched.io/stage1": "fly"}, "rkt stage1-fly"},
		{map[string]string{"rktsched.io/stage1": "fly"}, ""},
	}
	for _, tt := range tests {
		if got := runtimeName(tt.labels); got != tt.want {
			t.Errorf("runtimeName(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}
