package mesh

import (
	"sync"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/convene/convene/crdt"
)

// GossipSub keeps its meshes to itself. A room whose meshes have not
// formed yet still gets every change (a node sends its own to every peer
// on the topic, WithFloodPublish), but what a peer forwards goes only to
// its mesh; so a measurement of how changes spread waits for the meshes,
// and reads them here.

// meshPeers is a GossipSub raw tracer that follows which peers are in this
// node's mesh of each topic: added on a graft (ours or the peer's),
// removed on a prune, and on a peer's gone stream, which GossipSub drops
// from its meshes without a prune. GossipSub calls it from its event loop;
// it only takes a short lock.
type meshPeers struct {
	mu    sync.Mutex
	topic map[string]map[peer.ID]struct{}
}

func newMeshPeers() *meshPeers {
	return &meshPeers{topic: make(map[string]map[peer.ID]struct{})}
}

func (t *meshPeers) Graft(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.topic[topic] == nil {
		t.topic[topic] = make(map[peer.ID]struct{})
	}
	t.topic[topic][p] = struct{}{}
}

func (t *meshPeers) Prune(p peer.ID, topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.topic[topic], p)
}

func (t *meshPeers) OnClosedOutboundStream(p peer.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ps := range t.topic {
		delete(ps, p)
	}
}

func (t *meshPeers) Leave(topic string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.topic, topic)
}

func (t *meshPeers) count(topic string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.topic[topic])
}

func (*meshPeers) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (*meshPeers) Join(string)                              {}
func (*meshPeers) ValidateMessage(*pubsub.Message)          {}
func (*meshPeers) DeliverMessage(*pubsub.Message)           {}
func (*meshPeers) RejectMessage(*pubsub.Message, string)    {}
func (*meshPeers) DuplicateMessage(*pubsub.Message)         {}
func (*meshPeers) ThrottlePeer(peer.ID)                     {}
func (*meshPeers) RecvRPC(*pubsub.RPC)                      {}
func (*meshPeers) SendRPC(*pubsub.RPC, peer.ID)             {}
func (*meshPeers) DropRPC(*pubsub.RPC, peer.ID)             {}
func (*meshPeers) UndeliverableMessage(*pubsub.Message)     {}

// GossipPeers reports, for gathering id, how many peers this node knows
// on its GossipSub topic and how many of them are in its mesh of that
// topic: gossip from elsewhere is forwarded along the meshes. Both are 0
// for a gathering not joined.
func (m *Mesh) GossipPeers(id crdt.GatheringID) (topic, mesh int) {
	if _, err := m.gathering(id); err != nil {
		return 0, 0
	}
	return len(m.ps.ListPeers(id.Topic())), m.meshPeers.count(id.Topic())
}
