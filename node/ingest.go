package node

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/mesh"
)

// The one path by which operations from elsewhere (gossip, reconciliation,
// bundles, the HTTP import) reach a log, on a member and on a hub alike:
//
//	decode → drop what is held, repeated or refused recently (once, before
//	any signature check) → check drift → verify → open → one synced
//	commit → apply → notify
//
// A hub cannot open or apply: its keeper stores sealed operations.

// IngestResult counts what Ingest did.
type IngestResult = mesh.Ingested

// keeper is what differs between the replicas that share the pipeline.
type keeper interface {
	// held reports whether e is stored already; it must not wait for a
	// synced write, which the pipeline overlaps with checking.
	held(e *crdt.Envelope) bool
	// open reads a verified envelope (a hub returns a zero Op),
	// decrypting into buf's storage, which it returns for the next
	// (crdt.Keyring.OpenInto).
	open(e *crdt.Envelope, buf []byte) (crdt.Op, []byte, error)
	// commit stores envs (ops[i] is the opened envs[i]) as one synced
	// write, applies them, and returns those that were new, in order.
	commit(ctx context.Context, envs []*crdt.Envelope, ops []crdt.Op) ([]*crdt.Envelope, error)
}

// pipeline takes in a gathering's operations for a keeper.
type pipeline struct {
	// door admits an encoding of this gathering with a valid admission
	// tag: the member's keys, or a hub's ticket.
	door crdt.Admitter
	k    keeper
	// now refuses clocks too far ahead of it, on members and hubs alike.
	now func() time.Time
	// unknownEpoch, if set, hears of each operation refused at the door
	// for an epoch the door holds no key for (a hub asks for the next
	// ticket then, see mesh/handover.go).
	unknownEpoch func(epoch uint64)

	// verified counts signature checks, so that tests can tell that a
	// duplicate cost none.
	verified atomic.Int64
	// keys remembers decoded author keys across batches.
	keys     crdt.Verifier
	refused  refusedCache
	group    groupCommit
	inflight inflight
}

// ingestChunk is the most operations Ingest checks before handing them to
// the writer. Each synced write costs a fixed ~0.6 ms plus its bytes, and
// with GOMAXPROCS=1 it overlaps little with checking (the runtime hands
// the blocked P on only when sysmon notices, often after the fsync is
// over), so inputs of the usual batch sizes (256–512) are one write, and
// only large ones (bundles) are pipelined. Splitting a batch of 512 in
// chunks of 192 on two cores, to check one while the previous one is
// committed, measured no better on the loaded benchmark machine (each
// hand-over between goroutines waits for a core there): see
// docs/DECISIONS.md.
const ingestChunk = 1024

// ingest checks, stores and applies encoded operations. Bad ones are
// skipped and counted in the result; they are never stored. The error is
// for a failure to store the good ones; the operations stored before it
// stay stored and are counted in Added.
//
// A large input is pipelined: while one chunk's synced write is under way
// (which leaves the CPU free), the next chunk's signatures are checked, and
// the writer takes everything checked meanwhile as its next batch.
// AllOrNothing checks everything before it stores anything.
func (p *pipeline) ingest(ctx context.Context, raws [][]byte, pol mesh.Policy) (IngestResult, error) {
	var res IngestResult
	raws = distinct(raws, &res)
	chunk := ingestChunk
	if pol == mesh.AllOrNothing {
		chunk = max(len(raws), 1)
	}
	w := newIngestWriter(ctx, p, len(raws) > chunk)
	var claimed []crdt.OpID
	defer func() { p.inflight.release(claimed) }()
	for lo := 0; lo < len(raws) && !w.failed(); lo += chunk {
		envs, ops := p.check(raws[lo:min(lo+chunk, len(raws))], &res, &claimed)
		if pol == mesh.AllOrNothing && res.Bad > 0 {
			envs, ops = nil, nil
		}
		w.add(envs, ops)
	}
	fresh, offered, err := w.finish()
	res.Fresh, res.Added = fresh, len(fresh)
	if err != nil {
		return res, err
	}
	res.Duplicate += offered - len(fresh) // stored meanwhile by another path
	return res, nil
}

// distinct drops repeated encodings, counting them as duplicates. An id
// is the hash of the encoding, so equal ids are equal bytes: comparing
// bytes drops copies before anything is decoded or hashed.
func distinct(raws [][]byte, res *IngestResult) [][]byte {
	if len(raws) < 2 {
		return raws
	}
	// Keyed by the encodings themselves, not copies: nothing changes
	// them while the map lives, and copying every one was a twentieth of
	// what a heal allocates.
	seen := make(map[string]struct{}, len(raws))
	out := make([][]byte, 0, len(raws))
	for _, raw := range raws {
		k := unsafe.String(unsafe.SliceData(raw), len(raw))
		if _, dup := seen[k]; dup {
			res.Duplicate++
			continue
		}
		seen[k] = struct{}{}
		out = append(out, raw)
	}
	return out
}

