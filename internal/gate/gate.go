// Package gate is a libp2p connection gater built from two functions: the
// one gater of the testnet's partitions and the mesh tests' topologies.
package gate

import (
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/multiformats/go-multiaddr"
)

// Gater lets a host connect to the peers Peer allows, at the addresses
// Addr allows (any, when Addr is nil). Peers are checked when dialing and
// once an inbound connection is secured, the first moment its remote peer
// is known.
type Gater struct {
	Peer func(peer.ID) bool
	Addr func(multiaddr.Multiaddr) bool
}

func (g Gater) InterceptPeerDial(p peer.ID) bool { return g.Peer(p) }

func (g Gater) InterceptAddrDial(p peer.ID, a multiaddr.Multiaddr) bool {
	return g.Peer(p) && (g.Addr == nil || g.Addr(a))
}

func (g Gater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

func (g Gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return g.Peer(p)
}

func (g Gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
