package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// loadedSnapshot is what startLoadSnapshot read.
type loadedSnapshot struct {
	key   snapshotKey
	state *crdt.State
	err   error
}

// startLoadSnapshot reads dir's state snapshot in the background; the
// channel gives the result once.
func startLoadSnapshot(dir string, founder crdt.IdentityID) <-chan loadedSnapshot {
	c := make(chan loadedSnapshot, 1)
	go func() {
		// Loading a snapshot allocates the whole state and frees almost
		// nothing, so any collection during it would only mark the same
		// heap again: collection is off, unless the heap grows by more
		// than a few times what such a file loads into (a state takes
		// about 2.5 times its snapshot). Rebuilding from the log makes garbage of
		// every envelope, so it keeps the usual pace.
		bound := int64(64 << 20)
		if fi, err := os.Stat(filepath.Join(dir, snapshotFile)); err == nil {
			bound += 4 * fi.Size()
		}
		resume := pauseGC(bound)
		key, st, err := loadSnapshot(dir, founder)
		resume()
		c <- loadedSnapshot{key, st, err}
	}()
	return c
}

// load rebuilds the state: from the snapshot file saved at the last Close
// (snap, nil for an in-memory node) plus the stored operations it lacks,
// or, without a usable snapshot, from the whole log. Stored operations
// were verified before they were stored, so they are only opened, not
// verified again.
func (n *Node) load(ctx context.Context, snap <-chan loadedSnapshot) error {
	var err error
	if n.oplog, err = n.st.Log(ctx, n.keys.Gathering); err != nil {
		return err
	}
	start := time.Now()
	logKey := snapshotKey{ops: n.oplog.Len(), digest: n.oplog.Digest()}
	var last crdt.Clock
	var missing []recon.Item
	from := "log"
	if snap != nil {
		var key snapshotKey
		var ls loadedSnapshot
		select {
		case ls = <-snap:
		case <-ctx.Done():
			return ctx.Err()
		}
		key = ls.key
		switch {
		case errors.Is(ls.err, errNoSnapshot):
		case ls.err != nil:
			n.log.Warn("unusable state snapshot; rebuilding", "err", ls.err)
		default:
			n.state = ls.state
		}
		if n.state != nil {
			from = "snapshot"
			matches := key == logKey
			present := 0
			n.oplog.ReadIndex(func(ix *recon.Index) {
				if matches {
					// Nothing to replay: only the newest clock is needed.
					it, _ := ix.Last()
					last = it.Clock
					return
				}
				ix.Range(recon.Bound{}, recon.Infinity(), func(it recon.Item) bool {
					if n.state.Has(it.ID) {
						present++
					} else {
						missing = append(missing, it)
					}
					last = it.Clock
					return true
				})
			})
			if !matches && present < n.state.Len() {
				// Taken of another log (restored from elsewhere?): the
				// log is the truth, and the state must not show more.
				n.log.Warn("the state snapshot holds operations the log lacks; rebuilding")
				n.state, missing, last, from = nil, nil, crdt.Clock{}, "log"
			}
		}
	}
	bad := 0
	add := func(op crdt.Op) { n.state.Apply(op) }
	apply := func(e *crdt.Envelope, op crdt.Op, err error) {
		if err != nil {
			if bad++; bad <= 10 {
				n.log.Warn("skipping a stored operation that does not open", "op", e.ID(), "err", err)
			}
			return
		}
		add(op)
		if last.Less(e.Clock) {
			last = e.Clock
		}
	}
	// A snapshot holds old revisions and comments without their texts;
	// the log has them. Set before replaying, so that a state rebuilt
	// from the log drops such texts as it goes (crdt/cold.go).
	if from == "log" {
		// The log is in (clock, id) order: the state is built as a
		// snapshot's loader builds it, in one table (crdt.Builder).
		b := crdt.NewBuilder(n.creds.Founder, n.oplog.Len(), storedText{n})
		add = b.Add
		err = n.replay(ctx, n.oplog.IterateRaw, apply)
		n.state = b.State()
		n.unsaved = n.state.Len()
		n.rebuilt = n.unsaved > 0
	} else {
		n.state.SetColdText(storedText{n})
		if len(missing) > 0 {
			n.unsaved = len(missing)
			n.rebuilt = len(missing) >= rebuiltReplay
			var raws [][]byte
			if raws, err = n.oplog.Get(ctx, missing); err == nil {
				err = n.replay(ctx, func(ctx context.Context, emit func([]byte) error) error {
					for _, raw := range raws {
						if err := emit(raw); err != nil {
							return err
						}
					}
					return nil
				}, apply)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	n.hlc.Observe(last)
	n.hlcWall.Store(n.hlc.Last().Wall)
	n.log.Debug("state loaded", "from", from, "ops", logKey.ops, "replayed", len(missing), "unreadable", bad, "took", time.Since(start))
	return nil
}

// announce makes the operations a node must have made but that the store
// lacks: a local identity's name, and for the founder the gathering's name.
// That happens with an in-memory store, or after a crash between writing
// the data directory's files and its store.
func (n *Node) announce(ctx context.Context) error {
	var missing []localKey
	var founder *localKey
	n.mu.RLock()
	for _, k := range n.ids {
		if _, ok := n.state.Identity(k.ID); !ok {
			missing = append(missing, k)
		}
		if k.ID == n.creds.Founder && n.state.Name() == "" && n.name != "" {
			founder = &k
		}
	}
	n.mu.RUnlock()
	if founder != nil {
		if _, err := n.Act(ctx, founder.ID, &crdt.GatheringBody{Name: n.name}); err != nil {
			return fmt.Errorf("announce the gathering: %w", err)
		}
	}
	for _, k := range missing {
		_, err := n.Act(ctx, k.ID, &crdt.IdentityBody{Name: k.Name})
		if errors.Is(err, ErrRotatedOut) || errors.Is(err, crdt.ErrForbidden) {
			// Its name does not count because it was removed or a
			// rotation left it out: it may not write, and the node must
			// still start, to read and to take a new invite.
			n.log.Warn("a local identity may not write in this gathering", "identity", k.ID, "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("announce identity %s: %w", k.Name, err)
		}
	}
	return nil
}

// A chunk of replay holds replayChunk stored operations, or fewer once
// their encodings reach replayBytes: the chunks in flight then take a few
// megabytes whatever the operations' sizes. At most replayInFlight chunks
// wait to be applied, whatever the cores.
const (
	replayChunk    = 2048
	replayBytes    = 1 << 20
	replayInFlight = 8
)

// replayLimits are replay's chunk sizes (the constants above; tests use
// small ones to cycle through many chunks).
type replayLimits struct{ ops, bytes int }

// opened is a chunk of stored operations on its way through replay: the
// source copies their encodings into buf, an opener fills the rest, then
// closes done. Once applied, a chunk is used again (reset): its encodings
// are garbage once opened, and a rebuild reads a gigabyte of them.
type opened struct {
	first int             // the index of its first operation in the replay
	buf   []byte          // the encodings, one after the other
	ends  []int           // where each ends in buf
	envs  []crdt.Envelope // decoded in place, chunk after chunk
	ops   []crdt.Op
	errs  []error
	bad   error // a stored entry that does not decode: the log is corrupt
	done  chan struct{}
}

func newOpened(lim replayLimits) *opened {
	return &opened{ends: make([]int, 0, lim.ops), done: make(chan struct{})}
}

// add copies an encoding the source lends into the chunk.
func (o *opened) add(raw []byte) {
	o.buf = append(o.buf, raw...)
	o.ends = append(o.ends, len(o.buf))
}

// full reports whether the chunk is to be sent.
func (o *opened) full(lim replayLimits) bool {
	return len(o.ends) >= lim.ops || len(o.buf) >= lim.bytes
}

// open decodes and opens the chunk's operations.
func (o *opened) open(openOp func(*crdt.Envelope) (crdt.Op, error)) {
	defer close(o.done)
	n := len(o.ends)
	o.envs = slices.Grow(o.envs[:0], n)[:n]
	o.ops = slices.Grow(o.ops[:0], n)[:n]
	o.errs = slices.Grow(o.errs[:0], n)[:n]
	start := 0
	for i, end := range o.ends {
		// The envelope holds its encoding (the chunk's), which lives
		// until the chunk is applied; the opened operation holds none
		// of it.
		e := &o.envs[i]
		if err := crdt.DecodeEnvelopeInto(e, o.buf[start:end:end]); err != nil {
			o.bad = fmt.Errorf("corrupt stored operation (the %d-th in the log's order): %w", o.first+i+1, err)
			return
		}
		start = end
		o.ops[i], o.errs[i] = openOp(e)
	}
}

// reset readies an applied chunk to be filled again. A buffer that one
// large operation grew far past the chunk's size is let go, not kept for
// the rest of the replay.
func (o *opened) reset(lim replayLimits) {
	clear(o.envs)
	clear(o.ops)
	clear(o.errs)
	o.buf, o.ends = o.buf[:0], o.ends[:0]
	if cap(o.buf) > 2*lim.bytes {
		o.buf = nil
	}
	o.envs, o.ops, o.errs = o.envs[:0], o.ops[:0], o.errs[:0]
	o.bad = nil
	o.done = make(chan struct{})
}

// replay applies the stored operations source emits (their encodings, lent
// for the call only), in its order. Three stages overlap: the source reads
// the store, openers on every core decode and open whole chunks (a
// decryption each, half of rebuilding a state from the log, needing
// nothing from the state), and this goroutine applies the chunks in
// order. Reading the store and
// applying are each about a quarter, so a chunk that waited for the one
// before it to be opened, or an opener that waited for the read, left
// cores idle (5.8 s for a million operations on two cores).
func (n *Node) replay(ctx context.Context, source func(context.Context, func(raw []byte) error) error, apply func(*crdt.Envelope, crdt.Op, error)) error {
	return n.replayWith(ctx, replayLimits{replayChunk, replayBytes}, source, apply)
}

func (n *Node) replayWith(ctx context.Context, lim replayLimits, source func(context.Context, func(raw []byte) error) error, apply func(*crdt.Envelope, crdt.Op, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := runtime.GOMAXPROCS(0)
	toOpen := make(chan *opened, workers)
	inOrder := make(chan *opened, min(2*workers, replayInFlight)) // bounds the chunks in flight
	var openers sync.WaitGroup
	for range workers {
		openers.Go(func() {
			var plain []byte // each opener decrypts into its own, again and again
			for o := range toOpen {
				if ctx.Err() != nil {
					close(o.done) // being drained: not worth opening
					continue
				}
				o.open(func(e *crdt.Envelope) (op crdt.Op, err error) {
					op, plain, err = n.ring.OpenInto(e, plain)
					return op, err
				})
			}
		})
	}
	// Applied chunks come back to the source: every chunk in flight
	// (inOrder's, the openers', the one filling, the one applying).
	free := make(chan *opened, cap(inOrder)+workers+2)
	var srcErr error
	go func() {
		defer func() {
			close(toOpen)
			close(inOrder)
		}()
		read := 0
		chunk := newOpened(lim)
		send := func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			// inOrder first: the applier must see chunks in the order
			// they were read, whichever opener finishes first.
			select {
			case inOrder <- chunk:
			case <-ctx.Done():
				return ctx.Err()
			}
			toOpen <- chunk
			select {
			case chunk = <-free:
			default:
				chunk = newOpened(lim)
			}
			chunk.first = read
			return nil
		}
		srcErr = source(ctx, func(raw []byte) error {
			chunk.add(raw)
			if read++; chunk.full(lim) {
				return send()
			}
			return nil
		})
		if srcErr == nil && len(chunk.ends) > 0 {
			srcErr = send()
		}
	}()
	var err error
	for o := range inOrder {
		<-o.done
		if err != nil {
			continue // drain, so that the source and the openers end
		}
		if err = ctx.Err(); err != nil {
			continue
		}
		if o.bad != nil {
			err = o.bad
			cancel()
			continue
		}
		for i := range o.envs {
			apply(&o.envs[i], o.ops[i], o.errs[i])
		}
		o.reset(lim)
		select {
		case free <- o:
		default:
		}
	}
	openers.Wait()
	if err != nil {
		return err
	}
	return srcErr
}