// check decodes distinct encodings, drops the held and the recently
// refused, and verifies and opens the rest, counting refusals in res.
//
// Its candidates are claimed until the caller's ingest ends, so that two
// messages carrying one operation at the same moment cost one signature
// check: the second waits for the first, then finds the operation stored
// or refused, and so sorts it exactly as if it had checked it.
func (p *pipeline) check(raws [][]byte, res *IngestResult, claimed *[]crdt.OpID) ([]*crdt.Envelope, []crdt.Op) {
	var cands []*crdt.Envelope
	for attempt := 0; ; attempt++ {
		var sorted IngestResult
		cands = p.screen(raws, &sorted)
		ids := make([]crdt.OpID, len(cands))
		for i, e := range cands {
			ids[i] = e.ID()
		}
		busy := p.inflight.claim(ids)
		if busy == nil || attempt == maxClaimWaits {
			// After a few waits, check anyway: a second check costs
			// less than stalling behind a stream of overlapping messages.
			res.Merge(sorted)
			if busy == nil {
				*claimed = append(*claimed, ids...)
			}
			break
		}
		// Wait, holding no claim (so two ingests cannot wait on each
		// other), for those being checked elsewhere; then screen again:
		// they are stored or refused by now.
		for _, done := range busy {
			<-done
		}
	}
	p.verified.Add(int64(len(cands)))
	verr := verify(&p.keys, cands)
	ops := make([]crdt.Op, len(cands))
	oerr := make([]error, len(cands))
	eachRun(len(cands), func(lo, hi int) {
		var plain []byte // one a run: an opened operation holds none of it
		for i := lo; i < hi; i++ {
			if verr[i] == nil {
				ops[i], plain, oerr[i] = p.k.open(cands[i], plain)
			}
		}
	})
	envs := cands[:0]
	kept := ops[:0]
	for i, e := range cands {
		switch {
		case verr[i] != nil:
			p.refused.put(e.ID(), verr[i])
			res.Refuse(verr[i], mesh.SendersFault)
		case oerr[i] != nil:
			p.refused.put(e.ID(), oerr[i])
			res.Refuse(oerr[i], mesh.Unreadable)
		default:
			envs = append(envs, e)
			kept = append(kept, ops[i])
		}
	}
	return envs, kept
}

// screen decodes distinct encodings and drops what costs no signature
// check to refuse: what fails the door, what is held, what was refused
// recently, clocks too far ahead.
func (p *pipeline) screen(raws [][]byte, res *IngestResult) []*crdt.Envelope {
	now := p.now().UnixMilli()
	cands := make([]*crdt.Envelope, 0, len(raws))
	for _, raw := range raws {
		e, err := crdt.DecodeEnvelope(raw)
		if err != nil {
			res.Refuse(err, mesh.SendersFault)
			continue
		}
		// Before anything that costs: only an outsider (or a holder of a
		// leaked ticket) sends a foreign gathering or a bad tag; an epoch
		// this node has no key for yet is not the sender's doing.
		if err := crdt.CheckAdmission(p.door, e); err != nil {
			why := mesh.SendersFault
			if errors.Is(err, crdt.ErrEpoch) {
				why = mesh.NotTheSender
				if p.unknownEpoch != nil {
					p.unknownEpoch(e.Epoch)
				}
			}
			res.Refuse(err, why)
			continue
		}
		if p.k.held(e) {
			res.Duplicate++
			continue
		}
		if err, ok := p.refused.get(e.ID()); ok {
			why := mesh.NotTheSender
			if errors.Is(err, crdt.ErrSignature) {
				why = mesh.SendersFault // the same bytes, forged again
			}
			res.Refuse(err, why)
			continue
		}
		if err := crdt.CheckDrift(e.Clock, now); err != nil {
			res.Refuse(err, mesh.NotTheSender)
			continue
		}
		cands = append(cands, e)
	}
	return cands
}

// maxClaimWaits bounds how often one ingest waits for operations being
// checked elsewhere.
const maxClaimWaits = 3

// verify checks the signatures of envs, on every core for a large batch:
// signature checks are the largest part of ingest's cost, and each is
// independent. It is the one place where incoming operations' signatures
// are checked.
func verify(v *crdt.Verifier, envs []*crdt.Envelope) []error {
	errs := make([]error, len(envs))
	// One batch per core: a batched check costs a fraction of as many
	// single checks, and the fraction shrinks with the batch (the authors'
	// terms are shared by all of their signatures in it), down to
	// minVerifyChunk so a small input still uses every core, up to
	// maxVerifyChunk so a failed batch stays cheap to take apart.
	// crdt.Verifier applies the same rules as Verify, so a signature's
	// validity does not depend on the path it came by.
	size := (len(envs) + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	size = min(max(size, minVerifyChunk), maxVerifyChunk)
	chunks := (len(envs) + size - 1) / size
	eachChunk(chunks, func(c int) {
		lo, hi := c*size, min((c+1)*size, len(envs))
		copy(errs[lo:hi], v.VerifyBatch(envs[lo:hi]))
	})
	return errs
}

const (
	minVerifyChunk = 32
	maxVerifyChunk = 256
)

// eachChunk runs fn(0..n-1) for n chunks of work, one goroutine per core.
func eachChunk(n int, fn func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// minPerWorker is the fewest items worth a goroutine of their own.
const minPerWorker = 32

// each runs fn(0..n-1), spread over the cores in runs of minPerWorker.
func each(n int, fn func(i int)) {
	eachRun(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			fn(i)
		}
	})
}

