package node

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The collector's settings are the process's, and several nodes may open
// at once in one process (a relay's gatherings, the test networks): each
// pause saving and restoring them alone could restore another's pause and
// leave collection off for good. So pauses are counted here, the one
// package-level state of node, since what it guards is itself global.
var gcPauses struct {
	sync.Mutex
	n          int
	limit      int64 // the sum of the pauses' bounds
	percent    int   // the settings before the first pause
	savedLimit int64
}

// pauseGC turns collection off until the returned function is called,
// unless the heap grows by more than bound (the bounds of pauses at the
// same time add up).
func pauseGC(bound int64) (resume func()) {
	p := &gcPauses
	p.Lock()
	defer p.Unlock()
	if p.n == 0 {
		p.percent = debug.SetGCPercent(-1)
		p.savedLimit = debug.SetMemoryLimit(-1)
		p.limit = heapInUse()
	}
	p.n++
	p.limit += bound
	debug.SetMemoryLimit(min(p.limit, p.savedLimit))
	var once sync.Once
	return func() {
		once.Do(func() {
			p.Lock()
			defer p.Unlock()
			if p.n--; p.n == 0 {
				debug.SetGCPercent(p.percent)
				debug.SetMemoryLimit(p.savedLimit)
			}
		})
	}
}

// heapInUse is the bytes of live and not yet collected heap objects.
func heapInUse() int64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}
