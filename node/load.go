package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	apply := func(e *crdt.Envelope, op crdt.Op, err error) {
		if err != nil {
			if bad++; bad <= 10 {
				n.log.Warn("skipping a stored operation that does not open", "op", e.ID(), "err", err)
			}
			return
		}
		n.state.Apply(op)
		if last.Less(e.Clock) {
			last = e.Clock
		}
	}
	if n.state == nil {
		n.state = crdt.NewState(n.creds.Founder)
	}
	// A snapshot holds old revisions and comments without their texts;
	// the log has them. Set before replaying, so that a state rebuilt
	// from the log drops such texts as it goes (crdt/cold.go).
	n.state.SetColdText(storedText{n})
	if from == "log" {
		err = n.replay(ctx, n.oplog.Iterate, apply)
		n.unsaved = n.state.Len()
		n.rebuilt = n.unsaved > 0
	} else if len(missing) > 0 {
		n.unsaved = len(missing)
		n.rebuilt = len(missing) >= rebuiltReplay
		var raws [][]byte
		if raws, err = n.oplog.Get(ctx, missing); err == nil {
			err = n.replay(ctx, func(ctx context.Context, emit func(*crdt.Envelope) error) error {
				for _, raw := range raws {
					e, err := crdt.DecodeEnvelope(raw)
					if err != nil {
						return fmt.Errorf("corrupt stored operation: %w", err)
					}
					if err := emit(e); err != nil {
						return err
					}
				}
				return nil
			}, apply)
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

// replayChunk is how many stored operations replay opens at once.
const replayChunk = 2048

// opened is a chunk of stored operations, opened.
type opened struct {
	envs []*crdt.Envelope
	ops  []crdt.Op
	errs []error
}

// replay applies the stored operations source emits, in its order: each
// chunk is opened on every core while this goroutine applies the one
// before (opening, a decryption each, is half of rebuilding a state from
// the log, and it needs nothing from the state).
func (n *Node) replay(ctx context.Context, source func(context.Context, func(*crdt.Envelope) error) error, apply func(*crdt.Envelope, crdt.Op, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan opened, 1)
	var srcErr error
	go func() {
		defer close(chunks)
		var envs []*crdt.Envelope
		flush := func() error {
			o := opened{envs: envs, ops: make([]crdt.Op, len(envs)), errs: make([]error, len(envs))}
			each(len(envs), func(i int) { o.ops[i], o.errs[i] = n.ring.Open(envs[i]) })
			envs = nil
			select {
			case chunks <- o:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		srcErr = source(ctx, func(e *crdt.Envelope) error {
			if envs = append(envs, e); len(envs) == replayChunk {
				return flush()
			}
			return nil
		})
		if srcErr == nil && len(envs) > 0 {
			srcErr = flush()
		}
	}()
	for o := range chunks {
		for i, e := range o.envs {
			apply(e, o.ops[i], o.errs[i])
		}
	}
	return srcErr
}
