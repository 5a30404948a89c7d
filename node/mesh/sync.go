// Over 500 lines: one reconciliation session (session) is a single state
// machine best read top to bottom; its frames are in frame.go.

package mesh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
)

// Anti-entropy protocol. The initiator opens a stream and writes the
// gathering id (32 bytes); a peer that does not serve the gathering resets
// the stream. Then both sides exchange frames:
//
//	type    1 byte: 'R' reconciliation message, 'Q' request for operations,
//	        'P' batch of operations answering the oldest open request,
//	        'A' that request is answered, 'E' end of this side's requests
//	length  uvarint (bounded per type)
//	payload
//
// The initiator sends the first 'R'. Each side feeds every 'R' it receives
// to its Reconciler and sends the reply. Both sides learn the whole
// difference; each asks the peer for what it lacks ('Q', see pull.go), and
// answers the peer's requests in order with zstd batches ('P') and an 'A'.
// A side whose reconciler is done and whose requests are all answered
// sends 'E', and closes the stream once it has the peer's 'E' too. Two
// peers in sync exchange one 'R' each way: one round trip.
const (
	reconProto = protocol.ID("/convene/recon/4")

	frameRecon    = 'R'
	frameRequest  = 'Q'
	framePush     = 'P'
	frameAnswered = 'A'
	frameEnd      = 'E'

	// idleTimeout bounds the wait for any one frame, or for the peer to
	// take one.
	idleTimeout = 30 * time.Second
	// maxQueued bounds what one session may have waiting to be written; a
	// peer that does not read is dropped rather than buffered for.
	maxQueued = 64 << 20
	// syncWorkers bounds concurrent reconciliations started by SyncNow.
	syncWorkers = 8
	// initiatedPerGathering bounds the sessions of one gathering this side
	// runs as the initiator at once. After a partition heals, a laptop
	// meets a couple of dozen peers at once; reconciled all together, each
	// session would list the same missing operations (the claims keep them
	// from being fetched more than once, not from being listed). A few at
	// a time, the later sessions find the difference gone: one round trip.
	// Not one: a slow peer would hold up the rest. (At the benchmark's
	// heal, 2 cost 75 s to converge, 4 cost 21 s for 1.19 × the byte
	// budget, and no bound 1.38 ×.)
	initiatedPerGathering = 4
	// sessionTimeout bounds a whole session, however busy: a peer that
	// trickles frames cannot hold one open for ever.
	sessionTimeout = 10 * time.Minute
	// stallTimeout ends a session that has found no new difference and
	// stored nothing for this long (on the mesh's clock), so that a peer
	// that keeps a session busy without progress (a fingerprint that never
	// matches, fake ids past the session's cap) frees its slot.
	stallTimeout = 2 * idleTimeout
	// answerBudget bounds the operation bytes one session sends in answer
	// to requests. Past it, requests are answered empty; the peer asks
	// again in its next session. It bounds what one session can draw from
	// a node even within the difference (which an empty peer makes the
	// whole log).
	answerBudget = 64 << 20
)

var errSession = errors.New("reconciliation failed")

// errMore ends a session that moved all it could hold (recon's item cap)
// while more differed: the initiator starts the next one at once, rather
// than leave a new laptop half-synced until the next round.
var errMore = errors.New("reconciliation: more differs than one session holds")

// maxSessionsInARow bounds the sessions one initiate runs back to back.
const maxSessionsInARow = 64

