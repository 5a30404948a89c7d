package mesh

// One reconciliation session (session), a single state machine best read
// top to bottom, and what it does with the items it learns: request them,
// answer requests, take in what arrives.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// session runs either side of a session on s, and closes s. It keeps st,
// marked active by the caller, up to date in the gathering's gate, and
// leaves the gate when it ends.
func (m *Mesh) session(ctx context.Context, g *gathering, s network.Stream, initiator bool, st *seat) (err error) {
	defer g.gate.set(st, false)
	p := s.Conn().RemotePeer()
	ctx, cancel := context.WithTimeout(ctx, m.sessionTimeout)
	defer cancel()
	w := newFrameWriter(s, &m.stats, &m.writeBufs)
	stop := context.AfterFunc(ctx, func() { s.Reset() })
	defer stop()
	// Frames are read apart from the session's loop, so that the loop can
	// also wait for other sessions' claims.
	frames := make(chan frame, 4)
	quit, readDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readDone)
		m.readFrames(s, frames, quit)
	}()
	defer func() {
		// Closing or resetting the stream ends the reader's read.
		defer func() { close(quit); <-readDone }()
		if err != nil {
			s.Reset()
			w.wait()
			return
		}
		w.close()
		if werr := w.wait(); werr != nil {
			err = werr
			s.Reset()
			return
		}
		s.Close()
	}()

	var rc *recon.Reconciler
	var msg []byte
	g.r.ReadIndex(func(ix *recon.Index) {
		rc = recon.NewReconciler(ix, recon.Options{})
		if initiator {
			msg, err = rc.Initiate()
		}
	})
	if err != nil {
		return fmt.Errorf("%w: %v", errSession, err)
	}
	if initiator {
		if err := w.send(frameRecon, msg); err != nil {
			return err
		}
	}
	// violation ends the session with an error no honest peer causes.
	violation := func(err error) error {
		m.penalize(p, 1, err)
		return fmt.Errorf("%w: %w", errSession, err)
	}

	pl := &puller{c: g.claims}
	defer pl.end()
	defer func() { g.arrivals.ended(pl, p, errors.Is(err, errMore)) }()
	var of offer
	done, sentEnd, peerDone := false, false, false
	budget := answerBudget
	progress, capped := m.now(), false
	heard := !initiator // the peer answered: past both gates (gate.go)
	for !sentEnd || !peerDone {
		if m.now().Sub(progress) > stallTimeout {
			m.stats.stalled.Add(1)
			return fmt.Errorf("%w: no progress for %v", errSession, stallTimeout)
		}
		// Taken before looking at the claims, so that a release after the
		// look is not missed.
		changed := g.claims.wait()
		if err := m.request(g, w, pl); err != nil {
			return err
		}
		if heard {
			g.gate.set(st, !done || pl.waiting() > 0 || len(pl.open) > 0)
		}
		if done && pl.waiting() == 0 && len(pl.open) == 0 && !sentEnd {
			if err := w.send(frameEnd, nil); err != nil {
				return err
			}
			sentEnd = true
			continue
		}
		// Waiting only for what other sessions are pulling: wake when
		// they release it, or to see whether their claims expired.
		var poll *time.Timer
		var polled <-chan time.Time
		if len(pl.open) > 0 || pl.waiting() == 0 {
			changed = nil
		} else {
			poll = time.NewTimer(claimPoll)
			polled = poll.C
		}
		var f frame
		var ok bool
		select {
		case f, ok = <-frames:
		case <-changed:
			// Waiting on what other sessions pull is not stalling.
			progress = m.now()
		case <-polled:
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", errSession, ctx.Err())
		}
		if poll != nil {
			poll.Stop()
		}
		if !ok {
			continue
		}
		if f.err != nil {
			if errors.Is(f.err, errFrame) {
				return violation(f.err)
			}
			return fmt.Errorf("%w: %v", errSession, f.err)
		}
		switch f.typ {
		case frameRecon:
			if done {
				return violation(fmt.Errorf("%w: message after the end", errFrame))
			}
			m.stats.reconReceived.Add(1)
			heard = true
			var reply []byte
			var have, need []recon.Item
			g.r.ReadIndex(func(*recon.Index) {
				reply, have, need, done, err = rc.Reconcile(f.payload)
			})
			if err != nil {
				return violation(err)
			}
			if len(have)+len(need) > 0 {
				progress = m.now()
			}
			if rc.Capped() && !capped {
				capped = true
				m.stats.capped.Add(1)
			}
			if err := m.offer(g, w, rc, &of); err != nil {
				return err
			}
			if reply != nil {
				if err := w.send(frameRecon, reply); err != nil {
					return err
				}
			}
			pl.pending = append(pl.pending, need...)
			if len(need) > 0 {
				g.arrivals.lack(pl, m.now())
			}
		case frameOffer:
			if peerDone {
				return violation(fmt.Errorf("%w: offer after the end", errFrame))
			}
			if err := m.takeOffer(g, pl, f.payload); err != nil {
				return violation(fmt.Errorf("%w: offer: %w", errFrame, err))
			}
			if len(pl.prio) > 0 {
				g.arrivals.lack(pl, m.now())
			}
		case frameRequest:
			if peerDone {
				return violation(fmt.Errorf("%w: request after the end", errFrame))
			}
			refs, err := decodeRequest(f.payload)
			if err != nil {
				return violation(fmt.Errorf("%w: %w", errFrame, err))
			}
			var owed []recon.Item
			var outside int
			g.r.ReadIndex(func(*recon.Index) {
				owed, outside = rc.Take(refs)
			})
			if outside > 0 {
				// Only a peer fishing for the log asks for what the
				// session did not tell it of: it gets nothing more.
				m.stats.outside.Add(int64(outside))
				err := fmt.Errorf("%w: %d of %d requested items are outside the difference", errFrame, outside, len(refs))
				m.penalize(p, maxBad, err)
				return fmt.Errorf("%w: %w", errSession, err)
			}
			if err := m.answer(ctx, g, w, owed, &budget); err != nil {
				return err
			}
		case framePush:
			if len(pl.open) == 0 {
				// Refused unread, and counted as one: a batch that was
				// not asked for (pushed by the peer, which the protocol
				// no longer does).
				m.stats.rejected.Add(1)
				return violation(fmt.Errorf("%w: operations not asked for", errFrame))
			}
			if err := m.receive(ctx, g, p, f.payload); err != nil {
				return err
			}
			// An answer to this side's request (an honest peer's, or one
			// that would have ended the session above).
			progress = m.now()
		case frameAnswered:
			if len(f.payload) != 0 || !pl.answered() {
				return violation(fmt.Errorf("%w: unexpected answer", errFrame))
			}
		case frameEnd:
			if peerDone || len(f.payload) != 0 {
				return violation(fmt.Errorf("%w: unexpected end", errFrame))
			}
			peerDone = true
		default:
			return violation(fmt.Errorf("%w: unknown type %#x", errFrame, f.typ))
		}
	}
	if capped {
		return errMore
	}
	return nil
}

