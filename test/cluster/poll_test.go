package cluster

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	errNotYet, errBroken := errors.New("not yet"), errors.New("broken")
	for _, tc := range []struct {
		name      string
		results   []error // check's results in turn; the last one repeats
		wantErr   error
		wantCalls int
	}{
		{"ready at once", []error{nil}, nil, 1},
		{"ready on the third call", []error{errNotYet, errNotYet, nil}, nil, 3},
		{"permanent stops at once", []error{errNotYet, Permanent(errBroken)}, errBroken, 2},
		{"timeout returns the last reason", []error{errNotYet}, errNotYet, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			err := Poll(context.Background(), 3*PollInterval, func(context.Context) error {
				calls++
				return tc.results[min(calls, len(tc.results))-1]
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Poll() = %v, want %v", err, tc.wantErr)
			}
			if tc.wantCalls >= 0 && calls != tc.wantCalls {
				t.Errorf("check called %d times, want %d", calls, tc.wantCalls)
			}
			if tc.wantCalls < 0 && calls < 2 {
				t.Errorf("check called %d times before the timeout, want several", calls)
			}
		})
	}
}

// TestPollKeepsReasonOverDeadline: a check that fails because the deadline passed mid-call
// must not hide the reason the earlier checks gave.
func TestPollKeepsReasonOverDeadline(t *testing.T) {
	errNotYet := errors.New("node x lacks label y")
	err := Poll(context.Background(), 2*PollInterval, func(ctx context.Context) error {
		<-time.After(PollInterval / 2)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errNotYet
	})
	if !errors.Is(err, errNotYet) {
		t.Errorf("Poll() = %v, want it to wrap %v", err, errNotYet)
	}
}

func TestPollStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Poll(ctx, time.Minute, func(context.Context) error { return errors.New("never") }); err == nil {
		t.Error("Poll() = nil on a cancelled context")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Poll took %v on a cancelled context", d)
	}
}
