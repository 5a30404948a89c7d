package mesh

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// peerState is what the mesh remembers of a peer while it is connected.
type peerState struct {
	via      string
	since    time.Time
	lastSync time.Time // last reconciliation of any gathering, either side
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
	delete(m.live.lost, p)
	delete(m.live.misses, p)
	closed := m.closed
	m.mu.Unlock()
	if ok || closed {
		return
	}
	m.wg.Go(func() { m.timeOf(p) })
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
	for _, g := range m.gatherings {
		// A capped session's follow-up will not come over this
		// connection: the catch-up no longer waits for it.
		g.arrivals.gone(p)
		// A new connection's first graft and join are reconciled
		// (converge.go).
		delete(g.grafted, p)
		delete(g.joined, p)
	}
	ps := m.live.forget(p)
	m.mu.Unlock()
	resetPings(ps)
	m.heard.forget(p)
}

// penalize gives a peer n strikes for junk it sent (over any protocol:
// operations only an outsider could make, malformed frames, requests
// outside a session's difference) and lowers its standing with the
// connection manager and GossipSub's score. At maxBad strikes it is
// disconnected and banned (see bans).
func (m *Mesh) penalize(p peer.ID, n int, err error) {
	if n <= 0 {
		return
	}
	var ip netip.Addr
	if conns := m.h.Network().ConnsToPeer(p); len(conns) > 0 {
		ip = addrIP(conns[0].RemoteMultiaddr())
	}
	until, banned := m.bans.strike(p, n, ip)
	m.cm.UpsertTag(p, "convene-bad", func(v int) int { return v - 10*n })
	m.log.Warn("peer sent junk", "remote", p.ShortString(), "count", n, "err", err)
	if banned {
		m.log.Warn("disconnecting and banning a peer that sends junk", "remote", p.ShortString(), "ip", ip, "until", until)
		m.h.Network().ClosePeer(p)
	}
}

// Peers lists the connected peers, then those that stopped answering
// recently (see liveness).
func (m *Mesh) Peers() []Peer {
	var out []Peer
	connected := make(map[peer.ID]bool)
	for _, p := range m.h.Network().Peers() {
		conns := m.h.Network().ConnsToPeer(p)
		if len(conns) == 0 {
			continue
		}
		connected[p] = true
		m.mu.Lock()
		st, ok := m.peers[p]
		pr := Peer{PeerID: p.String(), Via: ViaInbound, State: StateConnected, Since: conns[0].Stat().Opened}
		if ok {
			pr.Via, pr.Since, pr.LastSync = st.via, st.since, st.lastSync
		}
		pr.Identities = m.identitiesOf(p, pr.Via)
		m.mu.Unlock()
		for _, c := range conns {
			pr.Addrs = append(pr.Addrs, c.RemoteMultiaddr().String())
		}
		out = append(out, pr)
	}
	m.mu.Lock()
	out = append(out, m.unreachable(m.now(), connected)...)
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b Peer) int {
		if a.State != b.State {
			return strings.Compare(a.State, b.State) // connected first
		}
		return strings.Compare(a.PeerID, b.PeerID)
	})
	return out
}

// Bans. A peer that reaches maxBad strikes is disconnected and refused for
// a while (banFor, doubled at each new ban up to banMax). So that it
// cannot come straight back under a new peer id, its IP address then gets
// at most one new connection per ipAcceptEvery until the ban ends: not
// refused outright, because at a hub a whole venue may share one NAT
// address. Loopback is exempt from the IP limit (tests, several nodes on
// one machine). Strikes are kept across connections.
const (
	maxBad        = 64
	banFor        = 5 * time.Minute
	banMax        = time.Hour
	ipAcceptEvery = 30 * time.Second
	// maxStandings bounds the peers and addresses remembered; past it,
	// those not banned now are forgotten.
	maxStandings = 4096
)

type standing struct {
	strikes int
	bans    int
	until   time.Time
}

type ipBan struct{ until, next time.Time }

type bans struct {
	now   func() time.Time
	mu    sync.Mutex
	peers map[peer.ID]*standing
	ips   map[netip.Addr]*ipBan
}

func newBans(now func() time.Time) *bans {
	return &bans{now: now, peers: make(map[peer.ID]*standing), ips: make(map[netip.Addr]*ipBan)}
}

// strike adds n strikes to p (seen at ip, if valid) and reports whether p
// is now banned, and until when.
func (b *bans) strike(p peer.ID, n int, ip netip.Addr) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	st, ok := b.peers[p]
	if !ok {
		b.prune(now)
		st = &standing{}
		b.peers[p] = st
	}
	st.strikes += n
	if st.strikes < maxBad*(st.bans+1) {
		return st.until, now.Before(st.until)
	}
	st.bans++
	st.until = now.Add(min(banFor<<(st.bans-1), banMax))
	if ip.IsValid() && !ip.IsLoopback() {
		b.ips[ip] = &ipBan{until: st.until}
	}
	return st.until, true
}

// prune forgets, when there are too many, the peers and addresses not
// banned now. Callers hold b.mu.
func (b *bans) prune(now time.Time) {
	if len(b.peers) >= maxStandings {
		for p, st := range b.peers {
			if !now.Before(st.until) {
				delete(b.peers, p)
			}
		}
	}
	for ip, e := range b.ips {
		if !now.Before(e.until) {
			delete(b.ips, ip)
		}
	}
}

func (b *bans) strikes(p peer.ID) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.peers[p]; ok {
		return st.strikes
	}
	return 0
}

func (b *bans) banned(p peer.ID) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.peers[p]
	return ok && b.now().Before(st.until)
}

// acceptIP reports whether a new connection from ip may go on.
func (b *bans) acceptIP(ip netip.Addr) bool {
	if !ip.IsValid() || ip.IsLoopback() {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.ips[ip]
	now := b.now()
	switch {
	case !ok:
		return true
	case !now.Before(e.until):
		delete(b.ips, ip)
		return true
	case now.Before(e.next):
		return false
	}
	e.next = now.Add(ipAcceptEvery)
	return true
}

func addrIP(a multiaddr.Multiaddr) netip.Addr {
	ip, err := manet.ToIP(a)
	if err != nil {
		return netip.Addr{}
	}
	addr, _ := netip.AddrFromSlice(ip)
	return addr.Unmap()
}

// gater refuses banned peers and rate-limits their addresses, then asks
// the configured gater, if any.
type gater struct {
	b     *bans
	inner connmgr.ConnectionGater
}

func (g gater) InterceptPeerDial(p peer.ID) bool {
	return !g.b.banned(p) && (g.inner == nil || g.inner.InterceptPeerDial(p))
}

func (g gater) InterceptAddrDial(p peer.ID, a multiaddr.Multiaddr) bool {
	return g.inner == nil || g.inner.InterceptAddrDial(p, a)
}

func (g gater) InterceptAccept(c network.ConnMultiaddrs) bool {
	return g.b.acceptIP(addrIP(c.RemoteMultiaddr())) && (g.inner == nil || g.inner.InterceptAccept(c))
}

func (g gater) InterceptSecured(d network.Direction, p peer.ID, c network.ConnMultiaddrs) bool {
	return !g.b.banned(p) && (g.inner == nil || g.inner.InterceptSecured(d, p, c))
}

func (g gater) InterceptUpgraded(c network.Conn) (bool, control.DisconnectReason) {
	if g.inner == nil {
		return true, 0
	}
	return g.inner.InterceptUpgraded(c)
}