// eachRun runs fn over [0, n) in runs [lo, hi) of minPerWorker, spread
// over the cores.
func eachRun(n int, fn func(lo, hi int)) {
	eachChunk((n+minPerWorker-1)/minPerWorker, func(c int) {
		fn(c*minPerWorker, min((c+1)*minPerWorker, n))
	})
}

// ingestWriter commits what a pipeline accepted, on its own goroutine when
// pipelined, one batch at a time, each batch being everything accepted
// since the previous one started.
type ingestWriter struct {
	ctx context.Context
	p   *pipeline

	mu      sync.Mutex
	cond    sync.Cond
	envs    []*crdt.Envelope
	ops     []crdt.Op
	done    bool // no more input
	offered int  // operations handed to commit
	fresh   []*crdt.Envelope
	err     error
	exited  chan struct{} // nil when not pipelined
}

func newIngestWriter(ctx context.Context, p *pipeline, pipelined bool) *ingestWriter {
	w := &ingestWriter{ctx: ctx, p: p}
	w.cond.L = &w.mu
	if pipelined {
		w.exited = make(chan struct{})
		go w.run()
	}
	return w
}

func (w *ingestWriter) add(envs []*crdt.Envelope, ops []crdt.Op) {
	if len(envs) == 0 {
		return
	}
	w.mu.Lock()
	w.envs = append(w.envs, envs...)
	w.ops = append(w.ops, ops...)
	w.mu.Unlock()
	w.cond.Signal()
}

// failed reports whether a write failed, after which checking more is
// wasted.
func (w *ingestWriter) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err != nil
}

func (w *ingestWriter) run() {
	defer close(w.exited)
	for w.step(true) {
	}
}

// step commits what is waiting; wait says to wait for input. It reports
// whether there may be more to do.
func (w *ingestWriter) step(wait bool) bool {
	w.mu.Lock()
	for wait && len(w.envs) == 0 && !w.done {
		w.cond.Wait()
	}
	envs, ops := w.envs, w.ops
	w.envs, w.ops = nil, nil
	more := !w.done || len(envs) > 0
	failed := w.err != nil
	w.mu.Unlock()
	if len(envs) == 0 || failed {
		return more && !failed
	}
	fresh, err := w.p.group.commit(w.ctx, w.p.k, envs, ops)
	w.mu.Lock()
	w.offered += len(envs)
	w.fresh = append(w.fresh, fresh...)
	w.err = err
	w.mu.Unlock()
	return err == nil
}

// finish commits the rest and reports what was new, of how many offered.
func (w *ingestWriter) finish() (fresh []*crdt.Envelope, offered int, err error) {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
	if w.exited != nil {
		w.cond.Signal()
		<-w.exited
	} else {
		w.step(false)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fresh, w.offered, w.err
}

// groupCommit joins the commits of concurrent callers (gossip validators,
// reconciliation sessions, imports) into one synced write: whoever gets
// the write turn commits everything queued by then, its own batch and
// the others', so a burst of small batches costs a few syncs, not one
// each, and no caller commits more than once.
type groupCommit struct {
	turn sync.Mutex // held for one joint write

	mu    sync.Mutex
	queue []*pendingCommit
}

type pendingCommit struct {
	envs  []*crdt.Envelope
	ops   []crdt.Op
	fresh []*crdt.Envelope
	err   error
	done  chan struct{}
}

func (g *groupCommit) commit(ctx context.Context, k keeper, envs []*crdt.Envelope, ops []crdt.Op) ([]*crdt.Envelope, error) {
	me := &pendingCommit{envs: envs, ops: ops, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, me)
	g.mu.Unlock()
	g.turn.Lock()
	defer g.turn.Unlock()
	select {
	case <-me.done: // committed by another caller's turn
		return me.fresh, me.err
	default:
	}
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	if len(batch) > 1 {
		// The write is theirs too: this caller giving up must not fail it.
		ctx = context.WithoutCancel(ctx)
		envs, ops = nil, nil
		for _, p := range batch {
			envs = append(envs, p.envs...)
			ops = append(ops, p.ops...)
		}
	}
	fresh, err := k.commit(ctx, envs, ops)
	// fresh keeps input order, and each envelope is one caller's.
	j := 0
	for _, p := range batch {
		p.err = err
		for _, e := range p.envs {
			if j < len(fresh) && fresh[j] == e {
				p.fresh = append(p.fresh, e)
				j++
			}
		}
		close(p.done)
	}
	return me.fresh, me.err
}
