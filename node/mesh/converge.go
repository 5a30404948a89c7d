package mesh

import (
	"bytes"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// First convergence. Gossip published before a peer's subscription to the
// topic is known never reaches that peer, and reconciliation on connect
// may run before the write; without more, the write would wait for the
// next periodic round (30 s). So a gathering is also reconciled with a
// peer as soon as it joins the topic, and with every connected peer
// shortly after a local write published when the topic had no peers yet.

// A reconciliation asked for while one with the same peer runs is not
// dropped (the running one may have compared the logs before the write
// or the topic join it was asked for), and one that failed (refused by a
// peer that had not joined the gathering yet, cut by a slow link) is tried
// again shortly: without either, a city's first writes waited for the next
// 30-s round in 2 of 5 runs of the lab.
const (
	// syncRetry is the wait before retrying a failed session, doubled for
	// each failure in a row.
	syncRetry = time.Second
	// syncRetries bounds the retries in a row; then the periodic round
	// takes over.
	syncRetries = 3
)

// followUp starts what should come after an initiated session with p
// ended: another at once if one was asked for meanwhile, a retry soon if
// it failed. Callers hold m.mu.
func (m *Mesh) followUp(g *gathering, p peer.ID, ok bool) {
	again := g.again[p]
	delete(g.again, p)
	if ok {
		delete(g.failed, p)
	} else {
		g.failed[p]++
	}
	if m.closed || m.ctx.Err() != nil {
		return
	}
	var wait time.Duration
	switch {
	case !ok && g.failed[p] <= syncRetries:
		wait = syncRetry << (g.failed[p] - 1)
	case again:
	default:
		if !ok {
			g.arrivals.gone(p) // no follow-up of a capped session either
		}
		return
	}
	m.wg.Go(func() {
		if wait > 0 {
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if m.h.Network().Connectedness(p) == network.NotConnected {
			// A new connection reconciles on its own.
			m.mu.Lock()
			delete(g.failed, p)
			m.mu.Unlock()
			g.arrivals.gone(p)
			return
		}
		if err := m.initiate(m.ctx, g, p); err != nil {
			m.log.Debug("reconciliation retry failed", "gathering", g.id, "remote", p.ShortString(), "err", err)
		}
	})
}

// firstWriteSync is how long after a write gossiped to nobody the mesh
// reconciles with its connected peers: long enough to take in a burst of
// writes in one session.
const firstWriteSync = 500 * time.Millisecond

// followTopic reconciles g with each peer that joins its topic, until the
// mesh closes. As on connect, the side with the smaller id initiates.
// A peer can leave the topic and join it again at will, for a few bytes
// each time; so, as for grafts, a join is not reconciled while the
// reconciliation of the peer's last join runs or within graftQuiet after
// it ended (the graft that follows a join, and the periodic round, still
// are).
func (m *Mesh) followTopic(g *gathering, events *pubsub.TopicEventHandler) {
	defer events.Cancel()
	for {
		ev, err := events.NextPeerEvent(m.ctx)
		if err != nil {
			return
		}
		if ev.Type != pubsub.PeerJoin || bytes.Compare([]byte(m.h.ID()), []byte(ev.Peer)) >= 0 {
			continue
		}
		p := ev.Peer
		m.mu.Lock()
		closed := m.closed
		quiet := !closed && !g.joined.begin(p, m.now())
		m.mu.Unlock()
		if closed {
			return
		}
		if quiet {
			m.stats.joinsQuiet.Add(1)
			continue
		}
		m.wg.Go(func() {
			err := m.initiate(m.ctx, g, p)
			m.mu.Lock()
			g.joined.end(p, m.now())
			m.mu.Unlock()
			if err != nil {
				m.log.Debug("reconciliation on topic join failed", "gathering", g.id, "remote", p.ShortString(), "err", err)
			}
		})
	}
}

// publishedAlone notes that a local write was published while g's topic
// had no peers, and schedules one reconciliation with every connected
// peer shortly after, unless one is scheduled already.
func (m *Mesh) publishedAlone(g *gathering) {
	if len(g.topic.ListPeers()) > 0 {
		return
	}
	m.mu.Lock()
	if g.syncSoon || m.closed {
		m.mu.Unlock()
		return
	}
	g.syncSoon = true
	m.mu.Unlock()
	m.wg.Go(func() {
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(firstWriteSync):
		}
		m.mu.Lock()
		g.syncSoon = false
		m.mu.Unlock()
		m.SyncNow(m.ctx, g.id)
	})
}

// A topic join is not yet a mesh: until the peer is grafted, what this
// node receives by gossip from others is forwarded only to its mesh, not
// to the peer, and a reconciliation at the join may have compared the
// logs before it arrived. Through a hub, whose laptops reach each other
// only through it, a city's first writes then waited for the next 30-s
// round in some runs. So a gathering is reconciled once more with each
// peer grafted into its mesh: from then on gossip carries the rest.

// graftQueue bounds the grafts waiting to be reconciled; past it a graft
// is dropped, and the periodic round covers its peer.
const graftQueue = 256

// A peer can be pruned and grafted again and again (it chooses its own
// prune backoff, down to a second), and each graft started a session. So
// a graft is ignored while the reconciliation an earlier graft of the
// same peer started runs, and for graftQuiet after it ended (on the
// mesh's clock). Measured from that graft's reconciliation, not from any
// session with the peer: the session at its topic join ends moments
// before its first graft, and the first graft's reconciliation is the
// one that carries what was forwarded only to the mesh in between. A
// regraft within the quiet time loses the peer only what was forwarded
// while it was out of the mesh, which GossipSub's gossip and the periodic
// round still carry.
const graftQuiet = 5 * time.Second

// graft is one peer grafted into the mesh of one topic.
type graft struct {
	p     peer.ID
	topic string
}

// grafts is GossipSub's raw tracer, reduced to its grafts. GossipSub calls
// it from its event loop, which must not wait (Join holds m.mu while it
// asks that loop): it only queues.
type grafts chan graft

func (q grafts) Graft(p peer.ID, topic string) {
	select {
	case q <- graft{p, topic}:
	default:
	}
}

func (grafts) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (grafts) OnClosedOutboundStream(peer.ID)           {}
func (grafts) Join(string)                              {}
func (grafts) Leave(string)                             {}
func (grafts) Prune(peer.ID, string)                    {}
func (grafts) ValidateMessage(*pubsub.Message)          {}
func (grafts) DeliverMessage(*pubsub.Message)           {}
func (grafts) RejectMessage(*pubsub.Message, string)    {}
func (grafts) DuplicateMessage(*pubsub.Message)         {}
func (grafts) ThrottlePeer(peer.ID)                     {}
func (grafts) RecvRPC(*pubsub.RPC)                      {}
func (grafts) SendRPC(*pubsub.RPC, peer.ID)             {}
func (grafts) DropRPC(*pubsub.RPC, peer.ID)             {}
func (grafts) UndeliverableMessage(*pubsub.Message)     {}

// followGrafts reconciles a gathering with each peer grafted into its
// topic's mesh, until the mesh closes. As on connect, the side with the
// smaller id initiates; a session running with the peer runs once more.
// A regraft within graftQuiet of the last graft's reconciliation with
// the peer is ignored.
func (m *Mesh) followGrafts(q grafts) {
	for {
		var gr graft
		select {
		case <-m.ctx.Done():
			return
		case gr = <-q:
		}
		if bytes.Compare([]byte(m.h.ID()), []byte(gr.p)) >= 0 {
			continue
		}
		m.mu.Lock()
		var g *gathering
		for _, x := range m.gatherings {
			if x.id.Topic() == gr.topic {
				g = x
			}
		}
		closed := m.closed
		quiet := g != nil && !closed && !g.grafted.begin(gr.p, m.now())
		m.mu.Unlock()
		if quiet {
			m.stats.graftsQuiet.Add(1)
		}
		if g == nil || closed || quiet {
			continue
		}
		p := gr.p
		m.wg.Go(func() {
			defer m.stats.graftSyncs.Add(1)
			err := m.initiate(m.ctx, g, p)
			m.mu.Lock()
			g.grafted.end(p, m.now())
			m.mu.Unlock()
			if err != nil {
				m.log.Debug("reconciliation on graft failed", "gathering", g.id, "remote", p.ShortString(), "err", err)
			}
		})
	}
}

// quiet is, per peer, when the reconciliation an event of the peer (its
// graft, or its topic join) started ended: zero while it runs, kept for
// graftQuiet. Callers hold m.mu.
type quiet map[peer.ID]time.Time

// begin reports whether an event of p may start a reconciliation now: not
// while the one p's last event started runs, nor within graftQuiet after
// it ended. If it may, p's is marked running.
func (q quiet) begin(p peer.ID, now time.Time) bool {
	for r, t := range q {
		if !t.IsZero() && now.Sub(t) >= graftQuiet {
			delete(q, r)
		}
	}
	if _, ok := q[p]; ok {
		return false
	}
	q[p] = time.Time{}
	return true
}

// end records that p's reconciliation ended, unless p was forgotten
// meanwhile (it disconnected).
func (q quiet) end(p peer.ID, now time.Time) {
	if _, ok := q[p]; ok {
		q[p] = now
	}
}
