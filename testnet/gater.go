package testnet

import (
	"math"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// gater vets host self's connections against the Net's current partition.
// Peer ids are checked both when dialing and once an inbound connection is
// secured, the first moment its remote peer is known.
type gater struct {
	net  *Net
	self int
}

func (g *gater) InterceptPeerDial(p peer.ID) bool { return g.net.allowed(g.self, p) }

func (g *gater) InterceptAddrDial(p peer.ID, a multiaddr.Multiaddr) bool {
	return g.net.allowed(g.self, p) && g.net.addrAllowed(a)
}

func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.net.allowed(g.self, p)
}

func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

func floatBits(f float64) uint64 { return math.Float64bits(f) }
func floatOf(b uint64) float64   { return math.Float64frombits(b) }
