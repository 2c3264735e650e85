// Package policytest helps tests edit policy documents, above all the built-in one.
package policytest

import (
	"strings"
	"testing"

	"github.com/rktsched/rktsched/policy"
)

// EditDefault returns the built-in policy document with each old string replaced by its new
// one (arguments: old, new, old, new, ...). See Replace.
func EditDefault(t testing.TB, oldNew ...string) string {
	t.Helper()
	return Replace(t, string(policy.DefaultDocument()), oldNew...)
}

// Replace returns doc with each old string replaced by its new one (arguments: old, new, ...).
// Every old must occur exactly once in the document as edited so far, or the test fails at
// once: a test must never go on with a policy its edit missed (default.yaml was reworded)
// or hit somewhere else than meant.
func Replace(t testing.TB, doc string, oldNew ...string) string {
	t.Helper()
	if len(oldNew)%2 != 0 {
		t.Fatalf("policytest.Replace: %d arguments, want old, new pairs", len(oldNew))
	}
	for i := 0; i < len(oldNew); i += 2 {
		old, new := oldNew[i], oldNew[i+1]
		if n := strings.Count(doc, old); n != 1 {
			t.Fatalf("policy document holds %q %d times, want once: update the test", old, n)
		}
		doc = strings.Replace(doc, old, new, 1)
	}
	return doc
}
