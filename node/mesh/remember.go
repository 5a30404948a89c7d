package mesh

import (
	"github.com/libp2p/go-libp2p/core/peer"
)

// ViaRemembered marks a peer dialled because this node synced with it on
// an earlier run (see Config.Remembered).
const ViaRemembered = "remembered"

// remember dials the peers remembered from earlier runs, all at once, each
// kept as a discovered peer is (redialled with backoff from a second,
// dropped after forgetAfter unreachable).
func (m *Mesh) remember(ais []peer.AddrInfo) {
	for _, ai := range ais {
		m.dialNew(ai, ViaRemembered)
	}
}

// Synced lists the connected peers this node has reconciled with, with
// the addresses it knows for them: what a node remembers for its next run.
func (m *Mesh) Synced() []peer.AddrInfo {
	m.mu.Lock()
	var ids []peer.ID
	for p, st := range m.peers {
		if !st.lastSync.IsZero() {
			ids = append(ids, p)
		}
	}
	m.mu.Unlock()
	out := make([]peer.AddrInfo, 0, len(ids))
	for _, p := range ids {
		var addrs = m.h.Peerstore().Addrs(p)
		if len(addrs) == 0 {
			continue
		}
		out = append(out, peer.AddrInfo{ID: p, Addrs: addrs})
	}
	return out
}

// dialFailed records why a remembered peer cannot be reached, so that
// /network lists it as unreachable with the reason. Its first failure
// dates it.
func (m *Mesh) dialFailed(ai peer.AddrInfo, via string, err error) {
	if via != ViaRemembered {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	lp, ok := m.live.lost[ai.ID]
	if !ok {
		lp = lostPeer{via: via, since: m.now()}
		for _, a := range ai.Addrs {
			lp.addrs = append(lp.addrs, a.String())
		}
	}
	lp.reason = err.Error()
	m.live.lost[ai.ID] = lp
}
