//go:build e2e

package e2e

import (
	"context"
	"testing"
)

// step is one stage of an end-to-end run on a shared environment E.
type step[E any] struct {
	name string
	run  func(context.Context, *testing.T, E)
	// critical steps leave the environment unusable for later steps when they fail.
	critical bool
}

// runSteps runs steps in order as subtests of t on e; a failed critical step ends the run.
func runSteps[E any](ctx context.Context, t *testing.T, e E, steps []step[E]) {
	t.Helper()
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.run(ctx, t, e) }) && s.critical {
			t.Fatalf("%q failed; the later steps need it", s.name)
		}
	}
}
