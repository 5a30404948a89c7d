package testnet

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// Traffic is what the hosts of a Net wrote on their streams of one
// protocol: the payload (what the protocol itself sent), and the number of
// writes, each of which costs at least one yamux header and one Noise
// message on the wire. The wire bytes less every protocol's payload are
// the transport's: handshakes and framing.
type Traffic struct {
	Bytes  int64
	Writes int64
}

// ProtocolTraffic is one protocol's Traffic, for reports.
type ProtocolTraffic struct {
	Protocol string // "" is the streams' protocol negotiation
	Traffic
}

// protocols counts the bytes every host sends, by protocol. It is each
// host's bandwidth reporter (mesh.Config.Bandwidth); sent bytes alone are
// counted, so that a byte is counted once, by its sender.
type protocols struct {
	by sync.Map // protocol.ID → *counts
}

type counts struct{ bytes, writes atomic.Int64 }

var _ metrics.Reporter = (*protocols)(nil)

func (c *protocols) LogSentMessageStream(n int64, proto protocol.ID, _ peer.ID) {
	if c == nil || n <= 0 {
		return
	}
	v, ok := c.by.Load(proto)
	if !ok {
		v, _ = c.by.LoadOrStore(proto, new(counts))
	}
	v.(*counts).bytes.Add(n)
	v.(*counts).writes.Add(1)
}

// snapshot is every protocol's traffic so far.
func (c *protocols) snapshot() map[protocol.ID]Traffic {
	out := make(map[protocol.ID]Traffic)
	if c == nil {
		return out
	}
	c.by.Range(func(k, v any) bool {
		out[k.(protocol.ID)] = Traffic{Bytes: v.(*counts).bytes.Load(), Writes: v.(*counts).writes.Load()}
		return true
	})
	return out
}

// since is the traffic of after less that of before, most bytes first.
func since(before, after map[protocol.ID]Traffic) []ProtocolTraffic {
	var out []ProtocolTraffic
	for p, t := range after {
		t.Bytes -= before[p].Bytes
		t.Writes -= before[p].Writes
		if t.Bytes > 0 || t.Writes > 0 {
			out = append(out, ProtocolTraffic{Protocol: string(p), Traffic: t})
		}
	}
	slices.SortFunc(out, func(a, b ProtocolTraffic) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

func (c *protocols) LogSentMessage(int64)                                  {}
func (c *protocols) LogRecvMessage(int64)                                  {}
func (c *protocols) LogRecvMessageStream(int64, protocol.ID, peer.ID)      {}
func (c *protocols) GetBandwidthForPeer(peer.ID) metrics.Stats             { return metrics.Stats{} }
func (c *protocols) GetBandwidthForProtocol(protocol.ID) metrics.Stats     { return metrics.Stats{} }
func (c *protocols) GetBandwidthTotals() metrics.Stats                     { return metrics.Stats{} }
func (c *protocols) GetBandwidthByPeer() map[peer.ID]metrics.Stats         { return nil }
func (c *protocols) GetBandwidthByProtocol() map[protocol.ID]metrics.Stats { return nil }
func (c *protocols) Reset()                                                {}
func (c *protocols) TrimIdle(time.Time)                                    {}