// Stats counts the mesh's reconciliation traffic since it started.
type Stats struct {
	Sessions      int64 // completed sessions, either side
	ReconSent     int64 // 'R' messages
	ReconReceived int64
	BytesSent     int64 // all frames, including operations
	BytesReceived int64
	// Of BytesSent, by frame: 'R' messages, 'Q' requests, 'P' batches.
	ReconMsgBytes, RequestBytes, PushBytes int64
	OpsRequested                           int64 // operations asked of peers
	OpsSent                                int64 // operations sent in answer to requests
	OpsReceived                            int64 // operations received and newly stored
	Rejected                               int64 // operations refused: forged, malformed, foreign, or signed but unreadable here (once while remembered); a batch not asked for counts as one
	Outside                                int64 // items peers requested that their session had not told them of (each ended its session)
	Stalled                                int64 // sessions ended for making no progress
	Capped                                 int64 // sessions whose difference passed the items a session holds (recon.DefaultMaxItems)
	GraftSyncs                             int64 // reconciliations this side started because a peer was grafted into a gathering's mesh, counted when each ended
	GraftsQuiet                            int64 // grafts not reconciled: the peer's last graft reconciliation was running or had ended less than graftQuiet before
	JoinsQuiet                             int64 // topic joins not reconciled: the reconciliation of the peer's last join was running or had ended less than graftQuiet before
	GateTimeouts                           int64 // sessions that waited out the learning gate's whole bound (gateWait) while a session that blocks held it
}

type stats struct {
	sessions, reconSent, reconReceived, bytesSent, bytesReceived,
	reconMsgBytes, requestBytes, pushBytes,
	opsRequested, opsSent, opsReceived, rejected, outside, stalled, capped, graftSyncs, graftsQuiet, joinsQuiet, gateTimeouts atomic.Int64
}

// Plus is the sum of two sets of counters (a network's, from its meshes').
func (s Stats) Plus(t Stats) Stats {
	return Stats{
		Sessions: s.Sessions + t.Sessions, ReconSent: s.ReconSent + t.ReconSent, ReconReceived: s.ReconReceived + t.ReconReceived,
		BytesSent: s.BytesSent + t.BytesSent, BytesReceived: s.BytesReceived + t.BytesReceived,
		ReconMsgBytes: s.ReconMsgBytes + t.ReconMsgBytes, RequestBytes: s.RequestBytes + t.RequestBytes, PushBytes: s.PushBytes + t.PushBytes,
		OpsRequested: s.OpsRequested + t.OpsRequested, OpsSent: s.OpsSent + t.OpsSent, OpsReceived: s.OpsReceived + t.OpsReceived,
		Rejected: s.Rejected + t.Rejected, Outside: s.Outside + t.Outside, Stalled: s.Stalled + t.Stalled, Capped: s.Capped + t.Capped,
		GraftSyncs: s.GraftSyncs + t.GraftSyncs, GraftsQuiet: s.GraftsQuiet + t.GraftsQuiet, JoinsQuiet: s.JoinsQuiet + t.JoinsQuiet, GateTimeouts: s.GateTimeouts + t.GateTimeouts,
	}
}

// Stats reports reconciliation counters.
func (m *Mesh) Stats() Stats {
	s := &m.stats
	return Stats{
		Sessions: s.sessions.Load(), ReconSent: s.reconSent.Load(), ReconReceived: s.reconReceived.Load(),
		BytesSent: s.bytesSent.Load(), BytesReceived: s.bytesReceived.Load(),
		ReconMsgBytes: s.reconMsgBytes.Load(), RequestBytes: s.requestBytes.Load(), PushBytes: s.pushBytes.Load(),
		OpsRequested: s.opsRequested.Load(), OpsSent: s.opsSent.Load(), OpsReceived: s.opsReceived.Load(), Rejected: s.rejected.Load(),
		Outside: s.outside.Load(), Stalled: s.stalled.Load(), Capped: s.capped.Load(), GraftSyncs: s.graftSyncs.Load(),
		GraftsQuiet: s.graftsQuiet.Load(), JoinsQuiet: s.joinsQuiet.Load(), GateTimeouts: s.gateTimeouts.Load(),
	}
}

// SyncNow reconciles gathering id with every connected peer and returns
// when that is done (or ctx ends).
func (m *Mesh) SyncNow(ctx context.Context, id crdt.GatheringID) {
	if !m.enter() {
		return
	}
	defer m.wg.Done()
	g, err := m.gathering(id)
	if err != nil {
		return
	}
	sem := make(chan struct{}, syncWorkers)
	var wg sync.WaitGroup
	for _, p := range m.h.Network().Peers() {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := m.initiate(ctx, g, p); err != nil {
				m.log.Debug("reconciliation failed", "gathering", id, "remote", p.ShortString(), "err", err)
			}
		})
	}
	wg.Wait()
}

