package mesh

// Reconciling gatherings with peers: when (on connecting, rounds, a
// write gossiped to nobody), who initiates, and the session's protocol;
// one session is session.go, its frames frame.go, its counters stats.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/convene/convene/crdt"
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
