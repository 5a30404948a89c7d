package mesh

import (
	"bytes"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// First convergence. Gossip published before a peer's subscription to the
// topic is known never reaches that peer, and reconciliation on connect
// may run before the write; without more, the write would wait for the
// next periodic round (30 s). So a gathering is also reconciled with a
// peer as soon as it joins the topic, and with every connected peer
// shortly after a local write published when the topic had no peers yet.

// firstWriteSync is how long after a write gossiped to nobody the mesh
// reconciles with its connected peers: long enough to take in a burst of
// writes in one session.
const firstWriteSync = 500 * time.Millisecond

// followTopic reconciles g with each peer that joins its topic, until the
// mesh closes. As on connect, the side with the smaller id initiates.
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
		m.wg.Go(func() {
			if err := m.initiate(m.ctx, g, p); err != nil {
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
