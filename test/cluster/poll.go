package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// PollInterval is how often Poll checks.
const PollInterval = 200 * time.Millisecond

// Poll calls check until it returns nil, or an error made with Permanent, or timeout passes.
// Any other error means "not yet", and on timeout the last one is returned, so that the
// caller can say what it was still waiting for.
func Poll(ctx context.Context, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if perm := (permanentError{}); errors.As(err, &perm) {
			return perm.err
		}
		// A check cut short by the deadline says less than the one before it.
		if last == nil || ctx.Err() == nil && !cutShort(err) {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still so after %v: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// cutShort reports whether err only says the deadline is near: client-go's rate limiter
// refuses to wait past it ("rate: Wait(n=1) would exceed context deadline") before the
// context itself has ended.
func cutShort(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "would exceed context deadline")
}

// Permanent marks an error that stops Poll at once.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }
