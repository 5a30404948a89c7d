package mesh

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// peerState is what the mesh remembers of a peer while it is connected.
type peerState struct {
	via      string
	since    time.Time
	lastSync time.Time // last reconciliation of any gathering, either side
	bad      int       // forged or malformed operations it sent
}

// followEvents follows connections on the event bus until the mesh
// closes, starting with those made before it began.
func (m *Mesh) followEvents(sub event.Subscription) {
	defer sub.Close()
	for _, p := range m.h.Network().Peers() {
		m.connected(p)
	}
	for {
		select {
		case <-m.ctx.Done():
			return
		case e := <-sub.Out():
			ev := e.(event.EvtPeerConnectednessChanged)
			switch ev.Connectedness {
			case network.Connected, network.Limited:
				m.connected(ev.Peer)
			case network.NotConnected:
				m.disconnected(ev.Peer)
			}
		}
	}
}

func (m *Mesh) connected(p peer.ID) {
	m.mu.Lock()
	st, ok := m.peers[p]
	if !ok {
		via, ok := m.intents[p]
		if !ok {
			via = ViaInbound
		}
		delete(m.intents, p)
		st = &peerState{via: via, since: m.now()}
		m.peers[p] = st
	}
	closed := m.closed
	m.mu.Unlock()
	if ok || closed {
		return
	}
	m.log.Debug("peer connected", "remote", p.ShortString(), "via", st.via)
	// Both sides see the connection; the one with the smaller id starts
	// reconciliation so a pair does not transfer the difference twice. The
	// other still reconciles on its own schedule. Peer exchange follows
	// the first session, whichever side started it (see recordSync).
	if bytes.Compare([]byte(m.h.ID()), []byte(p)) < 0 {
		m.wg.Go(func() { m.syncPeer(m.ctx, p, nil) })
	}
}

func (m *Mesh) disconnected(p peer.ID) {
	m.mu.Lock()
	delete(m.peers, p)
	m.mu.Unlock()
}

// penalize counts a peer's bad operations and lowers its standing with the
// connection manager, so it is the first to go when connections are
// trimmed.
func (m *Mesh) penalize(p peer.ID, n int, err error) {
	if n == 0 {
		return
	}
	m.mu.Lock()
	bad := 0
	if st, ok := m.peers[p]; ok {
		st.bad += n
		bad = st.bad
	}
	m.mu.Unlock()
	m.cm.UpsertTag(p, "convene-bad", func(v int) int { return v - 10*n })
	m.log.Warn("peer sent bad operations", "remote", p.ShortString(), "count", n, "err", err)
	if bad >= maxBad {
		m.log.Warn("disconnecting a peer that keeps sending bad operations", "remote", p.ShortString(), "bad", bad)
		m.h.Network().ClosePeer(p)
	}
}

// maxBad is how many bad operations or messages a peer may send in one
// connection before it is disconnected.
const maxBad = 64

// Peers lists the connected peers.
func (m *Mesh) Peers() []Peer {
	var out []Peer
	for _, p := range m.h.Network().Peers() {
		conns := m.h.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		m.mu.Lock()
		st, ok := m.peers[p]
		pr := Peer{PeerID: p.String(), Via: ViaInbound, Since: conns[0].Stat().Opened}
		if ok {
			pr.Via, pr.Since, pr.LastSync = st.via, st.since, st.lastSync
		}
		m.mu.Unlock()
		for _, c := range conns {
			pr.Addrs = append(pr.Addrs, c.RemoteMultiaddr().String())
		}
		out = append(out, pr)
	}
	slices.SortFunc(out, func(a, b Peer) int { return strings.Compare(a.PeerID, b.PeerID) })
	return out
}
