package testnet

import (
	"math"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/convene/convene/internal/gate"
)

// gater vets host self's connections against the Net's current partition.
func (n *Net) gater(self int) gate.Gater {
	return gate.Gater{
		Peer: func(p peer.ID) bool { return n.allowed(self, p) },
		Addr: n.addrAllowed,
	}
}

func floatBits(f float64) uint64 { return math.Float64bits(f) }
func floatOf(b uint64) float64   { return math.Float64frombits(b) }
