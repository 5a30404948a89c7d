package mesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// Liveness. A TCP connection across a cut link stays "established" while
// its retransmissions back off to tens of seconds, and a QUIC one until its
// idle timeout: the node would keep listing the peer as connected, count it
// in freshness, and after the link returns wait for TCP's next retry
// instead of reconciling. So every connected peer is pinged (libp2p ping,
// over the connection itself) every liveEvery; a peer that misses
// liveMisses pings in a row is shown as unreachable and its connection
// closed, so that the redial (keepConnected, keepFound, or the peer's own)
// makes a fresh one, and the fresh one reconciles on connect.
//
// A slow link is not a dead one. On a 64 kbit/s, 300 ms, 30 %-loss line a
// ping waits behind queued data and retransmissions for seconds; closing
// the connection then only starts new handshakes over the same line, and
// two cities never converged. So a ping's wait grows with the peer's
// measured round trip (liveRTTs times libp2p's smoothed RTT, doubled after
// each miss, at most liveMaxTimeout), and a miss does not count while the
// connection delivered anything else meanwhile (see heard). On a LAN the
// round trip is tiny: the 2.5-s floor and the detection time stay as they
// were.
const (
	liveEvery   = time.Second
	liveTimeout = 2500 * time.Millisecond
	liveMisses  = 2
	// liveRTTs is how many smoothed round trips a ping may take.
	liveRTTs = 4
	// liveUnmeasured is how many floors a ping may take while the peer's
	// round trip was never measured.
	liveUnmeasured = 4
	// liveMaxTimeout bounds a ping's wait however slow the link looked.
	liveMaxTimeout = 30 * time.Second
	// lostFor is how long a peer that stopped answering is still listed as
	// unreachable.
	lostFor = forgetAfter
)

// Peer states as listed by Peers.
const (
	StateConnected   = "connected"
	StateUnreachable = "unreachable"
)

// lostPeer is a peer whose connection was closed because it stopped
// answering.
type lostPeer struct {
	via    string
	addrs  []string
	since  time.Time // when it was declared unreachable
	reason string
	// lastSync is when it last reconciled with this node: the page shows
	// only members, and an outsider never reconciled.
	lastSync time.Time
}

// liveness is the liveness checker's state, under m.mu.
type liveness struct {
	every, timeout time.Duration // the constants; tests shorten them
	probing        map[peer.ID]bool
	misses         map[peer.ID]int
	lost           map[peer.ID]lostPeer
}

func newLiveness() liveness {
	return liveness{
		every: liveEvery, timeout: liveTimeout,
		probing: make(map[peer.ID]bool),
		misses:  make(map[peer.ID]int),
		lost:    make(map[peer.ID]lostPeer),
	}
}

// livenessLoop pings every connected peer each live.every until the mesh
// closes.
func (m *Mesh) livenessLoop() {
	t := time.NewTicker(m.live.every)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		for _, p := range m.h.Network().Peers() {
			m.mu.Lock()
			busy := m.live.probing[p] || m.closed
			if !busy {
				m.live.probing[p] = true
			}
			m.mu.Unlock()
			if !busy {
				m.wg.Go(func() { m.probe(p) })
			}
		}
	}
}

// probeTimeout is how long a ping to p may take after misses misses in a
// row: the floor, or liveRTTs smoothed round trips doubled per miss.
func (m *Mesh) probeTimeout(p peer.ID, misses int) time.Duration {
	t := m.live.timeout
	if rtt := m.h.Peerstore().LatencyEWMA(p); rtt > 0 {
		t = max(t, liveRTTs*rtt<<min(misses, 4))
	} else {
		// Never answered yet: a new connection over a slow line spends
		// its first seconds in handshakes (identify, the first sessions),
		// and a ping behind them says nothing of the line. A LAN answers
		// the first ping at once, and is measured from then on.
		t = liveUnmeasured * m.live.timeout
	}
	return min(t, max(liveMaxTimeout, m.live.timeout))
}

// probe pings p once and counts a miss when no answer comes in time and
// nothing else came from p meanwhile.
func (m *Mesh) probe(p peer.ID) {
	m.mu.Lock()
	timeout := m.probeTimeout(p, m.live.misses[p])
	m.mu.Unlock()
	before := m.heard.count(p)
	ctx, cancel := context.WithTimeout(m.ctx, timeout)
	var err error
	select {
	case r := <-ping.Ping(ctx, m.h, p):
		err = r.Error
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer to a ping within %s", timeout)
		if m.heard.count(p) > before {
			// Slow, not dead: the connection delivered other data.
			err = nil
		}
	}
	m.mu.Lock()
	delete(m.live.probing, p)
	if err == nil || m.closed {
		delete(m.live.misses, p)
		m.mu.Unlock()
		return
	}
	m.live.misses[p]++
	dead := m.live.misses[p] >= liveMisses
	m.mu.Unlock()
	if dead && m.ctx.Err() == nil {
		m.markUnreachable(p, err)
	}
}

// markUnreachable records p as unreachable and closes its connections.
func (m *Mesh) markUnreachable(p peer.ID, err error) {
	lp := lostPeer{via: ViaInbound, since: m.now(), reason: err.Error()}
	for _, c := range m.h.Network().ConnsToPeer(p) {
		lp.addrs = append(lp.addrs, c.RemoteMultiaddr().String())
	}
	m.mu.Lock()
	if st, ok := m.peers[p]; ok {
		lp.via, lp.lastSync = st.via, st.lastSync
	}
	m.live.lost[p] = lp
	delete(m.live.misses, p)
	m.mu.Unlock()
	m.log.Info("peer unreachable: closing its connection", "remote", p.ShortString(), "err", err)
	if err := m.h.Network().ClosePeer(p); err != nil {
		m.log.Debug("closing an unreachable peer's connection", "remote", p.ShortString(), "err", err)
	}
}

// unreachable lists the peers that stopped answering recently and are not
// connected again, forgetting older ones. Callers hold m.mu.
func (m *Mesh) unreachable(now time.Time, connected map[peer.ID]bool) []Peer {
	var out []Peer
	for p, lp := range m.live.lost {
		if now.Sub(lp.since) > lostFor {
			delete(m.live.lost, p)
			continue
		}
		if connected[p] {
			continue
		}
		out = append(out, Peer{
			PeerID: p.String(), Addrs: lp.addrs, Via: lp.via, State: StateUnreachable,
			Since: lp.since, Reason: lp.reason, LastSync: lp.lastSync,
			Identities: m.identitiesOf(p, lp.via),
		})
	}
	return out
}
