package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/internal/cputime"
	"github.com/convene/convene/node"
)

// ingestBatch is about what one reconciliation or gossip batch carries
// (node/mesh packs up to 256 KiB).
const ingestBatch = 512

// benchIngest compares node.Ingest (decode, verify, open, check, one synced
// pebble batch, apply) with bare ed25519 verification of the same
// envelopes, on one core and on all cores.
func benchIngest(ctx context.Context, l *lab, cfg config) section {
	sec := section{name: "ingest", title: "Verified-operation ingest rate"}
	n := 40_000
	if cfg.quick {
		n = 4_000
	}
	w, err := generate(n, 1)
	if err != nil {
		sec.err = err
		return sec
	}
	bulk := w.envs[w.setup:]
	raws := w.raws(bulk)
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	sec.details = append(sec.details,
		fmt.Sprintf("%d operations of the realistic mix (revisions, endorsements, comments, registrations, proposals), %d bytes on average, ingested in batches of %d into a fresh pebble store, each batch one synced write.",
			len(bulk), size/len(bulk), ingestBatch),
		"The ratio is ingest rate ÷ the standard library's single ed25519.Verify rate on the same envelopes and cores, the two timed batch by batch in turn in the same run; the budget wants ≥ 1.5, so the table shows 1.5 ÷ ratio (≤ 1 is within budget).")

	cores := []int{1}
	if runtime.NumCPU() > 1 {
		cores = append(cores, runtime.NumCPU())
	}
	for _, procs := range cores {
		r, err := ingestOnce(ctx, l, w, raws, bulk, procs)
		if err != nil {
			sec.err = err
			return sec
		}
		ratio := r.ingest / r.verify
		sec.rows = append(sec.rows, row{
			budget: "ingest",
			what:   fmt.Sprintf("ingest ÷ ed25519 verify, %d core%s", procs, plural(procs)),
			value:  fmt.Sprintf("%.2f (%.0f ops/s ÷ %.0f verify/s)", ratio, r.ingest, r.verify),
			limit:  "≥ 1.50",
			ratio:  1.5 / ratio,
		})
		if r.ingestCPU > 0 {
			sec.details = append(sec.details, fmt.Sprintf("By CPU time, %d core%s: ingest %.0f ops per CPU second, single verify %.0f per CPU second, ratio %.2f (the process's CPU time, so the waits for the disk and for a core on a shared machine are left out).",
				procs, plural(procs), r.ingestCPU, r.verifyCPU, r.ingestCPU/r.verifyCPU))
		}
	}
	if sec.missed() {
		top, err := hotSpots(func() error {
			prev := runtime.GOMAXPROCS(1)
			defer runtime.GOMAXPROCS(prev)
			nd, err := ingestNode(ctx, l, w)
			if err != nil {
				return err
			}
			defer nd.Close()
			_, err = ingestAll(ctx, nd, raws)
			return err
		})
		sec.addProfile("CPU profile of the one-core ingest", top, err)
	}
	return sec
}

// rates is one ingestOnce: operations per second of ingest and of single
// verify, in wall time and in this process's CPU time.
type rates struct {
	ingest, verify       float64 // per wall second
	ingestCPU, verifyCPU float64 // per CPU second (0: not read)
}

// ingestOnce measures both rates with GOMAXPROCS set to procs. The two are
// interleaved batch by batch (ingest a batch, then verify the same
// envelopes alone), so that other work on a shared machine weighs on both
// alike. The single verify is the standard library's ed25519.Verify, the
// fastest single check there is (the rule set's own single check,
// Envelope.Verify, is slower: it also screens both points). CPU time is
// the process's (every goroutine, the store's and the GC's included), read
// around each part: on a loaded machine it shows the work apart from the
// waits for a core.
func ingestOnce(ctx context.Context, l *lab, w *workload, raws [][]byte, envs []*crdt.Envelope, procs int) (rates, error) {
	prev := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(prev)
	nd, err := ingestNode(ctx, l, w)
	if err != nil {
		return rates{}, err
	}
	defer nd.Close()
	runtime.GC()
	var inTook, vTook, inCPU, vCPU time.Duration
	for lo := 0; lo < len(raws); lo += ingestBatch {
		hi := min(lo+ingestBatch, len(raws))
		c0 := cputime.Process()
		took, err := ingestAll(ctx, nd, raws[lo:hi])
		if err != nil {
			return rates{}, err
		}
		c1 := cputime.Process()
		inTook += took
		start := time.Now()
		if err := parallel(hi-lo, func(i int) error { return stdVerify(envs[lo+i]) }); err != nil {
			return rates{}, err
		}
		vTook += time.Since(start)
		inCPU += c1 - c0
		vCPU += cputime.Process() - c1
	}
	r := rates{ingest: float64(len(raws)) / inTook.Seconds(), verify: float64(len(envs)) / vTook.Seconds()}
	if inCPU > 0 && vCPU > 0 {
		r.ingestCPU, r.verifyCPU = float64(len(raws))/inCPU.Seconds(), float64(len(envs))/vCPU.Seconds()
	}
	return r, nil
}

// stdVerify is the standard library's single ed25519 check of e.
func stdVerify(e *crdt.Envelope) error {
	raw := e.Bytes()
	n := len(raw) - ed25519.SignatureSize
	if !ed25519.Verify(e.Author[:], raw[:n], raw[n:]) {
		return fmt.Errorf("operation %s: bad signature", e.ID())
	}
	return nil
}

// ingestNode is a fresh node of w's gathering that already holds w's setup
// operations (identities, groups, sessions, first proposals).
func ingestNode(ctx context.Context, l *lab, w *workload) (*node.Node, error) {
	dir := l.dir("ingest")
	if err := node.Join(ctx, dir, w.creds, "bench"); err != nil {
		return nil, err
	}
	nd, err := node.Open(ctx, node.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if _, err := ingestAll(ctx, nd, w.raws(w.envs[:w.setup])); err != nil {
		nd.Close()
		return nil, err
	}
	return nd, nil
}

func ingestAll(ctx context.Context, nd *node.Node, raws [][]byte) (time.Duration, error) {
	start := time.Now()
	for lo := 0; lo < len(raws); lo += ingestBatch {
		batch := raws[lo:min(lo+ingestBatch, len(raws))]
		res, err := nd.Ingest(ctx, batch)
		if err != nil {
			return 0, err
		}
		if res.Added != len(batch) {
			return 0, fmt.Errorf("ingest: %d of %d added, %d rejected (%v)", res.Added, len(batch), res.Rejected, res.FirstError)
		}
	}
	return time.Since(start), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