// syncPeer reconciles every joined gathering with p but those skip
// reports (skip is called with m.mu held).
func (m *Mesh) syncPeer(ctx context.Context, p peer.ID, skip func(g *gathering) bool) {
	m.mu.Lock()
	gs := make([]*gathering, 0, len(m.gatherings))
	for _, g := range m.gatherings {
		if skip == nil || !skip(g) {
			gs = append(gs, g)
		}
	}
	m.mu.Unlock()
	for _, g := range gs {
		if err := m.initiate(ctx, g, p); err != nil {
			m.log.Debug("reconciliation failed", "gathering", g.id, "remote", p.ShortString(), "err", err)
		}
	}
}

// catchUpHold, in sync intervals, is how long a gathering that is
// catching up (sessions learned it lacks operations, and are fetching
// them) is left out of the periodic rounds. Those rounds are for what
// gossip lost; during a catch-up they started a session with every peer
// not met in the last half interval, and each named again what the
// running sessions were still fetching: at the benchmark's heal under
// load, a round that fell inside it doubled the bytes naming the
// difference and the time to converge (with no round: 10.9–13.9 MB and
// 19–38 s; with one: 24–27 MB and 48–57 s). The catch-up's own
// sessions, and those started by connections, grafts and follow-ups, go
// on; the bound keeps a catch-up that never ends (a peer trickling
// operations) from holding the rounds off for good.
const catchUpHold = 2

// pexPerRound is how many peers, picked at random, a sync round asks for
// peers. Asking every peer every round cost every node a request and an
// answer per peer per round (a room's square), for what the first answer
// of a round mostly told already; a peer is also asked after the first
// session with it (recordSync), which is what a newcomer learns the room
// from.
const pexPerRound = 4

// syncLoop reconciles every gathering with every peer each SyncInterval
// (jittered), leaving out pairs that reconciled recently in either
// direction and gatherings catching up (see catchUpHold), and exchanges
// peers with pexPerRound of them.
func (m *Mesh) syncLoop() {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(jitter(m.cfg.SyncInterval)):
		}
		now := m.now()
		recent := now.Add(-m.cfg.SyncInterval / 2)
		peers := m.h.Network().Peers()
		rand.Shuffle(len(peers), func(i, j int) { peers[i], peers[j] = peers[j], peers[i] })
		for i, p := range peers {
			m.wg.Go(func() {
				m.syncPeer(m.ctx, p, func(g *gathering) bool {
					return g.synced[p].After(recent) || g.arrivals.catchingUp(now, catchUpHold*m.cfg.SyncInterval)
				})
				if i < pexPerRound {
					m.exchangePeers(m.ctx, p)
				}
			})
		}
	}
}

