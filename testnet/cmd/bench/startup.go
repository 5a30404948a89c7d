package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/convene/convene/node"
	"github.com/convene/convene/testnet/proc"
)

// benchStartup times `convene run` on a data directory holding a million
// operations, from exec until its API and UI answer, and reads its peak
// memory once it serves: after a clean shutdown (state snapshot), after
// kill -9, and with no snapshot at all.
func benchStartup(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "startup", title: "Start-up with 1,000,000 operations"}
	total := 1_000_000
	if cfg.quick {
		total = 50_000
		sec.title = fmt.Sprintf("Start-up with %d operations (quick)", total)
	}
	// The floor: a node with nothing in it.
	empty := l.dir("startup-empty")
	if _, err := l.convene(ctx, "init", "--data", empty, "--name", "Empty"); err != nil {
		sec.err = err
		return sec
	}
	base, err := timedStart(ctx, l, empty)
	if err != nil {
		sec.err = fmt.Errorf("start an empty node: %w", err)
		return sec
	}
	base.p.Stop(stopTimeout)

	t := time.Now()
	w, err := generate(total, 2)
	if err != nil {
		sec.err = err
		return sec
	}
	gen := time.Since(t)
	dir := l.dir("startup")
	t = time.Now()
	if _, err := writeDataDir(ctx, dir, w, false); err != nil {
		sec.err = err
		return sec
	}
	write := time.Since(t)
	t = time.Now()
	if err := settle(ctx, dir); err != nil {
		sec.err = err
		return sec
	}
	compact := time.Since(t)
	w = nil
	runtime.GC()

	// First start: the store as a node that received everything and was
	// killed before it ever shut down cleanly would leave it.
	cold, err := timedStart(ctx, l, dir)
	if err != nil {
		sec.err = fmt.Errorf("start without a snapshot: %w", err)
		return sec
	}
	t = time.Now()
	if err := cold.p.Stop(stopTimeout); err != nil {
		sec.err = err
		return sec
	}
	stopTook := time.Since(t)
	snap, err := snapshotSize(dir)
	if err != nil {
		sec.err = err
		return sec
	}

	var clean []startResult
	for range 3 {
		r, err := timedStart(ctx, l, dir)
		if err != nil {
			sec.err = fmt.Errorf("start after a clean shutdown: %w", err)
			return sec
		}
		clean = append(clean, r)
		if len(clean) < 3 {
			if err := r.p.Stop(stopTimeout); err != nil {
				sec.err = err
				return sec
			}
		}
	}
	clean[2].p.Kill()
	crash, err := timedStart(ctx, l, dir)
	if err != nil {
		sec.err = fmt.Errorf("start after kill -9: %w", err)
		return sec
	}
	crash.p.Stop(stopTimeout)

	slices.SortFunc(clean, func(a, b startResult) int { return int(a.took - b.took) })
	med := clean[1]
	limit := 1000 * time.Millisecond
	const memLimit = 200e6
	sec.rows = append(sec.rows,
		row{budget: "startup time", what: "start and serve, after a clean shutdown (median of 3)", value: ms(med.took), limit: "≤ 1000 ms", ratio: float64(med.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory (VmHWM), after a clean shutdown", value: mb(med.rss), limit: "≤ 200 MB", ratio: float64(med.rss) / memLimit},
		row{budget: "startup time", what: "start and serve, after kill -9", value: ms(crash.took), limit: "≤ 1000 ms", ratio: float64(crash.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory, after kill -9", value: mb(crash.rss), limit: "≤ 200 MB", ratio: float64(crash.rss) / memLimit},
		row{budget: "startup time", what: "start and serve, no snapshot (rebuild from the log)", value: ms(cold.took), limit: "≤ 1000 ms", ratio: float64(cold.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory, no snapshot", value: mb(cold.rss), limit: "≤ 200 MB", ratio: float64(cold.rss) / memLimit},
	)
	size, _ := dirSize(dir)
	sec.details = append(sec.details,
		fmt.Sprintf("The data directory: %d operations of the realistic mix (sealed on all cores in %s, written straight into the pebble store in %s, then compacted in %s as a node that ran for a while would have it), %s on disk at the end.", total, gen.Round(time.Millisecond), write.Round(time.Millisecond), compact.Round(time.Millisecond), mb(size)),
		"Each start is timed from exec of `convene run --no-mdns --ui 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0` until both `GET /api/v1/status` and `GET /` answered 200; the peak RSS is VmHWM from /proc/PID/status read then.",
		fmt.Sprintf("For comparison, a node holding only its first operations (just made by `convene init`) starts and serves in %s, within %s.", ms(base.took), mb(base.rss)),
		fmt.Sprintf("After a clean shutdown (SIGTERM, which saves a state snapshot): %s, %s, %s, printed its UI address after %s.",
			ms(clean[0].took), ms(clean[1].took), ms(clean[2].took), ms(med.printed)),
		fmt.Sprintf("After kill -9 of a node started from a clean shutdown (the snapshot of that shutdown is still there): %s, %s.", ms(crash.took), mb(crash.rss)),
		fmt.Sprintf("With no snapshot (the store as written, never opened by a node): %s, %s. Its clean shutdown, which writes the state snapshot (%s, in state.snap), took %s.", ms(cold.took), mb(cold.rss), mb(snap), ms(stopTook)),
	)
	if sec.missed() {
		profileOpen(ctx, &sec, dir)
	}
	return sec
}

type startResult struct {
	p       *proc.Proc
	took    time.Duration // exec until status and / answered
	printed time.Duration // exec until the ui: line
	rss     int64
}

// timedStart starts a node on dir and waits until its API and UI answer.
func timedStart(ctx context.Context, l *lab, dir string, extra ...string) (startResult, error) {
	p, err := l.start(ctx, dir, extra...)
	if err != nil {
		return startResult{}, err
	}
	r := startResult{p: p, printed: p.Printed.Sub(p.Started)}
	for _, path := range []string{"/api/v1/status", "/"} {
		err := poll(ctx, 2*time.Millisecond, time.Minute, func() (bool, error) {
			_, err := p.API.Get(ctx, path, nil)
			return err == nil, nil
		})
		if err != nil {
			p.Kill()
			return startResult{}, fmt.Errorf("GET %s: %w", path, err)
		}
	}
	r.took = time.Since(p.Started)
	if r.rss, err = peakRSS(p); err != nil {
		p.Kill()
		return startResult{}, err
	}
	return r, nil
}

// profileOpen opens the node on dir in this process under the CPU profiler,
// then reads its heap: convene run spends its start-up in node.Open, and
// holds the state it loads.
func profileOpen(ctx context.Context, sec *section, dir string) {
	var n *node.Node
	var took time.Duration
	top, err := hotSpots(func() error {
		t := time.Now()
		var err error
		n, err = node.Open(ctx, node.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
		took = time.Since(t)
		return err
	})
	sec.addProfile(fmt.Sprintf("CPU profile of node.Open on the same data directory in this process (%s)", ms(took)), top, err)
	if n == nil {
		return
	}
	defer n.Close()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.CreateTemp("", "convene-bench-*.heap")
	if err != nil {
		return
	}
	defer os.Remove(f.Name())
	err = pprof.Lookup("heap").WriteTo(f, 0)
	f.Close()
	if err != nil {
		return
	}
	heap, err := pprofTop(f.Name(), "-sample_index=inuse_space")
	sec.addProfile(fmt.Sprintf("Heap in use after node.Open (%s in use of %s taken from the OS by the whole benchmark process)", mb(int64(ms.HeapInuse)), mb(int64(ms.Sys))), heap, err)
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}
