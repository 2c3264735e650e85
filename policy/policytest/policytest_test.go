package policytest

import (
	"strings"
	"testing"
)

// fakeT records a Fatalf instead of ending the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = format
	panic(f)
}

func replace(doc string, oldNew ...string) (out string, failed bool) {
	f := &fakeT{}
	defer func() {
		if r := recover(); r != nil {
			if r != f {
				panic(r)
			}
			failed = true
		}
	}()
	return Replace(f, doc, oldNew...), false
}

func TestReplace(t *testing.T) {
	if got, failed := replace("a: 1\nb: 2\n", "a: 1", "a: 3", "b: 2", "b: 4"); failed || got != "a: 3\nb: 4\n" {
		t.Errorf("Replace = %q, failed %v", got, failed)
	}
	for _, tt := range []struct {
		name   string
		oldNew []string
	}{
		{"nothing to replace", []string{"c: 1", "c: 2"}},
		{"twice", []string{"x", "y"}},
		{"odd arguments", []string{"a: 1"}},
		{"gone after an earlier edit", []string{"a: 1", "a: 3", "a: 1", "a: 5"}},
	} {
		if _, failed := replace("a: 1\nx x\n", tt.oldNew...); !failed {
			t.Errorf("%s: Replace did not fail the test", tt.name)
		}
	}
}

func TestEditDefault(t *testing.T) {
	doc := EditDefault(t, "gpu:                   {action: filter", "gpu:                   {action: ignore")
	if !strings.Contains(doc, "gpu:                   {action: ignore") {
		t.Error("EditDefault did not edit")
	}
}
