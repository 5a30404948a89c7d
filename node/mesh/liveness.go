package mesh

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
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
// A peer's pings share one stream, kept between probes (pingStream): a
// stream per ping cost its opening, the protocol's negotiation and its
// reset, about three times the ping itself, and every peer is pinged each
// second (at the benchmark's heal, 50 laptops each pinging 49, that was
// most of what the wire carried besides reconciliation). And a peer that
// delivered anything else since the last round is not pinged in this one:
// the bytes are the proof of life a ping would give (see heard).
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
	// pingStreamLife and pingStreamIdle say how long a ping stream is
	// kept: libp2p's ping handler gives a stream up 30 s after it opened
	// and 10 s after its last ping, and a ping on a stream the peer gave
	// up fails (it is then sent again on a new one, at the cost of the
	// failed write).
	pingStreamLife = 20 * time.Second
	pingStreamIdle = 5 * time.Second
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
	// streams are the kept ping streams, by peer; a probe takes its
	// peer's out while it pings.
	streams map[peer.ID]*pingStream
	// heardAt is heard.count of each peer at the last round.
	heardAt map[peer.ID]int64
}

func newLiveness() liveness {
	return liveness{
		every: liveEvery, timeout: liveTimeout,
		probing: make(map[peer.ID]bool),
		misses:  make(map[peer.ID]int),
		lost:    make(map[peer.ID]lostPeer),
		streams: make(map[peer.ID]*pingStream),
		heardAt: make(map[peer.ID]int64),
	}
}

// prune forgets the peers not in connected (a disconnection and a round
// may cross) and returns their kept ping streams, for the caller to reset
// once it has let go of m.mu. Callers hold m.mu.
func (l *liveness) prune(connected []peer.ID) []*pingStream {
	keep := make(map[peer.ID]bool, len(connected))
	for _, p := range connected {
		keep[p] = true
	}
	var drop []*pingStream
	for p := range l.heardAt {
		if !keep[p] {
			drop = append(drop, l.forget(p))
		}
	}
	for p := range l.streams {
		if !keep[p] {
			drop = append(drop, l.forget(p))
		}
	}
	return drop
}

// forget drops what liveness keeps of p, which disconnected, and returns
// its kept ping stream (or nil), for the caller to reset once it has let
// go of m.mu: a reset waits for the connection's writer. Callers hold
// m.mu.
func (l *liveness) forget(p peer.ID) *pingStream {
	ps := l.streams[p]
	delete(l.streams, p)
	delete(l.heardAt, p)
	return ps
}

// resetPings resets kept ping streams (nil ones are skipped).
func resetPings(streams ...*pingStream) {
	for _, ps := range streams {
		if ps != nil {
			ps.s.Reset()
		}
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
		peers := m.h.Network().Peers()
		m.mu.Lock()
		gone := m.live.prune(peers)
		m.mu.Unlock()
		resetPings(gone...)
		for _, p := range peers {
			heard := m.heard.count(p)
			m.mu.Lock()
			busy := m.live.probing[p] || m.closed
			delivered := heard != m.live.heardAt[p]
			m.live.heardAt[p] = heard
			// A peer that delivered other bytes since the last round is
			// alive: no ping this round, unless its round trip, which
			// the pings' wait follows, was never measured.
			if delivered && !busy && m.h.Peerstore().LatencyEWMA(p) > 0 {
				delete(m.live.misses, p)
				busy = true
			} else if !busy {
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
	err := m.ping(p, timeout)
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

// pingStream is a ping stream kept between probes.
type pingStream struct {
	s            network.Stream
	opened, used time.Time
}

// ping pings p once, on its kept stream or a new one, and records the
// round trip. A ping not answered within timeout returns
// context.DeadlineExceeded.
func (m *Mesh) ping(p peer.ID, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(m.ctx, timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	now := time.Now()
	m.mu.Lock()
	ps := m.live.streams[p]
	delete(m.live.streams, p)
	m.mu.Unlock()
	if ps != nil && (now.Sub(ps.opened) > pingStreamLife || now.Sub(ps.used) > pingStreamIdle) {
		ps.s.Reset()
		ps = nil
	}
	for {
		fresh := ps == nil
		if fresh {
			s, err := m.h.NewStream(network.WithAllowLimitedConn(ctx, "ping"), p, ping.ID)
			if err != nil {
				return deadlineOr(ctx, err)
			}
			if err := s.Scope().SetService(ping.ServiceName); err != nil {
				s.Reset()
				return err
			}
			ps = &pingStream{s: s, opened: time.Now()}
		}
		rtt, err := ps.ping(ctx, deadline)
		if err == nil {
			m.h.Peerstore().RecordLatency(p, rtt)
			ps.used = time.Now()
			m.mu.Lock()
			keep := !m.closed && m.h.Network().Connectedness(p) == network.Connected
			if keep {
				m.live.streams[p] = ps
			}
			m.mu.Unlock()
			if !keep {
				ps.s.Reset()
			}
			return nil
		}
		ps.s.Reset()
		err = deadlineOr(ctx, err)
		if fresh || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return err
		}
		// The kept stream had ended (the peer gave it up, or restarted
		// its handler): once more on a new one.
		ps = nil
	}
}

// ping writes one ping on ps and reads its echo, by deadline.
func (ps *pingStream) ping(ctx context.Context, deadline time.Time) (time.Duration, error) {
	var out, in [ping.PingSize]byte
	rand.Read(out[:])
	_ = ps.s.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { ps.s.Reset() })
	defer stop()
	start := time.Now()
	if _, err := ps.s.Write(out[:]); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(ps.s, in[:]); err != nil {
		return 0, err
	}
	if in != out {
		return 0, errors.New("ping: the echo differs")
	}
	return time.Since(start), nil
}

// deadlineOr is context.DeadlineExceeded if ctx's deadline passed (the
// stream's deadline is the same), else err.
func deadlineOr(ctx context.Context, err error) error {
	var ne interface{ Timeout() bool }
	if ctx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()) {
		return context.DeadlineExceeded
	}
	return err
}
