package mesh

import (
	"time"

	"github.com/convene/convene/crdt"
	"github.com/convene/convene/node/recon"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Hooks for the external tests (package mesh_test).

// TopicPeers is how many peers m sees on gathering g's topic.
func TopicPeers(m *Mesh, g crdt.GatheringID) int { return len(m.ps.ListPeers(g.Topic())) }

// InboundSessions is how many sessions of gathering g peers initiated
// with m are running.
func InboundSessions(m *Mesh, g crdt.GatheringID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gg, ok := m.gatherings[g]; ok {
		return len(gg.inbound)
	}
	return 0
}

// SetSessionTimeout shortens m's session deadline; call it before m
// reconciles anything.
func SetSessionTimeout(m *Mesh, d time.Duration) { m.sessionTimeout = d }

// EncodeBatch encodes operations as one gossip message.
func EncodeBatch(raws [][]byte) []byte {
	c, err := newCodec()
	if err != nil {
		panic(err)
	}
	defer c.close()
	return c.encode(raws)
}

// EncodeRequest encodes a request frame's payload: the refs of items.
func EncodeRequest(items []recon.Item) []byte { return encodeRequest(items) }

// EncodeOffer encodes an offer frame's payload.
func EncodeOffer(items []recon.Item) []byte { return encodeOffer(items) }

// EncodePEXRequest encodes a peer exchange request naming connected.
func EncodePEXRequest(connected []peer.ID) []byte { return encodePEXRequest(connected) }

// MedianOffset is the offset a clock takes from its peers' offsets.
func MedianOffset(peers []time.Duration) time.Duration {
	return median(append([]time.Duration{0}, peers...))
}

// ReconProto is the reconciliation protocol's id.
const ReconProto = reconProto

// HandleRecon is m's handler of reconciliation streams, for tests that
// wrap it.
func HandleRecon(m *Mesh) network.StreamHandler { return m.track(m.handleRecon) }

// Wanted is how many offered items m remembers for gathering g's
// catch-up.
func Wanted(m *Mesh, g crdt.GatheringID) int {
	gg, err := m.gathering(g)
	if err != nil {
		return 0
	}
	gg.arrivals.mu.Lock()
	defer gg.arrivals.mu.Unlock()
	return len(gg.arrivals.want)
}

// GraftQuiet is how long after a graft's reconciliation with a peer its
// grafts are not reconciled again.
const GraftQuiet = graftQuiet
