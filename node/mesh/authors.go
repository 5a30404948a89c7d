package mesh

import (
	"slices"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/crdt"
)

// Who is behind a peer, for the network page. A laptop publishes on a
// gathering's topic only the operations its own identities make (a node
// publishes what it acts, and nothing it receives); GossipSub signs each
// message with its publisher's peer key and keeps the publisher in it
// (StrictSign, the default), so the authors of operations that this node
// took as new from a message published by peer P are identities acting
// on P. That is honest without any new protocol: the peer does not claim
// anything, its signed operations show it. A hub also publishes what it
// passes on between sites (see receive), so a peer found as a hub is
// shown with no identities. An identity that has not acted since this
// node connected is not known yet: the page then shows the peer id alone.
const (
	maxPeerAuthors = 8    // identities kept per peer, the latest first
	maxAuthorPeers = 1024 // peers whose identities are kept
)

// PeerIdentity is an identity acting on a peer; Name is filled in by the
// node (the mesh cannot read names), "" when hidden or unknown.
type PeerIdentity struct {
	ID   crdt.IdentityID `json:"id"`
	Name string          `json:"name"`
}

// noteAuthors records the authors of envs, new operations taken from a
// gossip message that peer p published.
func (m *Mesh) noteAuthors(p peer.ID, envs []*crdt.Envelope) {
	if p == "" || len(envs) == 0 || p == m.h.ID() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.authors == nil {
		m.authors = make(map[peer.ID][]crdt.IdentityID)
	}
	list, known := m.authors[p]
	if !known && len(m.authors) >= maxAuthorPeers {
		for old := range m.authors { // any one: a bound, not a policy
			delete(m.authors, old)
			break
		}
	}
	for _, e := range envs {
		list = slices.DeleteFunc(list, func(id crdt.IdentityID) bool { return id == e.Author })
		list = slices.Insert(list, 0, e.Author)
		list = list[:min(len(list), maxPeerAuthors)]
	}
	m.authors[p] = list
}

// identitiesOf lists the identities seen acting on p (none for a hub).
// m.mu is held.
func (m *Mesh) identitiesOf(p peer.ID, via string) []PeerIdentity {
	if via == ViaHub {
		return []PeerIdentity{}
	}
	ids := m.authors[p]
	out := make([]PeerIdentity, len(ids))
	for i, id := range ids {
		out[i].ID = id
	}
	return out
}
