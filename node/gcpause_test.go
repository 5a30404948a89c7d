package node

import (
	"runtime/debug"
	"sync"
	"testing"
)

// TestPauseGC: pauses that overlap, from several goroutines and in any
// order of ending, leave the collector as it was once the last ends, and
// keep it off while any lasts.
func TestPauseGC(t *testing.T) {
	percent := debug.SetGCPercent(-1)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1)

	first := pauseGC(1 << 20)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("collection at %d%% during a pause", got)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resume := pauseGC(1 << 20)
			defer resume()
			if got := debug.SetMemoryLimit(-1); got >= limit && limit != 0 {
				t.Errorf("no bound during a pause: limit %d", got)
			}
		})
	}
	wg.Wait()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("collection back at %d%% while the first pause lasts", got)
	}
	first()
	first() // twice changes nothing
	if got := debug.SetGCPercent(percent); got != percent {
		t.Errorf("after the pauses: collection at %d%%, want %d%%", got, percent)
	}
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("after the pauses: memory limit %d, want %d", got, limit)
	}
}