// initiate runs one session with p as the initiator, unless one is running.
func (m *Mesh) initiate(ctx context.Context, g *gathering, p peer.ID) error {
	m.mu.Lock()
	if g.running[p] {
		// The running session may have compared before what this call is
		// for (a write, the peer's topic join): run once more after it.
		g.again[p] = true
		m.mu.Unlock()
		return nil
	}
	g.running[p] = true
	m.mu.Unlock()
	ok := false
	select {
	case g.initiating <- struct{}{}:
		defer func() { <-g.initiating }()
	case <-ctx.Done():
	case <-m.ctx.Done():
	}
	if ctx.Err() != nil || m.ctx.Err() != nil {
		m.mu.Lock()
		delete(g.running, p)
		m.sessionEnded()
		m.mu.Unlock()
		return fmt.Errorf("%w: mesh closing or context done", errSession)
	}
	defer func() {
		m.mu.Lock()
		delete(g.running, p)
		if ok {
			// Under the same lock as clearing running, so that whoever
			// sees the sync recorded can start the next one.
			m.recordSync(g, p)
		}
		m.followUp(g, p, ok)
		m.sessionEnded()
		m.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range maxSessionsInARow {
		st := m.seatFor(p)
		if err := g.gate.open(ctx, st, gateWait); err != nil {
			return fmt.Errorf("%w: %v", errSession, err)
		}
		s, err := m.h.NewStream(network.WithAllowLimitedConn(ctx, "recon"), p, reconProto)
		if err != nil {
			g.gate.set(st, false)
			return fmt.Errorf("%w: open stream: %v", errSession, err)
		}
		g.gate.rekey(st, connHolder(p, s.Conn()))
		_ = s.SetWriteDeadline(time.Now().Add(idleTimeout))
		if _, err := s.Write(g.id[:]); err != nil {
			g.gate.set(st, false)
			s.Reset()
			return fmt.Errorf("%w: %v", errSession, err)
		}
		err = m.session(ctx, g, s, true, st)
		if errors.Is(err, errMore) {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	ok = true
	return nil
}

// handleRecon answers a session a peer initiated, unless one of the same
// gathering with the same peer is running (which only a misbehaving or
// confused peer starts).
func (m *Mesh) handleRecon(s network.Stream) {
	p := s.Conn().RemotePeer()
	var id crdt.GatheringID
	_ = s.SetReadDeadline(time.Now().Add(idleTimeout))
	if _, err := io.ReadFull(s, id[:]); err != nil {
		s.Reset()
		return
	}
	g, err := m.gathering(id)
	if err != nil {
		// Do not say which gatherings this node serves.
		s.Reset()
		return
	}
	m.mu.Lock()
	if g.inbound[p] {
		m.mu.Unlock()
		s.Reset()
		return
	}
	g.inbound[p] = true
	m.mu.Unlock()
	ok := false
	defer func() {
		m.mu.Lock()
		delete(g.inbound, p)
		if ok {
			m.recordSync(g, p)
		}
		m.sessionEnded()
		m.mu.Unlock()
	}()
	st := newSeat(p, s.Conn())
	if err := g.gate.admit(m.ctx, st, gateWait); err != nil {
		s.Reset()
		return
	}
	err = m.session(m.ctx, g, s, false, st)
	if errors.Is(err, errMore) {
		// This side held too little to finish: start the next session
		// from here, since the initiator may not have been capped.
		m.wg.Go(func() { _ = m.initiate(m.ctx, g, p) })
		err = nil
	}
	if err != nil {
		m.log.Debug("reconciliation failed", "gathering", id, "remote", p.ShortString(), "err", err)
		return
	}
	ok = true
}

// sessionEnded wakes whoever waits for a session to end. Callers hold
// m.mu.
func (m *Mesh) sessionEnded() {
	close(m.ended)
	m.ended = make(chan struct{})
}

// recordSync notes a completed session with p. Callers hold m.mu. After
// the first session with a peer, this side asks it for peers (which it
// answers only now, see handlePEX).
func (m *Mesh) recordSync(g *gathering, p peer.ID) {
	now := m.now()
	g.synced[p] = now
	g.lastSync = now
	for q, t := range g.synced {
		if now.Sub(t) > freshWindow {
			delete(g.synced, q) // peers gone for a while
		}
	}
	// A peer not known yet is one whose connection event is still on its
	// way: ask it now too.
	st, ok := m.peers[p]
	if !ok || st.lastSync.IsZero() {
		if !m.closed {
			m.wg.Go(func() { m.exchangePeers(m.ctx, p) })
		}
	}
	if ok {
		st.lastSync = now
	}
	// A hub that refused an operation of an epoch it holds no ticket for
	// asks this peer for the next tickets (handover.go).
	if sink, ok := g.r.(HandoverSink); ok && !m.closed && sink.WantsHandover() {
		m.wg.Go(func() { m.askHandover(m.ctx, g, sink, p) })
	}
	m.stats.sessions.Add(1)
}

// session runs either side of a session on s, and closes s. It keeps st,
// marked active by the caller, up to date in the gathering's gate, and
// leaves the gate when it ends.
func (m *Mesh) session(ctx context.Context, g *gathering, s network.Stream, initiator bool, st *seat) (err error) {
	defer g.gate.set(st, false)
	p := s.Conn().RemotePeer()
	ctx, cancel := context.WithTimeout(ctx, m.sessionTimeout)
	defer cancel()
	w := newFrameWriter(s, &m.stats)
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