// request asks the peer for what pl needs and no other session is
// pulling, while fewer than openRequests requests are unanswered.
func (m *Mesh) request(g *gathering, w *frameWriter, pl *puller) error {
	for len(pl.open) < openRequests && pl.waiting() > 0 {
		var items []recon.Item
		g.r.ReadIndex(func(ix *recon.Index) {
			items = pl.next(ix, m.now())
		})
		if items == nil {
			return nil
		}
		if err := w.send(frameRequest, encodeRequest(items)); err != nil {
			return err
		}
		m.stats.opsRequested.Add(int64(len(items)))
	}
	return nil
}

// answer sends the operations of items this side holds, in batches, and
// then says the request is answered. What it sends is taken from *budget;
// once that is spent, the rest is left out.
func (m *Mesh) answer(ctx context.Context, g *gathering, w *frameWriter, items []recon.Item, budget *int) error {
	var raws [][]byte
	if len(items) > 0 && *budget > 0 {
		var err error
		if raws, err = g.r.Get(ctx, items); err != nil {
			return fmt.Errorf("%w: reading operations: %v", errSession, err)
		}
	}
	for i, r := range raws {
		if len(r) > *budget {
			raws = raws[:i]
			*budget = 0
			break
		}
		*budget -= len(r)
	}
	for _, b := range m.codec.pack(raws) {
		if err := w.send(framePush, b); err != nil {
			return err
		}
	}
	m.stats.opsSent.Add(int64(len(raws)))
	return w.send(frameAnswered, nil)
}

// receive takes in a batch received operation by operation (see take),
// storing the good ones. A forged operation ends the session: an honest
// peer never holds one, since it checked everything it stored.
func (m *Mesh) receive(ctx context.Context, g *gathering, p peer.ID, b []byte) error {
	raws, err := m.codec.decode(b)
	if err != nil {
		m.stats.rejected.Add(1)
		m.penalize(p, 1, err)
		return fmt.Errorf("%w: %v", errSession, err)
	}
	res, err := m.take(ctx, g, p, raws, KeepGood)
	if err != nil {
		return fmt.Errorf("%w: storing: %v", errSession, err)
	}
	m.stats.opsReceived.Add(int64(res.Added))
	if m.cfg.Hub && res.Added > 0 {
		// A hub passes what one site brought on to the others now,
		// rather than at their next reconciliation. (Laptops do not:
		// after a partition heals that would flood the room with
		// copies of what reconciliation is already carrying.)
		m.forward(g, res.Fresh)
	}
	if res.Forged != nil {
		return fmt.Errorf("%w: peer sent a forged operation: %v", errSession, res.Forged)
	}
	return nil
}

// forward queues envelopes for gossip.
func (m *Mesh) forward(g *gathering, envs []*crdt.Envelope) {
	for _, e := range envs {
		select {
		case g.out <- e.Bytes():
		default:
			return // the queue is full; reconciliation will carry the rest
		}
	}
}
