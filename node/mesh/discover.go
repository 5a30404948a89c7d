package mesh

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

const (
	// mdnsService is the mDNS service name. It is the same for every
	// gathering: the name is broadcast on the LAN, and a gathering id must
	// not be.
	mdnsService = "convene"

	dialTimeout   = 15 * time.Second
	minBackoff    = time.Second
	maxBackoff    = time.Minute
	checkInterval = 5 * time.Second
)

// dialTarget is a configured peer the mesh keeps a connection to.
type dialTarget struct {
	info peer.AddrInfo
	via  string
}

// keepConnected dials t and redials it, with backoff, whenever the
// connection is lost, until the mesh closes.
func (m *Mesh) keepConnected(t dialTarget) {
	if t.info.ID == m.h.ID() {
		return
	}
	m.cm.Protect(t.info.ID, "convene-"+t.via)
	// Woken when the connection drops, not only every checkInterval: a
	// hub that restarted was redialled up to 6 s late.
	dropped := make(chan struct{}, 1)
	if sub, err := m.h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.BufSize(16)); err == nil {
		defer sub.Close()
		// Drained at once, whatever the loop is doing: a full
		// subscription would hold up the host's connection events.
		go func() {
			for e := range sub.Out() {
				if ev, ok := e.(event.EvtPeerConnectednessChanged); ok && ev.Peer == t.info.ID && ev.Connectedness == network.NotConnected {
					select {
					case dropped <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	backoff := minBackoff
	var lastSeen time.Time
	for {
		wait := checkInterval
		if m.h.Network().Connectedness(t.info.ID) == network.Connected {
			lastSeen = m.now()
		} else {
			dial, limit := m.dial, maxBackoff
			if !lastSeen.IsZero() && m.now().Sub(lastSeen) < recentlyLost {
				// A hub that restarts, or a short split: as in keepFound.
				dial, limit = m.redial, recentBackoff
			}
			if err := dial(t.info, t.via); err != nil {
				m.log.Debug("dial failed", "remote", t.info.ID.ShortString(), "via", t.via, "err", err)
				wait = backoff
				backoff = min(backoff*2, limit)
			} else {
				lastSeen = m.now()
				backoff = minBackoff
			}
		}
		if !m.waitOrDrop(jitter(wait), dropped) {
			return
		}
	}
}

// waitOrDrop waits d, or about minBackoff once dropped says the peer
// disconnected (not at once: a peer that closes every connection it gets
// must not be redialled in a loop); false when the mesh closes.
func (m *Mesh) waitOrDrop(d time.Duration, dropped <-chan struct{}) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-dropped:
			timer.Reset(min(d, jitter(minBackoff)))
		}
	}
}

// dial connects to a peer, recording how it was found.
func (m *Mesh) dial(ai peer.AddrInfo, via string) error {
	return m.dialWithin(m.ctx, ai, via, dialTimeout)
}

// redialTimeout bounds a redial of a peer lost moments ago, times
// redialRTTs of its round trip when that is more (a slow line's handshakes
// take seconds). A dial started while a link is cut waits out TCP's
// backed-off SYN retries; when the link returns, the next short dial gets
// through at once, where a long one would still be waiting. Such a redial
// also clears libp2p's own dial backoff, which after a 20-s split of
// failed dials holds an address back for 10 s or more: without both, a
// 20-s split took 7 s to heal.
const (
	redialTimeout = 2 * time.Second
	redialRTTs    = 10
)

// redial dials a peer that was connected moments ago (see redialTimeout).
func (m *Mesh) redial(ai peer.AddrInfo, via string) error {
	if sw, ok := m.h.Network().(interface{ Backoff() *swarm.DialBackoff }); ok {
		sw.Backoff().Clear(ai.ID)
	}
	timeout := min(max(redialTimeout, redialRTTs*m.h.Peerstore().LatencyEWMA(ai.ID)), dialTimeout)
	return m.dialWithin(m.ctx, ai, via, timeout)
}

func (m *Mesh) dialWithin(ctx context.Context, ai peer.AddrInfo, via string, timeout time.Duration) error {
	m.mu.Lock()
	if m.dialing[ai.ID] {
		m.mu.Unlock()
		return errors.New("dial already in progress")
	}
	m.dialing[ai.ID] = true
	if _, ok := m.intents[ai.ID]; !ok {
		m.intents[ai.ID] = via
	}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	err := m.h.Connect(ctx, ai)
	cancel()
	m.mu.Lock()
	delete(m.dialing, ai.ID)
	if err != nil {
		delete(m.intents, ai.ID)
	}
	m.mu.Unlock()
	return err
}

// dialNew takes a peer found by mDNS or peer exchange: unless it is this
// host or already kept, it is dialled now and redialled with backoff
// whenever the connection is lost (a partition long enough for connections
// to die would otherwise leave islands apart until mDNS re-announces, which
// takes minutes). A peer that stays unreachable for forgetAfter is dropped;
// finding it again starts over.
func (m *Mesh) dialNew(ai peer.AddrInfo, via string) {
	if ai.ID == m.h.ID() || ai.ID == "" || len(ai.Addrs) == 0 {
		return
	}
	m.mu.Lock()
	if m.found[ai.ID] {
		m.mu.Unlock()
		m.h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
		return
	}
	m.found[ai.ID] = true
	m.mu.Unlock()
	m.wg.Go(func() {
		defer func() {
			m.mu.Lock()
			delete(m.found, ai.ID)
			m.mu.Unlock()
		}()
		m.keepFound(ai, via)
	})
}

// forgetAfter is how long a discovered peer may stay unreachable before the
// mesh stops redialling it.
const forgetAfter = 10 * time.Minute

// For recentlyLost after a discovered peer was last connected, redials
// back off to at most recentBackoff.
const (
	recentlyLost = time.Minute
	// recentBackoff is short: a redial into a cut link costs a SYN, and
	// the heal after a 20-s split waits for the next one (budget: 2 s).
	recentBackoff = time.Second
)

func (m *Mesh) keepFound(ai peer.AddrInfo, via string) {
	lastSeen := m.now()
	// seen: the peer was connected once. Only then is it lost moments
	// ago, and redialled past libp2p's dial backoff: anyone on the LAN
	// can announce made-up peers at any address (mDNS), which must not
	// make this node dial that address every second.
	seen := false
	backoff := minBackoff
	for m.now().Sub(lastSeen) < forgetAfter {
		wait := checkInterval
		if m.h.Network().Connectedness(ai.ID) == network.Connected {
			lastSeen = m.now()
			seen = true
			backoff = minBackoff
		} else {
			addrs := m.h.Peerstore().Addrs(ai.ID)
			if len(addrs) == 0 {
				addrs = ai.Addrs
			}
			// A peer lost moments ago is most likely behind a short
			// split: keep trying every few seconds, with short dials that
			// skip libp2p's backoff, so the heal is quick.
			dial, limit := m.dial, maxBackoff
			if m.now().Sub(lastSeen) < recentlyLost {
				limit = recentBackoff
				if seen {
					dial = m.redial
				}
			}
			if err := dial(peer.AddrInfo{ID: ai.ID, Addrs: addrs}, via); err != nil {
				m.log.Debug("dial failed", "remote", ai.ID.ShortString(), "via", via, "err", err)
				m.dialFailed(peer.AddrInfo{ID: ai.ID, Addrs: addrs}, via, err)
				wait = backoff
				backoff = min(backoff*2, limit)
			} else {
				lastSeen = m.now()
				seen = true
				backoff = minBackoff
			}
		}
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(jitter(wait)):
		}
	}
}

