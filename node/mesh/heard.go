package mesh

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
)

// heard counts, per peer, the bytes read from its streams of every
// protocol but ping: the liveness check's proof that a connection whose
// pings are late still delivers (liveness.go). Pings are left out because
// a peer's own pings show only that it asks, and the check must still see
// a peer that asks but never answers as gone; so are the bytes of a
// stream's protocol negotiation, read before the protocol is set. It is the host's bandwidth
// reporter (libp2p.BandwidthReporter), reduced to what the mesh needs: a
// counter, no meters.
type heard struct {
	peers sync.Map // peer.ID → *atomic.Int64
}

var _ metrics.Reporter = (*heard)(nil)

// count is how many bytes came from p on other protocols than ping.
func (h *heard) count(p peer.ID) int64 {
	if v, ok := h.peers.Load(p); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// forget drops p's counter (it disconnected).
func (h *heard) forget(p peer.ID) { h.peers.Delete(p) }

func (h *heard) LogRecvMessageStream(n int64, proto protocol.ID, p peer.ID) {
	// An empty protocol is a stream's negotiation, every ping's included.
	if proto == ping.ID || proto == "" || n <= 0 {
		return
	}
	v, ok := h.peers.Load(p)
	if !ok {
		v, _ = h.peers.LoadOrStore(p, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(n)
}

func (h *heard) LogSentMessage(int64)                             {}
func (h *heard) LogRecvMessage(int64)                             {}
func (h *heard) LogSentMessageStream(int64, protocol.ID, peer.ID) {}
func (h *heard) GetBandwidthForPeer(peer.ID) metrics.Stats        { return metrics.Stats{} }
func (h *heard) GetBandwidthForProtocol(protocol.ID) metrics.Stats {
	return metrics.Stats{}
}
func (h *heard) GetBandwidthTotals() metrics.Stats                     { return metrics.Stats{} }
func (h *heard) GetBandwidthByPeer() map[peer.ID]metrics.Stats         { return nil }
func (h *heard) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats { return nil }
func (h *heard) Reset()                                                {}
func (h *heard) TrimIdle(time.Time)                                    {}
