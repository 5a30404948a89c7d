// Package wait polls a condition until it holds: the one wait-until loop
// of the tests (through internal/testkit) and the benchmarks.
package wait

import (
	"context"
	"fmt"
	"time"
)

// Until calls cond until it reports done or an error, waiting interval
// between calls, doubled after each up to maxInterval (pass the same value
// twice for a fixed period, where polling times something). It gives up
// when ctx ends or after limit, with an error carrying the state cond last
// reported.
func Until(ctx context.Context, limit, interval, maxInterval time.Duration, cond func() (done bool, state string, err error)) error {
	deadline := time.Now().Add(limit)
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		done, state, err := cond()
		if err != nil || done {
			return err
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("not done after %v; last state: %s", limit, state)
		}
		t.Reset(min(interval, time.Until(deadline)))
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; last state: %s", context.Cause(ctx), state)
		case <-t.C:
		}
		interval = min(interval*2, maxInterval)
	}
}
