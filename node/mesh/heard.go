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
	peers sync.Map         // peer.ID → *atomic.Int64
	next  metrics.Reporter // Config.Bandwidth, or nil
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
	if h.next != nil {
		h.next.LogRecvMessageStream(n, proto, p)
	}
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

// The rest only passes counts on to Config.Bandwidth: the mesh reads
// nothing from its reporter but count.

func (h *heard) LogSentMessage(n int64) {
	if h.next != nil {
		h.next.LogSentMessage(n)
	}
}

func (h *heard) LogRecvMessage(n int64) {
	if h.next != nil {
		h.next.LogRecvMessage(n)
	}
}

func (h *heard) LogSentMessageStream(n int64, proto protocol.ID, p peer.ID) {
	if h.next != nil {
		h.next.LogSentMessageStream(n, proto, p)
	}
}

func (h *heard) GetBandwidthForPeer(p peer.ID) metrics.Stats {
	if h.next != nil {
		return h.next.GetBandwidthForPeer(p)
	}
	return metrics.Stats{}
}

func (h *heard) GetBandwidthForProtocol(proto protocol.ID) metrics.Stats {
	if h.next != nil {
		return h.next.GetBandwidthForProtocol(proto)
	}
	return metrics.Stats{}
}

func (h *heard) GetBandwidthTotals() metrics.Stats {
	if h.next != nil {
		return h.next.GetBandwidthTotals()
	}
	return metrics.Stats{}
}

func (h *heard) GetBandwidthByPeer() map[peer.ID]metrics.Stats {
	if h.next != nil {
		return h.next.GetBandwidthByPeer()
	}
	return nil
}

func (h *heard) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats {
	if h.next != nil {
		return h.next.GetBandwidthByProtocol()
	}
	return nil
}

func (h *heard) Reset() {
	if h.next != nil {
		h.next.Reset()
	}
}

func (h *heard) TrimIdle(since time.Time) {
	if h.next != nil {
		h.next.TrimIdle(since)
	}
}