// jitter spreads d over [0.75d, 1.25d) so that peers do not act in step.
func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// handlePeerFound is called by mDNS.
func (m *Mesh) handlePeerFound(ai peer.AddrInfo) {
	m.dialNew(ai, ViaMDNS)
}

type mdnsNotifee func(peer.AddrInfo)

func (f mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) { f(ai) }

// runMDNS advertises and browses on the LAN, and restarts when the local
// addresses change (a laptop moving between networks), since the service
// announces the addresses it had when it started. A machine with no
// multicast interface cannot start it: that is logged and the mesh goes on
// with its other paths.
func (m *Mesh) runMDNS() {
	sub, err := m.h.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated), eventbus.BufSize(16))
	if err != nil {
		m.log.Warn("mDNS disabled", "err", err)
		return
	}
	defer sub.Close()
	var svc mdns.Service
	var ips []string
	start := func() {
		if svc != nil {
			svc.Close()
			svc = nil
		}
		ips = localIPs(m.h.Addrs())
		s := mdns.NewMdnsService(m.h, mdnsService, mdnsNotifee(m.handlePeerFound))
		if err := s.Start(); err != nil {
			m.log.Warn("mDNS could not start; using the other discovery paths", "err", err)
			return
		}
		svc = s
	}
	start()
	defer func() {
		if svc != nil {
			svc.Close()
		}
	}()
	var settle <-chan time.Time
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-sub.Out():
			// Addresses change in bursts; wait for them to settle.
			settle = time.After(2 * time.Second)
		case <-settle:
			settle = nil
			if !slices.Equal(ips, localIPs(m.h.Addrs())) {
				m.log.Debug("local addresses changed; restarting mDNS")
				start()
			}
		}
	}
}

func localIPs(addrs []multiaddr.Multiaddr) []string {
	var ips []string
	for _, a := range addrs {
		if ip, err := manet.ToIP(a); err == nil {
			ips = append(ips, ip.String())
		}
	}
	slices.Sort(ips)
	return slices.Compact(ips)
}
