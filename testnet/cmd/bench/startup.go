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
// memory once it serves: after a clean shutdown (state snapshot and saved
// reconciliation index), after kill -9, and with no snapshot at all. The
// same starts at a hundredth and a tenth of the size make the growth table.
func benchStartup(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "startup", title: "Start-up with 1,000,000 operations"}
	sizes := []int{10_000, 100_000, 1_000_000}
	if cfg.quick {
		sizes = []int{2_000, 10_000, 50_000}
		sec.title = fmt.Sprintf("Start-up with %d operations (quick)", sizes[2])
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

	var all []startup
	for i, total := range sizes {
		runs := 1
		if i == len(sizes)-1 {
			runs = 3
		}
		fmt.Fprintf(os.Stderr, "bench:   startup with %d operations...\n", total)
		su, err := startupAt(ctx, l, total, runs)
		if err != nil {
			sec.err = fmt.Errorf("%d operations: %w", total, err)
			return sec
		}
		all = append(all, su)
		if i < len(sizes)-1 {
			os.RemoveAll(su.dir) // only the largest is profiled
		}
	}
	su := all[len(all)-1]
	med := su.clean[1]
	limit := 1000 * time.Millisecond
	const memLimit = 200e6
	sec.rows = append(sec.rows,
		row{budget: "startup time", what: "start and serve, after a clean shutdown (median of 3)", value: ms(med.took), limit: "≤ 1000 ms", ratio: float64(med.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory (VmHWM), after a clean shutdown", value: mb(med.rss), limit: "≤ 200 MB", ratio: float64(med.rss) / memLimit},
		row{budget: "startup time", what: "start and serve, after kill -9", value: ms(su.crash.took), limit: "≤ 1000 ms", ratio: float64(su.crash.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory, after kill -9", value: mb(su.crash.rss), limit: "≤ 200 MB", ratio: float64(su.crash.rss) / memLimit},
		row{budget: "startup time", what: "start and serve, no snapshot (rebuild from the log)", value: ms(su.cold.took), limit: "≤ 1000 ms", ratio: float64(su.cold.took) / float64(limit)},
		row{budget: "startup memory", what: "peak memory, no snapshot", value: mb(su.cold.rss), limit: "≤ 200 MB", ratio: float64(su.cold.rss) / memLimit},
	)
	sec.details = append(sec.details,
		fmt.Sprintf("The data directory: %d operations of the realistic mix (sealed on all cores in %s, written straight into the pebble store in %s, then compacted in %s as a node that ran for a while would have it), %s on disk at the end.", su.total, su.gen.Round(time.Millisecond), su.write.Round(time.Millisecond), su.compact.Round(time.Millisecond), mb(su.size)),
		"Each start is timed from exec of `convene run --no-mdns --ui 127.0.0.1:0 --listen /ip4/127.0.0.1/tcp/0` until both `GET /api/v1/status` and `GET /` answered 200; the peak RSS is VmHWM from /proc/PID/status read then.",
		fmt.Sprintf("For comparison, a node holding only its first operations (just made by `convene init`) starts and serves in %s, within %s.", ms(base.took), mb(base.rss)),
		fmt.Sprintf("After a clean shutdown (SIGTERM, which saves the state snapshot and the reconciliation index): %s, %s, %s, printed its UI address after %s.",
			ms(su.clean[0].took), ms(su.clean[1].took), ms(su.clean[2].took), ms(med.printed)),
		fmt.Sprintf("After kill -9 of a node started from a clean shutdown (the snapshot of that shutdown is still there, the saved index is not trusted): %s, %s.", ms(su.crash.took), mb(su.crash.rss)),
		fmt.Sprintf("With no snapshot (the store as written, never opened by a node): %s, %s. Its clean shutdown, which writes the state snapshot (%s, in state.snap) and the index, took %s.", ms(su.cold.took), mb(su.cold.rss), mb(su.snap), ms(su.stopTook)),
	)
	growth := "| operations | clean start | peak memory | after kill -9 | peak memory | no snapshot | peak memory | on disk |\n|---|---|---|---|---|---|---|---|\n"
	for _, g := range all {
		c := g.clean[len(g.clean)/2]
		growth += fmt.Sprintf("| %d | %s | %s | %s | %s | %s | %s | %s |\n", g.total, ms(c.took), mb(c.rss), ms(g.crash.took), mb(g.crash.rss), ms(g.cold.took), mb(g.cold.rss), mb(g.size))
	}
	sec.growth = append(sec.growth, "Start-up time and peak memory by size (the clean start is the median where several ran):\n\n"+growth)
	if sec.missed() {
		profileOpen(ctx, &sec, su.dir)
	}
	return sec
}

// startup is what startupAt measured at one size.
type startup struct {
	total               int
	dir                 string
	gen, write, compact time.Duration
	cold, crash         startResult
	clean               []startResult
	stopTook            time.Duration
	snap, size          int64
}

// startupAt builds a data directory of total operations and starts a node
// on it: first with no snapshot, then runs times after a clean shutdown,
// then after kill -9 of the last of those.
func startupAt(ctx context.Context, l *lab, total, runs int) (startup, error) {
	su := startup{total: total}
	t := time.Now()
	w, err := generate(total, 2)
	if err != nil {
		return su, err
	}
	su.gen = time.Since(t)
	su.dir = l.dir(fmt.Sprintf("startup-%d", total))
	t = time.Now()
	if _, err := writeDataDir(ctx, su.dir, w, false); err != nil {
		return su, err
	}
	su.write = time.Since(t)
	t = time.Now()
	if err := settle(ctx, su.dir); err != nil {
		return su, err
	}
	su.compact = time.Since(t)
	w = nil
	runtime.GC()

	// First start: the store as a node that received everything and was
	// killed before it ever shut down cleanly would leave it.
	if su.cold, err = timedStart(ctx, l, su.dir); err != nil {
		return su, fmt.Errorf("start without a snapshot: %w", err)
	}
	t = time.Now()
	if err := su.cold.p.Stop(stopTimeout); err != nil {
		return su, err
	}
	su.stopTook = time.Since(t)
	if su.snap, err = snapshotSize(su.dir); err != nil {
		return su, err
	}
	for range runs {
		r, err := timedStart(ctx, l, su.dir)
		if err != nil {
			return su, fmt.Errorf("start after a clean shutdown: %w", err)
		}
		su.clean = append(su.clean, r)
		if len(su.clean) < runs {
			if err := r.p.Stop(stopTimeout); err != nil {
				return su, err
			}
		}
	}
	su.clean[runs-1].p.Kill()
	if su.crash, err = timedStart(ctx, l, su.dir); err != nil {
		return su, fmt.Errorf("start after kill -9: %w", err)
	}
	su.crash.p.Stop(stopTimeout)
	slices.SortFunc(su.clean, func(a, b startResult) int { return int(a.took - b.took) })
	su.size, _ = dirSize(su.dir)
	return su, nil
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
